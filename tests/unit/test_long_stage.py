"""The long-history stage: which series are long, where each row's weather comes from, the long/short choice."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import BacktestResult
from forecasting.history import prepare_history
from forecasting.long_stage import (
    LONG_HISTORY_MODEL,
    LongFit,
    LongInputs,
    choose_long,
    long_series_mask,
    source_labels,
    weather_source,
)
from forecasting.stages import HoldoutBacktest, ModelChoice

D = pd.Timestamp


def _history() -> pd.DataFrame:
    # A: 1..10 May; B: 7..10 May; C: 1..3 May, then nothing (padded with zeros up to the origin)
    parts = [("A", pd.date_range("2016-05-01", "2016-05-10")), ("B", pd.date_range("2016-05-07", "2016-05-10")),
             ("C", pd.date_range("2016-05-01", "2016-05-03"))]
    return pd.concat([pd.DataFrame({"store_id": "S1", "item_id": i, "date": d, "units": 1.0}) for i, d in parts],
                     ignore_index=True)


@pytest.mark.parametrize(("min_days", "expected"), [(2, [True, True, True]), (5, [True, False, True]),
                                                    (8, [True, False, True]), (9, [False, False, False])])
def test_long_series_are_those_with_min_days_up_to_the_origin(min_days, expected):
    prepared = prepare_history(_history(), as_of="2016-05-08")
    # up to 8 May: A has 8 days, B 2 (7 and 8 May), C 8 (3 sold days + 5 padded)
    assert prepared.keys["item_id"].tolist() == ["A", "B", "C"]
    assert long_series_mask(prepared, min_days).tolist() == expected


def _store_weather() -> pd.DataFrame:
    rows = [("S1", d, "observed") for d in pd.date_range("2016-05-01", "2016-05-08")]
    rows += [("S1", D("2016-05-09"), "forecast"),  # a weather forecast for the first forecast day
             ("S1", D("2016-05-07"), "forecast"),  # a forecast for a day already observed: ignored
             ("S1", D("2016-05-10"), "observed"),  # observed after the origin: not known at it
             ("S2", D("2016-05-09"), "forecast")]  # S2 has a forecast but no observed history (no normal)
    frame = pd.DataFrame(rows, columns=["store_id", "date", "source"])
    return frame.assign(tmax_f=70.0, tmin_f=50.0, prcp_in=0.0, snow_in=0.0)


def test_weather_source_per_forecast_day_hand_computed():
    days = pd.DataFrame({"store_id": ["S1", "S1", "S2", "S2", "S3"],
                         "date": [D("2016-05-09"), D("2016-05-10"), D("2016-05-09"), D("2016-05-10"),
                                  D("2016-05-09")]})
    got = weather_source(days, _store_weather(), origin="2016-05-08", use_weather=True)
    assert got.tolist() == ["forecast", "climatology", "forecast", "none", "none"]
    assert weather_source(days, _store_weather(), origin="2016-05-08", use_weather=False).tolist() == ["none"] * 5
    assert weather_source(days, None, origin="2016-05-08", use_weather=True).tolist() == ["none"] * 5
    # an earlier origin: 9 May's forecast row is still after it, 10 May's observation is not yet known
    early = weather_source(days.iloc[:2], _store_weather(), origin="2016-05-06", use_weather=True)
    assert early.tolist() == ["forecast", "climatology"]


def _parts(long_holdout: np.ndarray) -> tuple[ModelChoice, HoldoutBacktest, LongFit]:
    """Three series x two holdout days; series 0 and 1 are long."""
    actual = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    deployed = np.array([[2.0, 2.0], [2.0, 2.0], [3.0, 3.0]])  # off by 1 on series 0 only
    codes, cols = np.repeat(np.arange(3), 2), np.tile(np.arange(2), 3)
    preds = pd.DataFrame({"units": actual.ravel(), "deployed": deployed.ravel()})
    result = BacktestResult(metrics=pd.DataFrame(), best_model="adida", improvement_vs_seasonal_naive=0.0,
                            ensemble_members=(), per_series=pd.DataFrame(), per_series_selection_optimistic={},
                            cutoff=D("2016-05-08"), holdout_days=2, n_series=3, n_series_mase=3, predictions=preds,
                            cutoffs=(D("2016-05-08"),), step_days=2, series_codes=codes)
    holdout = HoldoutBacktest(result=result, dates=pd.date_range("2016-05-09", periods=2), codes=codes, cols=cols,
                              actual=actual, seasonal_naive=actual, best=deployed)
    choice = ModelChoice(mean=np.full((3, 4), 5.0), labels=np.array(["adida", "blend", "adida"], dtype=object),
                         holdout=deployed, backtest=result, segment_choice=None)
    mask = np.array([True, True, False])
    sources = np.full((3, 4), "none", dtype=object)
    sources[:2] = "climatology"
    long_fit = LongFit(mask=mask, holdout=long_holdout, forecast=np.vstack([np.full((2, 4), 7.0), np.full(4, np.nan)]),
                       weather_source=sources, scale=np.array([1.0, 4.0, np.nan]), weather=None, weather_on=True,
                       n_rows=20)
    return choice, holdout, long_fit


def test_long_model_replaces_the_long_series_when_its_pooled_error_is_lower():
    long_holdout = np.array([[1.0, 1.0], [2.5, 2.5], [np.nan, np.nan]])
    choice, holdout, long_fit = _parts(long_holdout)
    new, report = choose_long(choice, holdout, long_fit)
    # pooled over series 0 and 1 (4 cells): long SSE 0.5, previous SSE 2
    assert report.n_series == 2 and report.used
    assert report.rmse_long == pytest.approx(np.sqrt(0.5 / 4))
    assert report.rmse_previous == pytest.approx(np.sqrt(2 / 4))
    # per-series RMSSE: long (0 + sqrt(0.25 / 4)) / 2, previous (sqrt(1 / 1) + 0) / 2
    assert report.rmsse_long == pytest.approx(0.125)
    assert report.rmsse_previous == pytest.approx(0.5)
    assert new.labels.tolist() == [LONG_HISTORY_MODEL, LONG_HISTORY_MODEL, "adida"]
    assert new.mean[:2].tolist() == [[7.0] * 4] * 2 and new.mean[2].tolist() == [5.0] * 4
    assert new.backtest.predictions["deployed"].tolist() == [1.0, 1.0, 2.5, 2.5, 3.0, 3.0]
    assert source_labels(new, long_fit, 4)[:, 0].tolist() == ["climatology", "climatology", "none"]


def test_long_model_is_not_used_when_it_does_worse():
    long_holdout = np.array([[1.0, 1.0], [4.0, 4.0], [np.nan, np.nan]])  # SSE 8 against 2
    choice, holdout, long_fit = _parts(long_holdout)
    new, report = choose_long(choice, holdout, long_fit)
    assert not report.used and report.rmse_long == pytest.approx(np.sqrt(8 / 4))
    assert new.labels.tolist() == ["adida", "blend", "adida"]
    assert source_labels(new, long_fit, 4).ravel().tolist() == ["none"] * 12
    assert source_labels(new, None, 2).shape == (3, 2)


def _value(per_store: dict[str, tuple[float, float]]):
    from forecasting.long_history import FeatureValue

    table = pd.DataFrame([(k, w, wo, w - wo) for k, (w, wo) in per_store.items()],
                         columns=["segment", "with", "without", "delta"])
    w, wo = float(table["with"].mean()), float(table["without"].mean())
    return FeatureValue("rmsse", w, wo, w - wo, (w - wo) / wo, D("2016-05-08"), table)


def test_weather_is_on_only_for_the_stores_it_helps():
    from forecasting.long_stage import LongReport, weather_stores

    # overall the weather hurts (0.95 vs 0.9333), but it helps CA_1 and WI_2
    value = _value({"CA_1": (0.8, 0.9), "TX_1": (1.2, 1.0), "WI_2": (0.85, 0.9)})
    assert value.with_features > value.without_features
    assert weather_stores(value) == ("CA_1", "WI_2")
    report = LongReport(n_series=3, rmse_long=1.0, rmse_previous=1.1, rmsse_long=0.9, rmsse_previous=1.0, used=True,
                        weather=value, weather_on=True, weather_stores=("CA_1", "WI_2"))
    table = report.weather_table()
    assert table["segment"].tolist() == ["all", "CA_1", "TX_1", "WI_2"]
    assert table["weather"].tolist() == ["on for 2 of 3 stores", "on", "off", "on"]
    # a tie is not help
    assert weather_stores(_value({"CA_1": (1.0, 1.0)})) == ()
    with pytest.raises(ValueError, match="per store"):
        weather_stores(replace(value, per_segment=None))


def test_shared_covariates_build_once_and_match_the_without_weather_build():
    from forecasting.covariates import Covariates
    from forecasting.long_stage import _SharedCovariates

    days = pd.date_range("2016-01-01", "2016-05-10")
    rows = pd.DataFrame({"unique_id": np.repeat([0, 1], len(days)), "ds": np.tile(days, 2)})
    wx = pd.DataFrame({"store_id": "S1", "date": days, "tmax_f": np.linspace(40, 80, len(days)), "tmin_f": 30.0,
                       "prcp_in": 0.1, "snow_in": 0.0, "source": "observed"})
    events = pd.DataFrame({"date": [D("2016-02-14"), D("2016-05-08")], "event_type": ["Cultural", "Cultural"]})
    prices = rows.assign(price=np.where(rows["ds"] < D("2016-03-01"), 2.0, 2.5))
    cov = Covariates(series=pd.DataFrame({"unique_id": [0, 1], "store_id": ["S1", "S1"]}), prices=prices,
                     events=events, store_weather=wx)
    calls = []
    build = cov.build
    cov.build = lambda r, *, origin: calls.append(origin) or build(r, origin=origin)  # type: ignore[method-assign]
    shared = _SharedCovariates(cov)
    origin = D("2016-04-30")
    with_wx = shared.view(weather=True).build(rows, origin=origin)
    without = shared.view(weather=False).build(rows, origin=origin)
    assert calls == [origin]  # one build serves both views
    pd.testing.assert_frame_equal(with_wx, build(rows, origin=origin))
    pd.testing.assert_frame_equal(without, replace(cov, use_weather=False).build(rows, origin=origin))
    assert "weather_source" in with_wx and "weather_source" not in without
    # each caller gets its own frame: taking a column off one leaves the cache whole
    with_wx.pop("weather_source")
    assert "weather_source" in shared.view(weather=True).build(rows, origin=origin) and calls == [origin]
    shared.view(weather=True).build(rows, origin=D("2016-05-01"))
    assert calls == [origin, D("2016-05-01")]


def test_store_day_features_are_computed_once_per_store_day_in_row_order():
    from forecasting.covariates import _per_key_day

    days = pd.DataFrame({"store_id": ["S1", "S2", "S1", "S1", "S2"],
                         "date": [D("2016-05-01"), D("2016-05-01"), D("2016-05-02"), D("2016-05-01"), D("2016-05-01")]})
    seen = []

    def features(unique: pd.DataFrame) -> pd.DataFrame:
        seen.append(len(unique))
        return pd.DataFrame({"tag": unique["store_id"] + "@" + unique["date"].dt.strftime("%d")})

    out = _per_key_day(days, features)
    assert seen == [3]  # S1@01, S2@01, S1@02
    assert out["tag"].tolist() == ["S1@01", "S2@01", "S1@02", "S1@01", "S2@01"]


def test_prepare_long_builds_the_backtest_inputs_the_fit_then_reuses(monkeypatch):
    from forecasting.covariates import Covariates
    from forecasting.long_history import LongHistoryForecaster
    from forecasting.long_stage import prepare_long

    days = pd.date_range("2016-01-01", "2016-05-10")
    history = pd.concat([pd.DataFrame({"store_id": "S1", "item_id": i, "date": days, "units": float(k + 1),
                                       "dept_id": "D1"}) for k, i in enumerate(["A", "B"])], ignore_index=True)
    prepared = prepare_history(history)
    wx = pd.DataFrame({"store_id": "S1", "date": days, "tmax_f": np.linspace(40, 80, len(days)), "tmin_f": 30.0,
                       "prcp_in": 0.1, "snow_in": 0.0, "source": "observed"})
    events = pd.DataFrame({"store_id": "S1", "date": [D("2016-02-14"), D("2016-05-08")], "event_type": "Cultural"})
    origin = D("2016-04-26")
    calls = []
    build = Covariates.build
    monkeypatch.setattr(Covariates, "build", lambda self, r, *, origin: calls.append((len(r), origin)) or
                        build(self, r, origin=origin))
    prep = prepare_long(prepared, mask=np.array([True, True]), inputs=LongInputs(events=events, store_weather=wx),
                        attributes=history, id_cols=["store_id", "item_id"], origin=origin)
    # both series up to the origin: 2 x 117 days, built once ahead of the fits
    assert calls == [(2 * 117, origin)] and prep.has_weather and prep.static == ("store_id", "dept_id")
    rows = LongHistoryForecaster(static_features=prep.static).training_rows(prep.frame, origin)
    with_wx, without = (view.build(rows, origin=origin) for view in prep.covariates)
    assert calls == [(2 * 117, origin)]  # the backtest's two fits take the prepared build
    assert "days_to_cultural" in with_wx and "wx_tmax_anom" in with_wx and "wx_tmax_anom" not in without
    # a fit adds its own columns to its frame, never to the other fit's
    with_wx["age"] = 1.0
    assert "age" not in prep.covariates[0].build(rows, origin=origin)
