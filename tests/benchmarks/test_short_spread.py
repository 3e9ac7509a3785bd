"""``benchmarks.short_spread``: the seasonal-naive spread, and the stock ratio at matched fill."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.short_spread import SERVICE_LEVELS, Z_GRID, _estimators, matched


def test_weekly_diff_is_the_variance_of_week_on_week_differences_per_day():
    # differences 1, -1, 1, -1, 1, -1, 1: sample variance 8/6 (mean 1/7); over a 14-day period x14
    hist = np.r_[[5.0] * 7, [6, 4, 6, 4, 6, 4, 6]][None, :]
    mean = np.ones((1, 14))
    err = np.array([1, -1, 1, -1, 1, -1, 1.0])
    assert _estimators([7.0])["weekly_diff"](hist, mean)[0] == pytest.approx(err.var(ddof=1) * 14)


def test_matched_reads_the_stock_at_the_reference_fill():
    fill = 0.5 + 0.1 * Z_GRID  # rises with z
    curves = {"weekly_diff": np.column_stack([fill, 100 * Z_GRID]),
              # the same fill for half the stock
              "half": np.column_stack([fill, 50 * Z_GRID]),
              # the same stock one z-step later: less fill for it, so more stock at matched fill
              "late": np.column_stack([0.5 + 0.1 * np.clip(Z_GRID - 0.5, 0, None), 100 * Z_GRID])}
    table = matched(curves)
    assert table["service_level"].tolist() == list(SERVICE_LEVELS)
    assert (table["weekly_diff"] == 1.0).all() and (table["half"] == 0.5).all()
    assert (table["late"] > 1.0).all()
