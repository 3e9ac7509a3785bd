"""Averaged weekly components: STL + ETS, store x department product, trend + season, the average.

Synthetic frames are tiny and deterministic; the last test runs on the real Walmart subset
(stores 1-6, 10 departments, see ``tests/benchmarks/data/walmart_store_sales/README.md``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.weekly import AVERAGE, AVERAGE_KNN, COMPONENTS, choose_on_inner, load_walmart
from benchmarks.weekly_components import (
    average_forecast,
    correlated_smooth,
    product_forecast,
    stl_ets_forecast,
    trend_season_forecast,
)

SUBSET = Path(__file__).parent / "data" / "walmart_store_sales"
_SEASON = 100 + 40 * np.sin(np.arange(52) * 2 * np.pi / 52) + 25 * (np.arange(52) == 46)  # a holiday peak


def test_product_is_exact_for_rank_one_departments_and_keeps_groups_apart():
    levels = np.array([1.0, 2.0, 4.0, 0.5, 3.0])
    groups = np.array([7, 7, 7, 2, 2])
    other = _SEASON[::-1]
    y = np.vstack([np.outer(levels[:3], np.tile(_SEASON, 2)), np.outer(levels[3:], np.tile(other, 2))])
    pred = product_forecast(y, groups, 30)
    np.testing.assert_allclose(pred[:3], np.outer(levels[:3], _SEASON[:30]))
    np.testing.assert_allclose(pred[3:], np.outer(levels[3:], other[:30]))
    # A department that never sold forecasts zero, not NaN.
    zero = product_forecast(np.zeros((2, 60)), np.array([1, 1]), 5)
    np.testing.assert_array_equal(zero, np.zeros((2, 5)))


def test_trend_season_extrapolates_trend_and_weekly_pattern():
    n = 80  # one season plus 28 weeks: the trend comes from the weeks seen twice
    t = np.arange(n + 20)
    truth = np.vstack([_SEASON[t % 52] + 0.5 * t, 3 * _SEASON[t % 52] - 0.2 * t])
    np.testing.assert_allclose(trend_season_forecast(truth[:, :n], 20), truth[:, n:], atol=1e-8)


def test_stl_ets_repeats_the_season_at_the_current_level_in_series_order():
    rng = np.random.default_rng(3)
    t = np.arange(130)
    # Row 0 steps up by 30 after two seasons, row 1 is ten times larger and flat: order must survive.
    base = np.vstack([_SEASON[t % 52] + 30.0 * (t >= 104), 10 * _SEASON[t % 52]])
    y = base + rng.normal(0, 2, base.shape)
    pred = stl_ets_forecast(y[:, :117], 13)
    assert pred.shape == (2, 13)
    err = np.abs(pred - base[:, 117:]).mean(axis=1)
    assert err[0] < 8 and err[1] < 15  # noise sd 2; the step is followed, the large row keeps its scale
    # Plain seasonal naive misses row 0's step entirely.
    assert err[0] < 0.5 * np.abs(y[0, 65:78] - base[0, 117:]).mean()


def test_correlated_smooth_averages_like_shaped_stores_and_keeps_each_level():
    rng = np.random.default_rng(5)
    shape = np.tile(_SEASON - _SEASON.mean(), 2)
    scale, level = rng.uniform(0.5, 3, 12), rng.uniform(200, 900, 12)
    sign = np.repeat([1.0, -1.0], 6)  # two shapes in one department: k = 6 must not mix them
    truth = level[:, None] + (sign * scale)[:, None] * shape
    noisy = truth + rng.normal(0, 8, truth.shape) * scale[:, None]
    y = np.vstack([noisy, np.full(104, 42.0)])  # plus a constant store
    smooth = correlated_smooth(y, np.zeros(13), 6)
    assert np.abs(smooth[:12] - truth).mean() < 0.5 * np.abs(noisy - truth).mean()
    np.testing.assert_allclose(smooth[:12].mean(axis=1), noisy.mean(axis=1))
    np.testing.assert_array_equal(smooth[12], y[12])
    # k = 1 is the identity; NaN weeks count as zero sales.
    np.testing.assert_allclose(correlated_smooth(np.where(y > 1e9, np.nan, y), np.zeros(13), 1), y)
    with_nan = y.copy()
    with_nan[0, :5] = np.nan
    assert not np.isnan(correlated_smooth(with_nan, np.zeros(13), 3)).any()
    with pytest.raises(ValueError, match="k must be >= 1"):
        correlated_smooth(y, np.zeros(13), 0)


def test_components_reject_bad_input():
    with pytest.raises(ValueError, match="3 NaN cells"):
        stl_ets_forecast(np.where(np.arange(60) < 3, np.nan, 1.0)[None, :], 5)
    with pytest.raises(ValueError, match="at least 54 weeks"):
        trend_season_forecast(np.ones((2, 53)), 5)
    with pytest.raises(ValueError, match="horizon 60"):
        product_forecast(np.ones((2, 60)), np.array([1, 1]), 60)
    with pytest.raises(ValueError, match="groups has shape"):
        product_forecast(np.ones((2, 60)), np.array([1]), 5)


def test_average_weights_and_shapes():
    a, b = np.zeros((2, 3)), np.full((2, 3), 4.0)
    np.testing.assert_array_equal(average_forecast({"a": a, "b": b}), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(average_forecast({"a": a, "b": b}, {"a": 3.0, "b": 1.0}), np.full((2, 3), 1.0))
    with pytest.raises(ValueError, match="differ in shape"):
        average_forecast({"a": a, "b": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="one per forecast"):
        average_forecast({"a": a, "b": b}, {"a": 1.0})
    with pytest.raises(ValueError, match="no forecasts"):
        average_forecast({})


def test_inner_choice_scores_every_component_and_picks_by_inner_wmae():
    y, weeks, series, feats = load_walmart(SUBSET)
    holiday = feats.drop_duplicates("Date").set_index("Date")["IsHoliday"].reindex(weeks).to_numpy(bool)
    res = choose_on_inner(y[:, :104], holiday[:104], series, weeks[:104], feats, with_lightgbm=False,
                          knn_ks=(2, 4))
    table = res["table"].set_index("model")["wmae"]
    assert res["knn_k"] in (2, 4) and np.isfinite(table).all()
    assert set(COMPONENTS[1:]) | {AVERAGE, AVERAGE_KNN, f"knn_stl_ets (k={res['knn_k']}, best of [2, 4])"} <= set(
        table.index)
    errs = {"svd_seasonal": table.iloc[1], "average": table[AVERAGE], "average_knn": table[AVERAGE_KNN]}
    assert res["chosen"] == min(errs, key=errs.__getitem__)
    # The simple components are real forecasts: each within reach of seasonal naive on real data.
    for name in COMPONENTS[1:]:
        assert table[name] < 1.5 * table["seasonal_naive_52"]
