"""The long-history forecaster on synthetic series (labelled synthetic): a mix of depths, calibration.

Demand is drawn from a negative binomial with a weekly pattern (weekends +80 %) around a
per-series level, so the right answers are known.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecasting.calibration import (
    coverage_by_group,
    coverage_levels,
    history_group,
    mix_weights,
    seasonal_dispersion,
)
from forecasting.covariates import Covariates, price_features
from forecasting.long_history import LongHistoryForecaster, _blend_weight, weather_value, weekday_mean
from forecasting.quantiles import negbin_quantiles

SMALL = {"objective": "tweedie", "n_estimators": 40, "learning_rate": 0.1, "num_leaves": 15,
         "min_child_samples": 20, "verbosity": -1, "n_jobs": 1}
END = pd.Timestamp("2020-06-30")


def _synthetic(depths: dict[str, int], *, horizon: int = 0, seed: int = 0, dispersion: float = 0.3) -> pd.DataFrame:
    """Synthetic demand: one series per key, ``depth`` days ending ``END`` (+ ``horizon`` future days)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, (uid, depth) in enumerate(depths.items()):
        ds = pd.date_range(end=END + pd.Timedelta(days=horizon), periods=depth + horizon, freq="D")
        level = 2.0 + 6.0 * (i % 5) / 4
        mu = level * np.where(ds.dayofweek >= 5, 1.8, 1.0)
        y = rng.negative_binomial(1 / dispersion, 1 / (1 + dispersion * mu)).astype(float)
        parts.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": y, "store_id": f"S{i % 2}"}))
    return pd.concat(parts, ignore_index=True)


def test_history_group_thresholds():
    assert history_group(np.array([3, 14, 27, 28, 365, 366, 2000])).tolist() == \
        ["new", "new", "new", "short", "short", "long", "long"]


def test_coverage_levels_recalibrate_a_too_narrow_model():
    rng = np.random.default_rng(1)
    mu = rng.gamma(1.0, 3.0, 40_000)
    y = rng.negative_binomial(2.0, 1 / (1 + 0.5 * mu))  # dispersion 0.5
    cal, test = slice(0, 20_000), slice(20_000, None)
    # the model believes Poisson around 70 % of the mean: far too narrow and too low
    raw = negbin_quantiles(0.7 * mu[test], 0.0, [0.1, 0.9])
    raw_upper = np.mean(y[test] <= raw[0.9])
    levels = coverage_levels(y[cal], 0.7 * mu[cal], 0.0, [0.1, 0.9])
    q = negbin_quantiles(0.7 * mu[test], 0.0, [levels[0.1], levels[0.9]])
    q10, q90 = q[levels[0.1]], q[levels[0.9]]
    assert raw_upper < 0.85
    assert np.mean((y[test] >= q10) & (y[test] <= q90)) == pytest.approx(0.80, abs=0.02)
    assert np.mean(y[test] <= q90) == pytest.approx(0.90, abs=0.015)


def test_seasonal_dispersion_hand_computed():
    y = [1, 2, 3, 4, 5, 6, 7, 11, 2, 3, 4, 5, 6, 7]
    df = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2020-01-06", periods=14), "y": y})
    # last 7 days against the same weekday a week earlier: r = (10, 0, ..., 0), m = 1..7
    # (sum r^2 - sum m) / sum m^2 = (100 - 28) / 140
    out = seasonal_dispersion(df, days=7, prior_obs=0)
    assert out["a"] == pytest.approx(72 / 140)
    # a pure weekly pattern is not noise
    flat = df.assign(y=[1, 2, 3, 4, 5, 6, 7] * 2)
    assert seasonal_dispersion(flat, days=7, prior_obs=0)["a"] == 0.0


