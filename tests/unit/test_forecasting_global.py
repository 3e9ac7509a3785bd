"""Global LightGBM: leave-one-out features, champion registry round trip, fallbacks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting import DemandForecaster
from forecasting.features import CATEGORICAL, build_panel, feature_matrix, forecast_features, training_features
from forecasting.lgbm import GlobalLGBM
from forecasting.m5 import load_m5
from forecasting.registry import Champion, champion_from_row, champion_to_row, load_champion, log_global_model

SAMPLE_M5 = Path(__file__).resolve().parents[2] / "data" / "sample" / "m5"


@dataclass
class SmallLGBM(GlobalLGBM):
    """Same model, fewer rounds: the tests check behaviour, not accuracy."""

    num_rounds: int = 25


@pytest.fixture(scope="module")
def m5_small():
    data = load_m5(SAMPLE_M5)
    keep = data.sales[["store_id", "item_id"]].drop_duplicates().iloc[::20]  # ~150 series across depts
    sales = data.sales.merge(keep, on=["store_id", "item_id"])
    return sales, data.calendar, data.prices


def test_training_features_leave_the_target_day_out(m5_small):
    sales, calendar, prices = m5_small
    panel = build_panel(sales, calendar=calendar, prices=prices)
    x, y = training_features(panel)
    n, t = panel.y.shape
    assert len(x) == n * t and np.array_equal(y, panel.y.ravel())
    row, day = 3, 5
    others = np.delete(panel.y[row], day)
    assert x["win_mean"].iloc[row * t + day] == pytest.approx(others.mean())
    # The same-weekday mean uses only the other weeks' same weekday.
    same = [d for d in range(t) if d != day and d % 7 == day % 7]
    assert x["win_dow_mean"].iloc[row * t + day] == pytest.approx(panel.y[row, same].mean())
    # SNAP flag follows the series' state (CA) in the real calendar.
    cal = calendar.set_index("date")["snap_CA"]
    assert x["snap"].iloc[row * t + day] == cal[panel.dates[day]]


def test_training_columns_of_sampled_rows_equal_the_full_rows(m5_small):
    from forecasting.features import training_columns

    sales, calendar, prices = m5_small
    panel = build_panel(sales, calendar=calendar, prices=prices)
    full, y = training_columns(panel)
    rows = np.sort(np.random.default_rng(1).choice(panel.y.size, size=500, replace=False))
    part, y_part = training_columns(panel, rows=rows)
    assert set(part) == set(full) and np.array_equal(y_part, y[rows])
    for name in full:
        np.testing.assert_array_equal(part[name], full[name][rows], err_msg=name)


def test_forecast_features_cover_future_prices_and_calendar(m5_small):
    sales, calendar, prices = m5_small
    future = pd.date_range(sales["date"].max() + pd.Timedelta(days=1), periods=28)
    panel = build_panel(sales, calendar=calendar, prices=prices, extra_dates=future)
    x = forecast_features(panel, future)
    assert len(x) == len(panel.keys) * 28
    assert x["price"].notna().mean() > 0.9  # shelf prices are published ahead
    assert x.loc[x["event"] == 1].shape[0] > 0  # Memorial Day 2016-05-30 is in the horizon


def test_registry_round_trip_and_alias(m5_small, tmp_path):
    from mlflow import MlflowClient

    sales, calendar, prices = m5_small
    dates = pd.date_range(sales["date"].max() + pd.Timedelta(days=1), periods=3)
    panel = build_panel(sales, calendar=calendar, prices=prices, extra_dates=dates)
    model = SmallLGBM().fit(panel)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("t", artifact_location=(tmp_path / "art").as_uri())
    run_id = client.create_run(exp).info.run_id
    assert load_champion(uri) == Champion(None, None)
    version = log_global_model(uri, run_id, model, promote=True, train_end=panel.dates[-1])
    champ = load_champion(uri)
    assert champ.version == version and champ.error is None
    # what a later run needs to judge and refit it: its last training day and configuration
    assert champ.train_end == panel.dates[-1] and champ.config == model.config()
    np.testing.assert_allclose(champ.model.predict(panel, dates), model.predict(panel, dates))
    # the warehouse copy the forecast asset reads: plain values, the same model
    row = champion_to_row(champ)
    assert all(v is None or isinstance(v, str) for v in row.values())
    copy = champion_from_row(row)
    assert (copy.version, copy.train_end, copy.config, copy.error) == (version, champ.train_end, champ.config, None)
    np.testing.assert_allclose(copy.model.predict(panel, dates), model.predict(panel, dates))
    assert champion_from_row(champion_to_row(Champion(None, None))) == Champion(None, None)
    garbled = champion_from_row({**row, "model_text": "not a model"})
    assert garbled.model is None and garbled.version == version and garbled.error
    # Breaking the stored model is reported, not raised.
    client.delete_run(run_id)
    art = Path(client.get_run(run_id).info.artifact_uri.removeprefix("file://")) / "global_model"
    for f in art.glob("*"):
        f.unlink()
    broken = load_champion(uri)
    assert broken.model is None and broken.version == version and broken.error


def _history(sales: pd.DataFrame) -> pd.DataFrame:
    return sales[["store_id", "item_id", "dept_id", "cat_id", "state_id", "date", "units"]]


def test_failed_champion_falls_back_to_seasonal_naive(m5_small):
    sales, calendar, prices = m5_small
    forecaster = DemandForecaster(horizon=7, n_jobs=1, model_factory=SmallLGBM)
    run = forecaster.forecast(_history(sales), calendar=calendar, prices=prices,
                              champion=Champion(None, "3", "OSError: gone"))
    assert run.global_outcome.source == "seasonal_naive"
    assert (run.forecast["model"] == "seasonal_naive").all()
    assert run.warnings and "champion v3 failed to load" in run.warnings[0]
    # Seasonal naive repeats the last week.
    one = run.forecast[run.forecast["item_id"] == sales["item_id"].iloc[0]]
    last_week = sales[sales["item_id"] == sales["item_id"].iloc[0]].sort_values("date")["units"].tail(7)
    np.testing.assert_allclose(one["yhat"].to_numpy(), last_week.to_numpy())


def test_regressed_model_falls_back_and_good_one_is_used(m5_small):
    sales, calendar, prices = m5_small
    strict = DemandForecaster(horizon=7, n_jobs=1, regression_threshold=-0.99, model_factory=SmallLGBM).forecast(
        _history(sales), calendar=calendar, prices=prices)
    assert strict.global_outcome.source == "seasonal_naive"
    assert "regressed past seasonal naive" in strict.warnings[0]
    run = DemandForecaster(horizon=7, n_jobs=1, model_factory=SmallLGBM).forecast(
        _history(sales), calendar=calendar, prices=prices)
    out = run.global_outcome
    assert out.source == "challenger" and out.promote and not run.warnings
    assert out.scores["challenger"] <= out.scores["seasonal_naive"] * 1.05
    assert {"lightgbm", "blend"} <= set(run.backtest.metrics.index)
    assert run.backtest.predictions["deployed"].notna().all()


def test_champion_that_saw_the_backtest_is_refitted_not_favoured(m5_small, tmp_path):
    """A re-run at the same as-of: the champion was trained on the backtest days."""
    sales, calendar, prices = m5_small
    forecaster = DemandForecaster(horizon=7, n_jobs=1, model_factory=SmallLGBM)
    kw = {"calendar": calendar, "prices": prices}
    first = forecaster.forecast(_history(sales), **kw)
    out = first.global_outcome
    assert len(first.backtest.cutoffs) == 2 and out.train_end == sales["date"].max()
    leaked = Champion(out.challenger, "1", train_end=out.train_end, config=out.challenger.config())
    # Scored as it is, it would be judged on days it was trained on ...
    as_is = forecaster.forecast(_history(sales), champion=Champion(out.challenger, "1", train_end=pd.Timestamp("2000-01-01")),
                                **kw).global_outcome
    assert as_is.champion_scoring == "as_is" and as_is.scores["champion"] < as_is.scores["challenger"]
    # ... refitted on the same origins it scores exactly like the challenger, which wins the tie.
    again = forecaster.forecast(_history(sales), champion=leaked, **kw).global_outcome
    assert again.champion_scoring == "refit_same_config"
    assert again.scores["champion"] == again.scores["challenger"] and again.source == "challenger" and again.promote
    # A champion with another configuration is refitted per origin with its own parameters.
    other = SmallLGBM(num_rounds=5).config()
    refit = forecaster.forecast(_history(sales), champion=Champion(out.challenger, "2", config=other), **kw).global_outcome
    assert refit.champion_scoring == "refit" and refit.scores["champion"] != as_is.scores["champion"]

    # The winning champion is kept, and the run still logs its newly fitted model, unpromoted.
    from mlflow import MlflowClient

    from forecasting.registry import REGISTERED_MODEL, log_run_model

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("t", artifact_location=(tmp_path / "art").as_uri())
    run_a, run_b = (client.create_run(exp).info.run_id for _ in range(2))
    champion_version = log_run_model(uri, run_a, out)
    lost = replace(again, source="champion", promote=False, model=out.challenger)
    new_version = log_run_model(uri, run_b, lost)
    assert new_version != champion_version
    assert str(client.get_model_version_by_alias(REGISTERED_MODEL, "champion").version) == champion_version
    assert client.get_model_version(REGISTERED_MODEL, new_version).tags["outcome"] == "lost to champion"
    assert {a.path for a in client.list_artifacts(run_b, "global_model")} >= {"global_model/MLmodel"}


def test_feature_matrix_gives_missing_categories_as_nan_not_negative_codes():
    # LightGBM prints a warning to stdout on negative categorical codes, which breaks `--json` output
    cols = {"event_type": np.array([0.0, np.nan, 2.0, -1.0]), "snap": np.array([1.0, 0.0, np.nan, 1.0])}
    x = feature_matrix(cols, ["event_type", "snap"])
    assert "event_type" in CATEGORICAL
    assert np.isnan(x[[1, 3], 0]).all() and (x[[0, 2], 0] == [0.0, 2.0]).all()
    assert np.isnan(x[2, 1])  # numeric features keep their NaN
