"""SVD smoothing, level-adjusted seasonal forecasts and the inner-split choice (Walmart weekly).

The real rows are a strict subset of the Walmart store-sales files (stores 1-6, 10 departments,
all 143 weeks), see ``tests/benchmarks/data/walmart_store_sales/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.seasonal_svd import SeasonalParams, grid_search, seasonal_level_forecast, svd_smooth
from benchmarks.weekly import choose_on_inner, load_walmart, oracle_level, seasonal_naive
from forecasting.metrics import wmae

SUBSET = Path(__file__).parent / "data" / "walmart_store_sales"


@pytest.fixture(scope="module")
def subset():
    return load_walmart(SUBSET)


def test_load_builds_the_series_by_week_matrix(subset):
    y, weeks, series, feats = subset
    assert y.shape == (len(series), 143) and len(weeks) == 143
    assert set(series["Store"]) == set(range(1, 7)) and series["Dept"].nunique() == 10
    assert series[["Type", "Size"]].notna().all().all()
    # Every train row lands in one cell; the rest (no row for that week) stay NaN.
    assert np.isfinite(y).sum() == 8580
    assert weeks[0].isoformat()[:10] == "2010-02-05" and weeks[-1].isoformat()[:10] == "2012-10-26"


def test_svd_smooth_recovers_a_rank_one_group_from_noise():
    rng = np.random.default_rng(0)
    shape = np.sin(np.arange(104) * 2 * np.pi / 52) + 2.0
    truth = np.vstack([np.outer(rng.uniform(1, 5, 30), shape), np.outer(rng.uniform(1, 5, 20), shape[::-1])])
    noisy = truth + rng.normal(0, 0.5, truth.shape)
    groups = np.repeat([7, 3], [30, 20])  # two departments, each rank one with its own shape
    smooth = svd_smooth(noisy, groups, 1)
    assert np.abs(smooth - truth).mean() < 0.35 * np.abs(noisy - truth).mean()
    # Smoothing the groups together at rank 1 cannot fit both shapes: worse than per group.
    together = svd_smooth(noisy, np.zeros(50), 1)
    assert np.abs(together - truth).mean() > 2 * np.abs(smooth - truth).mean()


def test_svd_smooth_zero_fills_and_keeps_small_groups(subset):
    y = subset[0][:, :104]
    depts = subset[2]["Dept"].to_numpy()
    full = svd_smooth(y, depts, 6)  # 6 stores per department: rank 6 keeps everything
    np.testing.assert_allclose(full, np.nan_to_num(y), atol=1e-6)
    assert not np.isnan(svd_smooth(y, depts, 2)).any()
    np.testing.assert_array_equal(svd_smooth(y, depts, None), np.nan_to_num(y))
    with pytest.raises(ValueError, match="one label per row"):
        svd_smooth(y, depts[:-1], 2)


def test_seasonal_forecast_without_level_is_seasonal_naive(subset):
    y = np.nan_to_num(subset[0][:, :104])
    pred = seasonal_level_forecast(y, 39, level_weight=0.0, max_years=1)
    np.testing.assert_array_equal(pred, y[:, 52:91])
    np.testing.assert_array_equal(pred, seasonal_naive(y, 39))


def test_seasonal_forecast_follows_an_additive_level_shift():
    season = np.arange(52, dtype=float)
    y = np.concatenate([season, season + 10.0, season + 20.0])[None, :]  # +10 a year
    # One year: last year's week plus the full level change measured over 8 weeks.
    np.testing.assert_allclose(seasonal_level_forecast(y, 20, level_window=8, level_weight=1.0, max_years=1),
                               season[None, :20] + 30.0)
    # Two years: the older year is first moved to last year's level, so nothing changes.
    np.testing.assert_allclose(seasonal_level_forecast(y[:, 52:], 20, level_window=8, level_weight=1.0),
                               season[None, :20] + 30.0)


def test_two_years_average_out_noise_and_ratios_follow_growth():
    rng = np.random.default_rng(1)
    shape = 100 + 30 * np.cos(np.arange(52) * 2 * np.pi / 52)
    y = np.tile(np.concatenate([shape, shape * 1.2]), (400, 1))  # 20 % growth, 400 noisy copies
    noisy = y + rng.normal(0, 10, y.shape)
    one = seasonal_level_forecast(noisy, 26, level_weight=0.0, max_years=1)
    two = seasonal_level_forecast(noisy, 26, level_weight=0.0, max_years=2, multiplicative=True)
    truth = shape[:26] * 1.2
    assert np.abs(two - truth).mean() < 0.8 * np.abs(one - truth).mean()
    grown = seasonal_level_forecast(y, 26, level_window=13, level_weight=1.0, multiplicative=True)
    np.testing.assert_allclose(grown, np.broadcast_to(shape[:26] * 1.2 * 1.2, grown.shape))


def test_seasonal_forecast_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        seasonal_level_forecast(np.full((2, 80), np.nan), 10)
    with pytest.raises(ValueError, match="horizon <= season"):
        seasonal_level_forecast(np.ones((2, 80)), 60)
    with pytest.raises(ValueError, match="level_window"):
        seasonal_level_forecast(np.ones((2, 60)), 10, level_window=13)


def test_grid_search_scores_every_setting_on_the_inner_split(subset):
    y, weeks, series, feats = subset
    holiday = feats.drop_duplicates("Date").set_index("Date")["IsHoliday"].reindex(weeks).to_numpy(bool)
    train, actual, hol = y[:, :65], y[:, 65:104], holiday[65:104]
    grid = grid_search(train, actual, np.where(hol, 5.0, 1.0), series["Dept"].to_numpy(), ranks=(None, 2, 4),
                       level_windows=(8, 13), level_weights=(0.0, 0.5))
    errs = [e for _, e in grid]
    assert errs == sorted(errs) and len(grid) == 3 * 2 * (1 + 2)
    ok = np.isfinite(actual)
    plain = next(e for p, e in grid if p.rank is None and p.level_weight == 0 and p.level_window == 8)
    naive = np.nan_to_num(train)[:, 13:52]
    assert plain == pytest.approx(wmae(actual[ok], naive[ok], np.broadcast_to(hol, actual.shape)[ok]))
    assert grid[0][1] < plain  # smoothing or the level term helps on real data
    with pytest.raises(ValueError, match="fits 60 weeks"):
        grid_search(train[:, :60], actual, np.ones(39), series["Dept"].to_numpy(), level_windows=(13,))


def test_choose_on_inner_uses_training_weeks_only(subset):
    y, weeks, series, feats = subset
    holiday = feats.drop_duplicates("Date").set_index("Date")["IsHoliday"].reindex(weeks).to_numpy(bool)
    res = choose_on_inner(y[:, :104], holiday[:104], series, weeks[:104], feats, with_lightgbm=False)
    assert isinstance(res["params"], SeasonalParams)
    assert res["range"] == "fit 2010-02-05..2011-04-29, validate 2011-05-06..2012-01-27"
    table = res["table"].set_index("model")["wmae"]
    assert table.iloc[1] == pytest.approx(res["grid"]["wmae"].iloc[0]) and table.iloc[1] <= table.iloc[0] * 1.05
    assert list(res["table"]["model"])[0] == "seasonal_naive_52" and res["blend"] == {}
    assert table["diagnostic: svd_seasonal + oracle per-series level"] < table.iloc[1]
    with pytest.raises(ValueError, match="30 fit weeks"):  # 30 fit weeks cannot hold a year plus a window
        choose_on_inner(y[:, :69], holiday[:69], series, weeks[:69], feats, with_lightgbm=False)


def test_oracle_level_is_the_median_error_per_series():
    actual = np.array([[1.0, 2.0, 9.0], [np.nan, np.nan, np.nan], [5.0, np.nan, 7.0]])
    pred = np.zeros((3, 3))
    np.testing.assert_array_equal(oracle_level(actual, pred), [2.0, 0.0, 6.0])