def test_seasonal_dispersion_leaves_out_closures_but_not_plausible_zeros():
    days = pd.date_range("2020-01-06", periods=14)
    # a day of 10s with one zero: a closure (a mean-10 day is almost never zero), not noise
    closed = pd.DataFrame({"unique_id": "a", "ds": days, "y": [10] * 7 + [10, 10, 10, 0, 10, 10, 10]})
    assert seasonal_dispersion(closed, days=7, prior_obs=0)["a"] == 0.0
    # counted as noise: r = -10 on one day, m = 10 on all seven: (100 - 70) / 700
    assert seasonal_dispersion(closed, days=7, prior_obs=0, closed_mean=None)["a"] == pytest.approx(30 / 700)
    # a zero where the reference is 3 is ordinary noise: r^2 = 9 + 36, sum m = 21, sum m^2 = 63
    low = pd.DataFrame({"unique_id": "b", "ds": days, "y": [3] * 7 + [3, 3, 3, 0, 3, 3, 9]})
    assert seasonal_dispersion(low, days=7, prior_obs=0)["b"] == pytest.approx(24 / 63)
    # nor does a closure pull down the reference of the weeks after it: week 3's Thursday (130)
    # is scored against week 1's 100, not against (100 + 0) / 2: (30^2 - 700) / (7 * 100^2)
    later = pd.DataFrame({"unique_id": "c", "ds": pd.date_range("2020-01-06", periods=21),
                          "y": [100] * 7 + [100, 100, 100, 0, 100, 100, 100] + [100, 100, 100, 130, 100, 100, 100]})
    assert seasonal_dispersion(later, days=7, prior_obs=0)["c"] == pytest.approx(200 / 70_000)
    # counted: m = 50 that day, r = 80: (6400 - 650) / (6 * 100^2 + 50^2)
    assert seasonal_dispersion(later, days=7, prior_obs=0, closed_mean=None)["c"] == pytest.approx(5750 / 62_500)


def test_weekday_mean_fills_unseen_weekdays_with_the_series_mean():
    recent = pd.DataFrame({"unique_id": ["a"] * 3, "ds": pd.to_datetime(["2020-01-06", "2020-01-13", "2020-01-07"]),
                           "y": [2.0, 4.0, 9.0]})  # Mondays 2 and 4, one Tuesday 9
    rows = pd.DataFrame({"unique_id": ["a", "a", "a", "b"],
                         "ds": pd.to_datetime(["2020-01-20", "2020-01-21", "2020-01-22", "2020-01-20"])})
    out = weekday_mean(recent, rows)
    assert out[:3].tolist() == [3.0, 9.0, 5.0] and np.isnan(out[3])


def test_blend_weight_picks_the_better_forecast():
    pred = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "yhat": [1.0, 2.0, 3.0, 4.0], "baseline": [2.0, 2.0, 2.0, 2.0],
                         "scale": [1.0, 1.0, 2.0, 2.0]})
    assert _blend_weight(pred) == 1.0
    assert _blend_weight(pred.assign(y=pred["baseline"])) == 0.0
    # halfway: actuals midway between the two forecasts
    assert _blend_weight(pred.assign(y=(pred["yhat"] + pred["baseline"]) / 2)) == pytest.approx(0.5)


def test_coverage_by_group_counts_cells():
    y = np.array([[0, 1], [5, 5]])
    q = {0.1: np.array([[0, 0], [6, 6]]), 0.9: np.array([[1, 1], [7, 7]])}
    out = coverage_by_group(y, q, np.array(["long", "new"]))
    assert out == {"long": {"n": 2, "interval": 1.0, "upper": 1.0}, "new": {"n": 2, "interval": 0.0, "upper": 1.0}}


def test_price_features_change_and_relative_levels():
    p = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2020-01-01", periods=9),
                      "price": [2.0] * 7 + [1.0, 2.0]})
    out = price_features(p)
    assert np.isnan(out["price_change_7"].iloc[6])
    assert out["price_change_7"].iloc[7] == pytest.approx(-0.5)
    assert out["price_rel_max"].iloc[7] == pytest.approx(0.5)
    assert out["price_rel_mean"].iloc[7] == pytest.approx(1.0 / (17.0 / 9))


def test_mix_of_long_two_week_28_day_and_new_series():
    depths = {**{f"long{i}": 730 for i in range(6)}, **{f"month{i}": 28 for i in range(4)},
              **{f"twoweek{i}": 14 for i in range(4)}, **{f"new{i}": 3 for i in range(2)}}
    df = _synthetic(depths)
    fc = LongHistoryForecaster(horizon=14, params=SMALL, static_features=("store_id",), calibrate=False)
    out = fc.fit(df).predict()
    assert len(out) == len(depths) * 14
    assert set(out["unique_id"]) == set(depths)
    assert out["ds"].min() == END + pd.Timedelta(days=1) and out["ds"].max() == END + pd.Timedelta(days=14)
    groups = out.drop_duplicates("unique_id").set_index("unique_id")["group"]
    assert groups["long0"] == "long" and groups["month0"] == "short"
    assert groups["twoweek0"] == "new" and groups["new0"] == "new"
    assert np.isfinite(out["yhat"]).all() and (out["yhat"] >= 0).all()
    assert (out["yhat_q10"] <= out["yhat_q50"]).all() and (out["yhat_q50"] <= out["yhat_q90"]).all()
    # the weekly pattern is learned: long series forecast more on weekends than on weekdays
    long = out[out["group"] == "long"]
    weekend = long["ds"].dt.dayofweek >= 5
    assert long.loc[weekend, "yhat"].mean() > 1.4 * long.loc[~weekend, "yhat"].mean()
    # levels follow each series: level-8 series (i % 5 == 4) above level-2 ones (i % 5 == 0)
    mean = out.groupby("unique_id")["yhat"].mean()
    assert mean["long4"] > 2 * mean["long0"]


