"""Unit tests for the pure-Python ``forecasting`` package (no dagster)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecasting import (
    DEFAULT_MODELS,
    ENSEMBLE,
    SHORT_HISTORY_MODEL,
    DemandForecaster,
    backtest,
    bias,
    estimate_dispersion,
    fit_predict,
    interval_coverage,
    level_variance,
    log_forecast_run,
    mae,
    mase,
    negbin_quantiles,
    per_model_metrics,
    quantile_column,
    rmse,
    seasonal_scale,
    validate_history,
)

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "m5" / "sales_d1914_d1941.parquet"
ID_COLS = ["store_id", "item_id"]
FORECAST_COLUMNS = [
    "store_id",
    "item_id",
    "date",
    "yhat",
    "yhat_q10",
    "yhat_q50",
    "yhat_q90",
    "yhat_q95",
    "yhat_var",
    "model",
    "weather_source",
]


def _load_sample(n_series: int) -> pd.DataFrame:
    # the embedded sample ships with the repo: its absence is a failure, not a skip
    assert SAMPLE.is_file(), f"sample data not found at {SAMPLE}"
    import duckdb
    sql = f"""
        WITH ids AS (SELECT DISTINCT store_id, item_id FROM read_parquet(?) ORDER BY 1, 2 LIMIT {n_series})
        SELECT s.store_id, s.item_id, CAST(s.date AS DATE) AS date, s.sales::INTEGER AS units
        FROM read_parquet(?) s JOIN ids USING (store_id, item_id)
        ORDER BY 1, 2, 3
    """
    with duckdb.connect() as con:
        df = con.execute(sql, [str(SAMPLE), str(SAMPLE)]).df()
    df["date"] = pd.to_datetime(df["date"])
    return df


@pytest.fixture(scope="module")
def history_200() -> pd.DataFrame:
    return _load_sample(200)


@pytest.fixture(scope="module")
def history_50(history_200: pd.DataFrame) -> pd.DataFrame:
    keep = history_200[ID_COLS].drop_duplicates().head(50)
    return history_200.merge(keep, on=ID_COLS)


@pytest.fixture(scope="module")
def run_200(history_200: pd.DataFrame):
    return DemandForecaster(n_jobs=1).forecast(history_200)


def _toy_history(n_days: int = 21, n_series: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2016-01-01", periods=n_days, freq="D")
    return pd.DataFrame(
        {
            "store_id": "S1",
            "item_id": np.repeat([f"I{i}" for i in range(n_series)], n_days),
            "date": np.tile(dates, n_series),
            "units": rng.poisson(2.0, n_days * n_series),
            "sell_price": 1.5,
        }
    )


# --- metrics ---------------------------------------------------------------


def test_point_metrics_match_hand_computation():
    y = np.array([1.0, 0.0, 3.0, 2.0])
    yhat = np.array([2.0, 0.0, 1.0, 2.0])
    # errors yhat - y: [1, 0, -2, 0]
    assert mae(y, yhat) == pytest.approx(0.75)
    assert rmse(y, yhat) == pytest.approx(np.sqrt(5 / 4))
    assert bias(y, yhat) == pytest.approx(-0.25)


def test_mase_skips_rows_without_a_positive_scale():
    y = np.array([1.0, 0.0, 3.0, 2.0])
    yhat = np.array([2.0, 0.0, 1.0, 2.0])
    scale = np.array([0.5, 0.5, 0.0, np.nan])
    assert mase(y, yhat, scale) == pytest.approx((1 / 0.5 + 0) / 2)
    assert mase(y, yhat, 2.0) == pytest.approx(0.75 / 2)
    assert np.isnan(mase(y, yhat, 0.0))


def test_interval_coverage_is_closed_interval_share():
    y = np.array([0, 1, 2, 5])
    assert interval_coverage(y, lo=np.array([0, 2, 0, 0]), hi=np.array([0, 3, 2, 4])) == pytest.approx(0.5)


def test_seasonal_scale_is_mean_abs_lag7_difference():
    y_a = np.arange(10, dtype=float)  # every lag-7 difference is 7
    y_b = np.r_[np.zeros(7), [1.0, 3.0]]  # differences 1 and 3
    df = pd.DataFrame(
        {
            "unique_id": ["a"] * 10 + ["b"] * 9,
            "ds": list(pd.date_range("2020-01-01", periods=10))
            + list(pd.date_range("2020-01-01", periods=9)),
            "y": np.r_[y_a, y_b],
        }
    ).sample(frac=1.0, random_state=1)  # order must not matter
    scale = seasonal_scale(df)
    assert scale["a"] == pytest.approx(7.0)
    assert scale["b"] == pytest.approx(2.0)


def test_seasonal_scale_skips_missing_values_and_short_series():
    # sorted by id and day, integer ids (the backtest's coded rows); b has a missing day value
    y_b = [0.0, 1, 2, 3, 4, 5, 6, 10, np.nan, 4]  # lag-7 differences |10-0|, missing, |4-2| -> mean 6
    df = pd.DataFrame({
        "unique_id": [0] * 3 + [1] * 10,
        "ds": list(pd.date_range("2020-01-01", periods=3)) + list(pd.date_range("2020-01-01", periods=10)),
        "y": [5.0, 6.0, 7.0, *y_b],
    })
    scale = seasonal_scale(df)
    assert list(scale.index) == [0, 1]
    assert np.isnan(scale[0])  # 3 days: no lag-7 difference
    assert scale[1] == pytest.approx(6.0)
    assert seasonal_scale(df.iloc[::-1]).equals(scale)


def test_per_model_metrics_one_row_per_model():
    df = pd.DataFrame(
        {
            "unique_id": ["a", "a", "b", "b"],
            "y": [1.0, 3.0, 0.0, 2.0],
            "m1": [1.0, 1.0, 0.0, 0.0],  # |e| = 0, 2, 0, 2
            "m2": [2.0, 3.0, 1.0, 2.0],  # |e| = 1, 0, 1, 0
        }
    )
    scale = pd.Series({"a": 2.0, "b": 0.0})
    table = per_model_metrics(df, models=["m1", "m2"], scale=scale)
    assert list(table.index) == ["m1", "m2"]
    assert table.index.name == "model"
    assert table.loc["m1", "mae"] == pytest.approx(1.0)
    assert table.loc["m2", "rmse"] == pytest.approx(np.sqrt(0.5))
    assert table.loc["m1", "bias"] == pytest.approx(-1.0)
    # only series "a" has a usable scale: m1 errors 0, 2 -> (0 + 1) / 2
    assert table.loc["m1", "mase"] == pytest.approx(0.5)
    assert table.loc["m2", "mase"] == pytest.approx(0.25)


# --- quantiles -------------------------------------------------------------


def test_negbin_quantiles_monotone_in_level_and_mean():
    mean = np.linspace(0.0, 20.0, 41)
    qs = negbin_quantiles(mean, np.full_like(mean, 0.5), [0.1, 0.5, 0.9, 0.95])
    stacked = np.vstack([qs[q] for q in (0.1, 0.5, 0.9, 0.95)])
    assert np.all(np.diff(stacked, axis=0) >= 0)
    assert np.all(np.diff(stacked, axis=1) >= 0)
    assert np.all(stacked[:, 0] == 0)  # zero mean -> zero demand
    assert stacked[-1, -1] > stacked[-1, 0]


def test_negbin_quantiles_poisson_case_matches_scipy():
    mean = np.array([0.3, 1.0, 2.5, 7.0, 7.0])
    disp = np.array([0.0, -1.0, 0.0, 0.0, 0.0])
    levels = (0.05, 0.5, 0.9)
    qs = negbin_quantiles(mean, disp, levels)
    for q in levels:
        np.testing.assert_array_equal(qs[q], stats.poisson.ppf(q, mean))


def test_negbin_quantiles_match_scipy_nbinom():
    mean = np.array([0.5, 2.0, 10.0, 2.0])
    disp = np.array([0.3, 1.0, 0.1, 1.0])
    qs = negbin_quantiles(mean, disp, [0.9])
    n = 1 / disp
    np.testing.assert_array_equal(qs[0.9], stats.nbinom.ppf(0.9, n, n / (n + mean)))
    # variance = mean + disp * mean^2 under this parameterisation
    assert stats.nbinom.var(n[1], n[1] / (n[1] + 2.0)) == pytest.approx(2.0 + 1.0 * 4.0)


def test_negbin_cdf_bounds_match_scipy_on_both_sides_of_the_recurrence_cutoff():
    from forecasting.quantiles import _RECURRENCE_MAX_K, negbin_cdf_bounds

    rng = np.random.default_rng(7)
    n_rows = 4000
    mean = np.r_[0.0, rng.gamma(0.6, 8.0, n_rows - 1)]
    disp = np.where(rng.random(n_rows) < 0.3, 0.0, rng.uniform(0.01, 4.0, n_rows))
    y = rng.poisson(mean * rng.uniform(0.3, 2.0, n_rows)).astype(float)
    # counts above the cutoff take the incomplete-beta path, the rest the pmf recurrence
    assert (y > _RECURRENCE_MAX_K).any() and (y <= _RECURRENCE_MAX_K).mean() > 0.5
    lower, upper = negbin_cdf_bounds(y, mean, disp)
    safe = np.where(disp > 0, disp, 1.0)
    ref = lambda k: np.where(disp > 0, stats.nbinom.cdf(k, 1 / safe, 1 / (1 + safe * mean)),  # noqa: E731
                             stats.poisson.cdf(k, mean))
    np.testing.assert_allclose(upper, ref(y), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lower, ref(y - 1), rtol=1e-9, atol=1e-12)
    assert upper[0] == 1.0 and lower[0] == 0.0  # zero mean: all mass at zero
    # every count under the cutoff: both bounds come from one pass of the recurrence
    small = np.minimum(y, _RECURRENCE_MAX_K)
    lower, upper = negbin_cdf_bounds(small, mean, disp)
    np.testing.assert_allclose(upper, ref(small), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lower, ref(small - 1), rtol=1e-9, atol=1e-12)


def test_negbin_quantiles_rejects_bad_levels():
    with pytest.raises(ValueError, match="between 0 and 1"):
        negbin_quantiles(np.ones(3), np.zeros(3), [0.5, 1.0])


def test_quantile_column_names():
    assert [quantile_column(q) for q in (0.1, 0.5, 0.95, 0.05)] == [
        "yhat_q10",
        "yhat_q50",
        "yhat_q95",
        "yhat_q05",
    ]
    with pytest.raises(ValueError):
        quantile_column(0.975)


def test_estimate_dispersion_moments_and_pooled_fallback():
    overdispersed = np.tile([0.0, 0.0, 0.0, 12.0], 7)  # mean 3, var ~28 -> raw ~ 2.8
    poissonish = np.tile([2.0, 3.0, 1.0, 2.0], 7)
    df = pd.DataFrame(
        {
            "unique_id": ["over"] * 28 + ["pois"] * 28 + ["zero"] * 28 + ["short"] * 3,
            "y": np.r_[overdispersed, poissonish, np.zeros(28), [1.0, 5.0, 0.0]],
        }
    )
    disp = estimate_dispersion(df, min_obs=14, prior_obs=0)
    m, v = overdispersed.mean(), overdispersed.var(ddof=1)
    assert disp["over"] == pytest.approx((v - m) / m**2)
    assert disp["pois"] == 0.0  # under-dispersed is clipped to Poisson
    pooled = float(np.median([disp["over"], disp["pois"]]))
    assert disp["zero"] == pytest.approx(pooled)
    assert disp["short"] == pytest.approx(pooled)
    shrunk = estimate_dispersion(df, min_obs=14, prior_obs=28)
    assert shrunk["over"] == pytest.approx(0.5 * disp["over"] + 0.5 * pooled)
    assert (shrunk >= 0).all()


def test_level_variance_at_the_recent_level_with_weekly_dispersion():
    days = pd.date_range("2016-01-01", periods=14, freq="D")
    df = pd.DataFrame({
        "unique_id": np.repeat(["a", "b", "z"], 14).tolist() + ["new"] * 3,
        "ds": np.r_[np.tile(days, 3), days[-3:]],
        # a: a week of 2s then a week of 6s; b: flat 3; z: no demand; new: 3 days
        "y": np.r_[[2.0] * 7, [6.0] * 7, [3.0] * 14, [0.0] * 14, [1.0, 5.0, 0.0]],
    })
    # a: 7 pairs (6, 2): sum r^2 / 2 = 7 * 8 = 56, pair means 4: sum m = 28, sum m^2 = 112 ->
    # d = (56 - 28) / 112 = 0.25; level 4 -> 4 + 0.25 * 16 = 8. b: d clipped at 0 -> its level 3.
    own = level_variance(df, prior_obs=0)
    assert own.to_dict() == pytest.approx({"a": 8.0, "b": 3.0, "new": 2.0 + 0.125 * 4, "z": 0.0})
    # 7 pseudo-observations of the pooled d (median of 0.25 and 0 = 0.125) against 7 pairs:
    # a: d = 0.1875 -> 4 + 3 = 7; b: d = 0.0625 -> 3 + 0.5625
    shrunk = level_variance(df, prior_obs=7)
    assert shrunk[["a", "b"]].tolist() == pytest.approx([7.0, 3.5625])
    # the last 7 days only: no pairs, so no dispersion, the level's Poisson variance
    assert level_variance(df, days=7)["a"] == pytest.approx(6.0)


# --- validation ------------------------------------------------------------


def test_validate_history_accepts_clean_input():
    assert validate_history(_toy_history()) == []


@pytest.mark.parametrize(
    ("corrupt", "pattern"),
    [
        (lambda h: h.drop(columns="units"), r"missing column\(s\): units"),
        (lambda h: h.assign(units=np.where(np.arange(len(h)) < 4, -1, h["units"])), r"'units': 4 negative"),
        (lambda h: pd.concat([h, h.iloc[:3]]), r"store_id, item_id, date: 3 duplicate"),
        (lambda h: h.drop(index=[5, 30]), r"'date': 2 row\(s\) not exactly one day"),
        (lambda h: h.assign(units=h["units"].astype(float).where(h.index > 1)), r"'units': 2 null"),
        (
            lambda h: h.assign(date=h["date"].dt.strftime("%Y-%m-%d").where(h.index > 0, "n/a")),
            r"'date': 1 null",
        ),
    ],
)
def test_forecast_rejects_bad_history(corrupt, pattern):
    with pytest.raises(ValueError, match=pattern):
        DemandForecaster(horizon=7, holdout_days=7, n_windows=1, n_jobs=1).forecast(corrupt(_toy_history()))


def test_forecaster_rejects_bad_settings():
    with pytest.raises(ValueError, match="unknown model"):
        DemandForecaster(models=["prophet"])
    with pytest.raises(ValueError, match="horizon must be at least 1"):
        DemandForecaster(horizon=0)
    with pytest.raises(ValueError, match="repeat a level"):
        DemandForecaster(quantiles=(0.1, 0.1))


def test_forecast_rejects_arguments_that_do_not_fit_the_history():
    with pytest.raises(ValueError, match="as_of"):
        DemandForecaster(n_jobs=1).forecast(_toy_history(), as_of=pd.Timestamp("2030-01-01"))
    with pytest.raises(ValueError, match="holdout_days"):
        DemandForecaster(holdout_days=14, n_jobs=1).forecast(_toy_history(n_days=10))


# --- models ----------------------------------------------------------------


def test_fit_predict_shape_and_non_negative(history_50: pd.DataFrame):
    models = ["seasonal_naive", "croston_sba", "tsb", "window_average"]
    out = fit_predict(history_50, models=models, horizon=10, n_jobs=2)
    assert list(out.columns) == [*ID_COLS, "date", *models]
    assert len(out) == 50 * 10
    assert out.groupby(ID_COLS).size().eq(10).all()
    assert out["date"].min() == history_50["date"].max() + pd.Timedelta(days=1)
    values = out[models].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    # seasonal naive repeats the last week
    first = history_50[history_50["item_id"] == out["item_id"].iloc[0]].sort_values("date")
    np.testing.assert_allclose(out["seasonal_naive"].iloc[:7], first["units"].iloc[-7:].to_numpy())


def test_fit_predict_short_series_get_their_mean():
    hist = _toy_history(n_days=21, n_series=2)
    hist = hist[~((hist["item_id"] == "I1") & (hist["date"] < "2016-01-17"))]  # I1: 5 days
    out = fit_predict(hist, models=["tsb", "adida"], horizon=3, n_jobs=1)
    short = out[out["item_id"] == "I1"]
    expected = hist.loc[hist["item_id"] == "I1", "units"].mean()
    np.testing.assert_allclose(short[["tsb", "adida"]].to_numpy(), expected)


# --- backtest and pipeline -------------------------------------------------


def test_backtest_table_choice_and_ensemble(history_200: pd.DataFrame):
    models = ["croston_sba", "tsb", "imapa"]
    bt = backtest(history_200, models=models, holdout_days=14, n_jobs=1)
    assert list(bt.metrics.index) == ["seasonal_naive", *models, ENSEMBLE]
    assert {"mae", "rmse", "bias", "mase", "coverage_q10_q90"} <= set(bt.metrics.columns)
    assert bt.best_model == bt.metrics["mase"].idxmin()
    sn = bt.metrics.at["seasonal_naive", "mase"]
    assert bt.improvement_vs_seasonal_naive == pytest.approx(1 - bt.metrics.at[bt.best_model, "mase"] / sn)
    np.testing.assert_allclose(bt.predictions[ENSEMBLE], bt.predictions[models].mean(axis=1))
    assert bt.predictions["date"].min() == bt.cutoff + pd.Timedelta(days=1)
    assert len(bt.per_series) == 200 and bt.per_series["best_model"].isin(bt.metrics.index).all()
    # the in-sample per-series pick can only do as well as or better than any single model on MAE
    assert bt.per_series_selection_optimistic["mae"] <= bt.metrics["mae"].min() + 1e-12


def test_forecast_output_contract(run_200, history_200: pd.DataFrame):
    fc = run_200.forecast
    assert list(fc.columns) == FORECAST_COLUMNS
    assert len(fc) == 200 * 28
    assert fc.groupby(ID_COLS).size().eq(28).all()
    as_of = history_200["date"].max()
    expected_dates = pd.date_range(as_of + pd.Timedelta(days=1), periods=28)
    assert (
        (fc.groupby(ID_COLS)["date"].agg(["min", "max"]) == [expected_dates[0], expected_dates[-1]])
        .all()
        .all()
    )
    q = fc[["yhat_q10", "yhat_q50", "yhat_q90", "yhat_q95"]].to_numpy()
    assert np.isfinite(q).all() and (np.diff(q, axis=1) >= 0).all() and (q[:, 0] >= 0).all()
    # one planning variance per series, at least the Poisson variance of its level (>= 0)
    assert fc.groupby(ID_COLS)["yhat_var"].nunique().eq(1).all() and (fc["yhat_var"] >= 0).all()
    # Per store x department the backtest chose the statsforecast winner, the global model or their mean.
    choice = run_200.segment_choice.set_index("segment")["model"]
    dept = fc["item_id"].str.rsplit("_", n=1).str[0]
    assert (fc["model"].to_numpy() == (fc["store_id"] + "|" + dept).map(choice).to_numpy()).all()
    assert set(choice) <= {run_200.backtest.best_model, "lightgbm", "blend"}
    assert (fc["yhat"] >= 0).all()
    # 28 days of history: no series is long, so no row uses the weather
    assert run_200.long_history is None and set(fc["weather_source"]) == {"none"}


def test_forecast_beats_seasonal_naive_in_backtest(run_200):
    table = run_200.backtest.metrics
    best = run_200.backtest.best_model
    assert table.at[best, "mase"] <= table.at["seasonal_naive", "mase"]
    assert run_200.params["chosen_model"] == best
    assert set(run_200.seconds) == {"prepare", "backtest", "refit", "global", "long_history", "choose", "quantiles",
                                    "total"}


def test_forecast_refits_every_ensemble_member(history_50: pd.DataFrame, monkeypatch):
    # The package re-exports the function ``backtest``, which shadows the submodule attribute.
    bt_module = importlib.import_module("forecasting.backtest")
    # Force the choice so the test does not depend on which candidate wins on 50 series.
    monkeypatch.setattr(bt_module, "_pick_best", lambda metrics: ENSEMBLE)
    members = ["tsb", "window_average"]
    run = DemandForecaster(models=members, horizon=5, n_jobs=1, global_model=False).forecast(history_50)
    assert run.backtest.best_members == tuple(members)
    assert (run.forecast["model"] == ENSEMBLE).all()
    direct = fit_predict(history_50, models=members, horizon=5, n_jobs=1)
    np.testing.assert_allclose(run.forecast["yhat"], direct[members].mean(axis=1))


def test_forecast_as_of_short_and_stale_series(history_50: pd.DataFrame):
    items = sorted(history_50["item_id"].unique())
    hist = history_50[~((history_50["item_id"] == items[0]) & (history_50["date"] < "2016-05-15"))]
    hist = hist[~((hist["item_id"] == items[1]) & (hist["date"] > "2016-05-12"))]
    as_of = pd.Timestamp("2016-05-15")
    run = DemandForecaster(horizon=7, holdout_days=8, n_jobs=1).forecast(hist, as_of=as_of)  # two 4-day origins
    fc = run.forecast
    assert fc["date"].min() == as_of + pd.Timedelta(days=1)
    assert fc["date"].max() == as_of + pd.Timedelta(days=7)
    assert fc.groupby(ID_COLS).size().eq(7).all() and fc["item_id"].nunique() == 50
    short = fc[fc["item_id"] == items[0]]
    assert (short["model"] == SHORT_HISTORY_MODEL).all()
    assert short["yhat"].iloc[0] == pytest.approx(
        hist.loc[hist["item_id"] == items[0], "units"].iloc[:1].mean()
    )
    assert run.params["n_series_zero_padded"] == 1
    assert run.params["n_series_short_history"] == 1


def test_series_order_takes_presorted_rows_as_they_are_and_sorts_the_rest(history_200: pd.DataFrame):
    from forecasting.frames import presorted_codes, series_order

    ordered = history_200.sort_values([*ID_COLS, "date"], ignore_index=True)
    shuffled = ordered.sample(frac=1.0, random_state=3).reset_index(drop=True)
    for frame in (ordered, shuffled):
        codes, ds, order = series_order(frame, ID_COLS, "date")
        expected = frame.groupby(ID_COLS, sort=True).ngroup().to_numpy()
        np.testing.assert_array_equal(codes, expected)
        np.testing.assert_array_equal(order, np.lexsort((ds, expected)))
    ds = pd.to_datetime(ordered["date"]).to_numpy()
    assert presorted_codes(ordered, ID_COLS, ds) is not None
    assert presorted_codes(shuffled, ID_COLS, pd.to_datetime(shuffled["date"]).to_numpy()) is None
    # one series' days out of order, or a series split in two runs: not presorted
    swapped = ordered.iloc[[1, 0, *range(2, len(ordered))]].reset_index(drop=True)
    assert presorted_codes(swapped, ID_COLS, pd.to_datetime(swapped["date"]).to_numpy()) is None
    split = pd.concat([ordered.iloc[:3], ordered.iloc[40:], ordered.iloc[3:40]], ignore_index=True)
    assert presorted_codes(split, ID_COLS, pd.to_datetime(split["date"]).to_numpy()) is None


def test_categorical_ids_code_like_text_ids_and_come_back_as_text(history_200: pd.DataFrame):
    from forecasting.frames import presorted_codes, to_nixtla

    ordered = history_200.sort_values([*ID_COLS, "date"], ignore_index=True)
    # categories in first-seen order, as a warehouse read through Arrow gives them
    coded = ordered.assign(**{c: pd.Categorical(ordered[c], categories=ordered[c].unique()) for c in ID_COLS})
    shuffled = coded.sample(frac=1.0, random_state=4).reset_index(drop=True)
    ds = pd.to_datetime(ordered["date"]).to_numpy()
    np.testing.assert_array_equal(presorted_codes(coded, ID_COLS, ds), presorted_codes(ordered, ID_COLS, ds))
    cols = {"id_cols": ID_COLS, "time_col": "date", "target_col": "units"}
    frame, keys = to_nixtla(ordered, **cols)
    for other in (coded, shuffled):
        frame_c, keys_c = to_nixtla(other, **cols)
        pd.testing.assert_frame_equal(frame_c, frame)
        pd.testing.assert_frame_equal(keys_c, keys)  # plain text ids, not categoricals
    assert all(keys[c].dtype == object for c in ID_COLS)


# --- tracking --------------------------------------------------------------


def test_log_forecast_run_round_trip(run_200, tmp_path: Path):
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = log_forecast_run(run_200, tracking_uri=uri, run_name="unit", tags={"suite": "unit"})
    client = MlflowClient(tracking_uri=uri)
    logged = client.get_run(run_id)
    assert logged.info.status == "FINISHED"
    assert logged.info.run_name == "unit" and logged.data.tags["suite"] == "unit"
    assert logged.data.params["best_statsforecast_model"] == run_200.backtest.best_model
    assert logged.data.params["horizon"] == "28"
    metrics = logged.data.metrics
    best = run_200.backtest.best_model
    assert metrics["backtest_mase"] == pytest.approx(run_200.backtest.metrics.at[best, "mase"])
    assert metrics["improvement_vs_seasonal_naive"] == pytest.approx(
        run_200.backtest.improvement_vs_seasonal_naive
    )
    assert 0 < metrics["coverage_q10_q90"] <= 1
    for model in DEFAULT_MODELS:
        assert f"mase_{model}" in metrics and f"mae_{model}" in metrics
    artifacts = {a.path for d in ("backtest", "forecast") for a in client.list_artifacts(run_id, d)}
    assert artifacts == {"backtest/backtest_metrics.csv", "backtest/backtest_vs_actual.png",
                         "backtest/segment_choice.csv", "forecast/forecast.parquet"}
    local = client.download_artifacts(run_id, "forecast/forecast.parquet", str(tmp_path))
    assert pd.read_parquet(local).shape == run_200.forecast.shape
    exp = client.get_experiment_by_name("supplycast-forecast")
    assert exp.artifact_location == (tmp_path / "mlartifacts").as_uri()


def test_run_record_survives_the_warehouse_row_and_logs_like_the_run(run_200, tmp_path: Path):
    from mlflow import MlflowClient

    from forecasting.tracking import record_from_row, record_to_row, run_record

    record = run_record(run_200)
    row = record_to_row(record)
    assert all(v is None or isinstance(v, str) for v in row.values())  # plain text columns
    back = record_from_row(row)
    assert back.params == json.loads(json.dumps(record.params, default=str))
    assert back.metrics == pytest.approx(record.metrics, nan_ok=True)
    assert back.chosen_model == run_200.backtest.best_model
    pd.testing.assert_frame_equal(back.backtest_metrics, record.backtest_metrics, check_dtype=False)
    pd.testing.assert_frame_equal(back.daily, record.daily, check_dtype=False, check_freq=False)
    # the plot's data: holdout sums per candidate, then the summed forecast over the horizon
    assert back.daily["forecast"].notna().sum() == run_200.forecast["date"].nunique()
    assert back.daily["units"].sum() == pytest.approx(run_200.backtest.predictions["units"].sum())
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = log_forecast_run(back, forecast=run_200.forecast, tracking_uri=uri)
    logged = MlflowClient(tracking_uri=uri).get_run(run_id).data
    assert logged.params["best_statsforecast_model"] == run_200.backtest.best_model
    assert logged.metrics["backtest_mase"] == pytest.approx(run_200.backtest.metrics.at[run_200.backtest.best_model, "mase"])


def test_log_forecast_run_rejects_plain_path(run_200, tmp_path: Path):
    with pytest.raises(ValueError, match="sqlite"):
        log_forecast_run(run_200, tracking_uri=str(tmp_path / "mlruns"))


def test_package_imports_neither_dagster_nor_mlflow():
    code = "import sys, forecasting; print(sorted(m for m in ('dagster', 'mlflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_backtest_rolling_origins_refit_per_window(history_50: pd.DataFrame):
    models = ["window_average", "tsb"]
    bt = backtest(history_50, models=models, holdout_days=14, n_windows=2, n_jobs=1)
    end = history_50["date"].max()
    assert bt.cutoffs == (end - pd.Timedelta(days=14), end - pd.Timedelta(days=7)) and bt.step_days == 7
    preds = bt.predictions
    # every series and holdout day is forecast once, from the origin just before its window
    assert preds.groupby(ID_COLS)["date"].nunique().eq(14).all() and len(preds) == 50 * 14
    assert (preds["cutoff"] == np.where(preds["date"] > bt.cutoffs[1], bt.cutoffs[1], bt.cutoffs[0])).all()
    # the second window is what the models say when refitted on the history up to its origin
    late = preds[preds["cutoff"] == bt.cutoffs[1]].sort_values([*ID_COLS, "date"])
    direct = fit_predict(history_50[history_50["date"] <= bt.cutoffs[1]], models=models, horizon=7, n_jobs=1)
    np.testing.assert_allclose(late[models].to_numpy(), direct[models].to_numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="multiple of n_windows"):
        backtest(history_50, models=models, holdout_days=7, n_windows=2, n_jobs=1)


@pytest.mark.parametrize(
    ("n_days", "expected"),
    [(28, (14, 2)), (14, (6, 2)), (9, (4, 2)), (3, (1, 1))],
)
def test_backtest_plan_shrinks_at_short_history(n_days, expected):
    from forecasting import backtest_plan

    assert backtest_plan(n_days, 14, 2) == expected


# --- stages of the front door ------------------------------------------------


def test_stages_compose_to_the_front_door(history_50: pd.DataFrame):
    from forecasting.history import prepare_history
    from forecasting.long_stage import source_labels
    from forecasting.stages import add_quantiles, backtest_holdout, choose_models, refit_statistical

    run = DemandForecaster(horizon=7, n_jobs=1, global_model=False).forecast(history_50)
    cols = {"id_cols": ID_COLS, "time_col": "date", "target_col": "units"}
    prepared = prepare_history(history_50, **cols)
    holdout = backtest_holdout(prepared, models=DEFAULT_MODELS, holdout_days=14, n_windows=2, n_jobs=1,
                               min_history=14, interval=(0.1, 0.9), **cols)
    statistical = refit_statistical(prepared, holdout.result, horizon=7, n_jobs=1, min_history=14)
    choice = choose_models(holdout, statistical, None, interval=(0.1, 0.9), target_col="units")
    quantiles = add_quantiles(prepared, statistical, choice, holdout, quantiles=(0.1, 0.5, 0.9, 0.95),
                              min_history=14, id_cols=ID_COLS, time_col="date")
    # 28 days of history: no long series, so no long-history stage and no weather behind any row
    expected = quantiles.forecast.assign(weather_source=source_labels(choice, None, 7).ravel())
    pd.testing.assert_frame_equal(expected, run.forecast)
    # matrices are in key order: row i holds the i-th series' last 14 days, its actuals as recorded
    row = 7
    key = prepared.keys.iloc[row]
    series = history_50[(history_50["store_id"] == key["store_id"]) & (history_50["item_id"] == key["item_id"])]
    np.testing.assert_array_equal(holdout.actual[row], series.sort_values("date")["units"].to_numpy()[-14:])
    assert list(holdout.dates) == list(pd.date_range(history_50["date"].max() - pd.Timedelta(days=13), periods=14))
    # without a global model every series deploys the backtest's best statsforecast candidate
    assert set(choice.labels) == {holdout.result.best_model} and choice.segment_choice is None
    np.testing.assert_array_equal(choice.holdout, holdout.best)


def test_global_model_reads_only_its_window_of_a_long_history():
    from forecasting.history import prepare_history
    from forecasting.stages import GLOBAL_WINDOW_DAYS, backtest_holdout, fit_global

    long = _toy_history(n_days=120, n_series=6)
    recent = long[long["date"] > long["date"].max() - pd.Timedelta(days=GLOBAL_WINDOW_DAYS)]
    cols = {"id_cols": ID_COLS, "time_col": "date", "target_col": "units"}
    outcomes = []
    for hist in (long, recent):
        prepared = prepare_history(hist, **cols)
        holdout = backtest_holdout(prepared, models=("seasonal_naive",), holdout_days=14, n_windows=2, n_jobs=1,
                                   min_history=14, interval=(0.1, 0.9), **cols)
        dates = pd.date_range(prepared.as_of + pd.Timedelta(days=1), periods=7)
        outcomes.append(fit_global(prepared, holdout, dates, attributes=hist, id_cols=ID_COLS).outcome)
    # the 64 days before the window change nothing: the grid the model is built on is the window's
    np.testing.assert_allclose(outcomes[0].holdout, outcomes[1].holdout)
    np.testing.assert_allclose(outcomes[0].forecast, outcomes[1].forecast)


def test_prepare_history_cuts_at_as_of_and_pads_stale_series():
    from forecasting.history import prepare_history

    hist = _toy_history(n_days=10, n_series=2)
    hist = hist[~((hist["item_id"] == "I1") & (hist["date"] > "2016-01-06"))]  # I1 stops on day 6
    prepared = prepare_history(hist, as_of="2016-01-08")
    assert prepared.as_of == pd.Timestamp("2016-01-08") and prepared.n_padded == 1
    assert list(prepared.keys["item_id"]) == ["I0", "I1"]
    frame = prepared.frame
    assert frame.groupby("unique_id")["ds"].max().eq(pd.Timestamp("2016-01-08")).all()
    padded = frame[(frame["unique_id"] == 1) & (frame["ds"] > "2016-01-06")]
    assert len(padded) == 2 and (padded["y"] == 0.0).all()
    assert len(frame) == 16


def test_frames_round_trip_and_order_checks():
    from forecasting.frames import from_nixtla, in_order, sorted_by, to_long, to_nixtla

    hist = _toy_history(n_days=3, n_series=2).sample(frac=1.0, random_state=1)
    frame, keys = to_nixtla(hist, id_cols=ID_COLS, time_col="date", target_col="units")
    assert list(frame["unique_id"]) == [0, 0, 0, 1, 1, 1] and list(keys["item_id"]) == ["I0", "I1"]
    back = from_nixtla(frame.rename(columns={"y": "units"}), keys, id_cols=ID_COLS, time_col="date",
                       value_cols=["units"])
    expected = hist.sort_values([*ID_COLS, "date"], ignore_index=True)[[*ID_COLS, "date", "units"]]
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert in_order([np.array([1, 1, 2]), np.array([3, 4, 0])])
    assert not in_order([np.array([1, 1, 2]), np.array([3, 3, 0])], strict=True)
    assert not in_order([np.array([2, 1])])
    unsorted = pd.DataFrame({"a": [2, 1, 1], "b": [0, 5, 4]})
    assert sorted_by(unsorted, ["a", "b"])[["a", "b"]].values.tolist() == [[1, 4], [1, 5], [2, 0]]
    already = unsorted.sort_values(["a", "b"], ignore_index=True)
    assert sorted_by(already, ["a", "b"]) is already
    long = to_long(np.array([[1.0, 2.0], [3.0, 4.0]]), keys, pd.date_range("2016-01-01", periods=2),
                   id_cols=ID_COLS, time_col="date", value_col="yhat")
    assert long["yhat"].tolist() == [1.0, 2.0, 3.0, 4.0] and long["item_id"].tolist() == ["I0", "I0", "I1", "I1"]