def test_calibrated_quantiles_cover_per_group_on_a_later_window():
    depths = {**{f"long{i}": 500 for i in range(40)}, **{f"month{i}": 28 for i in range(40)}}
    full = _synthetic(depths, horizon=28, seed=3)
    df = full[full["ds"] <= END]
    fc = LongHistoryForecaster(horizon=28, params=SMALL, quantiles=(0.1, 0.5, 0.9)).fit(df)
    # the month-old series had no history before the calibration window: long ones stood in
    assert set(fc.levels_) == {"long", "short"} and set(fc.blend_) == {"long", "short"}
    # half of the long series stood in, in a refit without their own long copies
    assert fc.calibration_["series"] == {"long": 40, "short": 20}
    assert fc.calibration_["windows"] == 3  # pooled, so one window's volatility does not set the levels
    # long series use the model alone; the median stays the negative binomial's own
    assert fc.blend_["long"] == 1.0
    assert fc.levels_["long"][0.5] == 0.5 and fc.levels_["short"][0.5] == 0.5
    assert fc.levels_["long"][0.9] != 0.9
    out = fc.predict().merge(full, on=["unique_id", "ds"])
    for group, cov in coverage_by_group(out["y"].to_numpy()[:, None],
                                        {q: out[f"yhat_q{int(q * 100)}"].to_numpy()[:, None] for q in (0.1, 0.9)},
                                        out["group"].to_numpy()).items():
        assert cov["interval"] == pytest.approx(0.80, abs=0.05), group
        assert cov["upper"] == pytest.approx(0.90, abs=0.04), group


def test_calibration_leaves_closures_out_of_the_levels():
    # 30 busy series (weekday mean 12-20), every store closed on three days of the calibration windows
    rng = np.random.default_rng(11)
    ds = pd.date_range(end=END, periods=400, freq="D")
    closed = ds.isin(pd.to_datetime(["2020-05-06", "2020-05-28", "2020-06-13"]))  # a Wednesday, Thursday, Saturday
    df = pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "store_id": f"S{i % 2}",
                                  "y": np.where(closed, 0.0, rng.poisson(12 + 8 * (i % 3) / 2, ds.size)).astype(float)})
                    for i in range(30)], ignore_index=True)
    base = LongHistoryForecaster(horizon=28, params=SMALL, quantiles=(0.1, 0.5, 0.9))
    open_days = replace(base).fit(df)
    every_day = replace(base, calibrate_without_closures=False).fit(df)
    pred = open_days.calibration_["predictions"]
    closure = (pred["y"] == 0) & (pred["baseline"] >= 7)
    assert closure.sum() == 3 * 30  # each closed day of each series, nothing else
    expected = coverage_levels(pred.loc[~closure, "y"].to_numpy(), pred.loc[~closure, "yhat"].to_numpy(),
                               pred.loc[~closure, "dispersion"].to_numpy(), (0.1, 0.9))
    assert open_days.levels_["long"][0.1] == pytest.approx(expected[0.1])
    assert open_days.levels_["long"][0.9] == pytest.approx(expected[0.9])
    # counted, the 90 zeros below every q10 push its level down: a wider interval for every forecast
    assert every_day.levels_["long"][0.1] < open_days.levels_["long"][0.1]


def test_stand_ins_are_weighed_to_the_zero_days_of_the_group_they_stand_for():
    # long series half slow (mean 0.4: mostly zero days) and half busy (mean 12); the new items
    # (14 days) are all busy, so only the busy long series' cut copies should set their levels
    rng = np.random.default_rng(21)
    ds = pd.date_range(end=END, periods=500, freq="D")
    parts = [pd.DataFrame({"unique_id": f"long{i}", "ds": ds, "store_id": f"S{i % 2}",
                           "y": rng.poisson(0.4 if i % 2 else 12.0, ds.size).astype(float)}) for i in range(60)]
    parts += [pd.DataFrame({"unique_id": f"new{i}", "ds": ds[-14:], "store_id": f"S{i % 2}",
                            "y": rng.poisson(12.0, 14).astype(float)}) for i in range(20)]
    df = pd.concat(parts, ignore_index=True)
    base = LongHistoryForecaster(horizon=28, params=SMALL, quantiles=(0.1, 0.5, 0.9), blend_groups=())
    matched = replace(base).fit(df)
    unmatched = replace(base, match_stand_ins=False).fit(df)
    pred = matched.calibration_["predictions"]
    rows = pred[pred["group"] == "new"]
    assert rows["stand_in"].all() and not pred.loc[pred["group"] == "long", "stand_in"].any()
    new = df[df["unique_id"].str.startswith("new")]
    target = new["y"].eq(0).groupby(new["unique_id"]).mean().to_numpy()
    weights = mix_weights(rows["zero_share"].to_numpy(), target)
    # the slow copies (zero days > 40 %) weigh nothing
    assert weights[rows["zero_share"].to_numpy() > 0.4].sum() == 0 and weights.sum() > 0
    expected = coverage_levels(rows["y"].to_numpy(), rows["yhat"].to_numpy(), rows["dispersion"].to_numpy(),
                               (0.1, 0.9), weights=weights)
    assert matched.levels_["new"][0.1] == pytest.approx(expected[0.1])
    # counted once each, the slow copies (q10 = 0 on most days) pull the q10 level up: too high for busy items
    assert unmatched.levels_["new"][0.1] > matched.levels_["new"][0.1] + 0.05
    # the long group calibrates on its own series, unweighted either way
    assert matched.levels_["long"] == unmatched.levels_["long"]
    assert matched.calibration_["stand_ins_unmatched"] == []


def test_stand_ins_are_refitted_without_their_own_long_copies():
    # each series its own store (a static feature) and level: beside its long twin a cut copy is
    # forecast from the twin's store effect, which a new item's store does not have
    rng = np.random.default_rng(31)
    ds = pd.date_range(end=END, periods=500, freq="D")
    level = rng.gamma(2.0, 4.0, 80)
    weekly = np.where(ds.dayofweek >= 5, 1.8, 1.0)
    parts = [pd.DataFrame({"unique_id": f"long{i}", "ds": ds, "store_id": f"S{i}",
                           "y": rng.poisson(level[i] * weekly).astype(float)}) for i in range(60)]
    parts += [pd.DataFrame({"unique_id": f"new{i}", "ds": ds[-14:], "store_id": f"N{i}",
                            "y": rng.poisson(level[60 + i] * weekly[-14:]).astype(float)}) for i in range(20)]
    df = pd.concat(parts, ignore_index=True)
    # the three windows just before the origin: a year back these series have 136 days, not the
    # long history this test is about
    base = LongHistoryForecaster(horizon=28, params=SMALL, quantiles=(0.1, 0.5, 0.9), blend_groups=(),
                                 static_features=("store_id",), calibration_year_ago=False)
    apart = replace(base).fit(df)
    beside = replace(base, stand_ins_without_twins=False).fit(df)

    def stand_in_error(fc: LongHistoryForecaster) -> float:
        rows = fc.calibration_["predictions"].query("group == 'new'")
        return float((rows["y"] - rows["yhat"]).abs().sum() / rows["y"].sum())

    # half of the 60 long series stand in (30 per window), the long group keeps all 60
    assert apart.calibration_["series"] == {"long": 60, "new": 30}
    assert beside.calibration_["series"] == {"long": 60, "new": 60}
    # without the twin the stand-ins' errors are a new item's: larger, so the interval is wider
    assert stand_in_error(apart) > stand_in_error(beside) + 0.01
    assert apart.levels_["new"][0.1] < beside.levels_["new"][0.1]
    assert apart.levels_["new"][0.9] > beside.levels_["new"][0.9]
    # the long group is calibrated in a refit of its own series only, as if there were no new items
    long_only = replace(base).fit(df[df["unique_id"].str.startswith("long")])
    assert apart.levels_["long"] == long_only.levels_["long"]


def test_stand_ins_unlike_the_group_count_once_each_and_are_named():
    # every long series slow, the new items busy: no stand-in has their mix of zero days
    rng = np.random.default_rng(22)
    ds = pd.date_range(end=END, periods=450, freq="D")
    parts = [pd.DataFrame({"unique_id": f"long{i}", "ds": ds, "store_id": f"S{i % 2}",
                           "y": rng.poisson(0.3, ds.size).astype(float)}) for i in range(40)]
    parts += [pd.DataFrame({"unique_id": f"new{i}", "ds": ds[-14:], "store_id": f"S{i % 2}",
                            "y": rng.poisson(15.0, 14).astype(float)}) for i in range(10)]
    df = pd.concat(parts, ignore_index=True)
    base = LongHistoryForecaster(horizon=28, params=SMALL, quantiles=(0.1, 0.5, 0.9), blend_groups=())
    matched = replace(base).fit(df)
    assert matched.calibration_["stand_ins_unmatched"] == ["new"]
    assert matched.levels_ == replace(base, match_stand_ins=False).fit(df).levels_


def test_n_models_forecast_is_the_mean_of_the_seeded_models():
    df = _synthetic({f"s{i}": 200 for i in range(6)}, seed=7)
    origin = END - pd.Timedelta(days=14)
    base = LongHistoryForecaster(horizon=14, params={**SMALL, "subsample": 0.7, "subsample_freq": 1},
                                 static_features=("store_id",), calibrate=False)
    pair = replace(base, n_models=2).backtest(df, origin=origin)
    one = replace(base, seed=0).backtest(df, origin=origin)
    two = replace(base, seed=1).backtest(df, origin=origin)
    # row bagging makes the two seeds differ, and the pair forecasts their mean
    assert not np.allclose(one["yhat"], two["yhat"])
    np.testing.assert_allclose(pair["yhat"], (one["yhat"] + two["yhat"]) / 2, rtol=1e-9)


def test_weather_value_compares_the_same_split():
    depths = {f"s{i}": 400 for i in range(8)}
    df = _synthetic(depths, seed=5)
    days = pd.date_range(end=END, periods=800, freq="D")
    rng = np.random.default_rng(0)
    wx = pd.DataFrame({"store_id": np.repeat(["S0", "S1"], len(days)), "date": np.tile(days, 2),
                       "tmax_f": rng.normal(70, 10, 2 * len(days)), "tmin_f": 50.0, "prcp_in": 0.0, "snow_in": 0.0,
                       "source": "observed"})
    cov = Covariates(series=df[["unique_id", "store_id"]].drop_duplicates(), store_weather=wx)
    fc = LongHistoryForecaster(horizon=14, params=SMALL, static_features=("store_id",))
    value = weather_value(fc, df, cov)
    assert value.origin == END - pd.Timedelta(days=14)
    assert value.delta == pytest.approx(value.with_features - value.without_features)
    # weather is noise here: it cannot be worth much either way
    assert abs(value.relative) < 0.1


def test_train_days_trains_on_the_last_days_only():
    df = _synthetic({f"s{i}": 200 for i in range(6)}, seed=5)
    base = LongHistoryForecaster(horizon=14, params=SMALL, static_features=("store_id",), calibrate=False,
                                 max_train_rows=None)

    def rows(fc: LongHistoryForecaster) -> int:
        trees = fc.fit(df).model_.models_["lgb0"].booster_.trees_to_dataframe()
        return int(trees.loc[(trees["tree_index"] == 0) & (trees["node_depth"] == 1), "count"].iloc[0])

    # every series has 200 days; rows need min_train_age (7) days before them
    assert rows(base) == 6 * (200 - 7)
    assert rows(replace(base, train_days=30)) == 6 * 30


def test_update_moves_a_fit_to_new_days_without_refitting():
    df = _synthetic({f"s{i}": 300 for i in range(6)}, seed=11)
    origin = END - pd.Timedelta(days=14)
    # the last 14 days sell three times as much: only the lags can tell the model
    jump = df["ds"] > origin
    df.loc[jump, "y"] = df.loc[jump, "y"] * 3
    fc = LongHistoryForecaster(horizon=14, params=SMALL, static_features=("store_id",), calibrate=False)
    before = fc.backtest(df, origin=origin, h=14)
    trees = fc.model_.models_["lgb0"].booster_.model_to_string()
    # updated to the fit's own origin it forecasts exactly what the backtest did
    same = fc.update(df[df["ds"] <= origin]).predict(14)
    np.testing.assert_allclose(same["yhat"].to_numpy(), before["yhat"].to_numpy())
    after = fc.update(df).predict(14)
    assert fc.origin_ == END and after["ds"].min() == END + pd.Timedelta(days=1)
    assert fc.model_.models_["lgb0"].booster_.model_to_string() == trees  # the same trees
    # the trees cannot reach levels they never saw, but the new lags lift the forecast
    assert after["yhat"].mean() > 1.3 * before["yhat"].mean()
    assert (after["yhat_q10"] <= after["yhat_q90"]).all()


def test_update_refuses_other_series_an_earlier_end_and_no_fit():
    df = _synthetic({f"s{i}": 120 for i in range(4)}, seed=2)
    fc = LongHistoryForecaster(horizon=7, params=SMALL, static_features=("store_id",), calibrate=False)
    with pytest.raises(RuntimeError, match="before fit"):
        fc.update(df)
    fc.backtest(df, origin=END - pd.Timedelta(days=7), h=7)
    with pytest.raises(ValueError, match=r"1 series not in the fit \['other'\] and 1 fitted series missing \['s3'\]"):
        fc.update(pd.concat([df[df["unique_id"] != "s3"], df[df["unique_id"] == "s3"].assign(unique_id="other")]))
    with pytest.raises(ValueError, match="ends 2020-06-20, before the fit's origin 2020-06-23"):
        fc.update(df[df["ds"] <= END - pd.Timedelta(days=10)])


def test_year_ago_calibration_window_sees_the_season_ahead():
    # 30 series, calm except in the 28 days a year before the forecast window (random day shocks):
    # the recent windows are calm, the year-ago one is not
    rng = np.random.default_rng(5)
    ds = pd.date_range(end=END, periods=800, freq="D")
    year_ago = (ds > END - pd.Timedelta(days=364)) & (ds <= END - pd.Timedelta(days=336))
    shock = np.where(year_ago, rng.lognormal(0.0, 0.9, ds.size), 1.0)
    df = pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "store_id": f"S{i % 2}",
                                  "y": rng.poisson((6 + 4 * (i % 3)) * shock).astype(float)})
                    for i in range(30)], ignore_index=True)
    base = LongHistoryForecaster(horizon=28, params=SMALL, quantiles=(0.1, 0.5, 0.9))
    recent = replace(base, calibration_year_ago=False).fit(df)
    seasonal = replace(base).fit(df)
    windows = seasonal.calibration_["predictions"].groupby("window")["ds"].agg(["min", "max"])
    # the nearest two windows as before, the third the 28 days after END - 364
    assert windows.loc[1].tolist() == [END - pd.Timedelta(days=27), END]
    assert windows.loc[2].tolist() == [END - pd.Timedelta(days=55), END - pd.Timedelta(days=28)]
    assert windows.loc[3].tolist() == [END - pd.Timedelta(days=363), END - pd.Timedelta(days=336)]
    assert recent.calibration_["predictions"]["ds"].min() == END - pd.Timedelta(days=83)
    # the volatile year-ago window widens the interval on both sides
    assert seasonal.levels_["long"][0.1] < recent.levels_["long"][0.1]
    assert seasonal.levels_["long"][0.9] > recent.levels_["long"][0.9]


def test_validation_sorts_unsorted_rows_and_takes_prepared_ones_as_they_are():
    from forecasting.long_history import LongHistoryForecaster

    fc = LongHistoryForecaster(static_features=("store_id",))
    days = pd.date_range("2020-01-01", periods=3)
    rows = pd.DataFrame({"unique_id": [1, 1, 1, 0, 0, 0], "ds": list(days) * 2, "y": [4, 5, 6, 1, 2, 3],
                         "store_id": ["B", "B", "B", "A", "A", "A"]})
    shuffled = rows.iloc[[5, 0, 3, 2, 4, 1]]
    hist = fc._validate(shuffled)
    assert hist["y"].tolist() == [1, 2, 3, 4, 5, 6] and hist.index.tolist() == list(range(6))
    assert list(hist["store_id"].cat.categories) == ["A", "B"]
    # a validated frame goes through unchanged (its categories kept, its order kept)
    again = fc._validate(hist)
    pd.testing.assert_frame_equal(again, hist)
    assert again["store_id"].dtype == hist["store_id"].dtype
    # numbers as a static feature still become text categories
    assert list(fc._validate(rows.assign(store_id=[7, 7, 7, 3, 3, 3]))["store_id"].cat.categories) == ["3", "7"]
