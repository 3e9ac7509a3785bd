"""Calibration helpers: the mix weights of stand-ins and weighted coverage levels (hand-computed)."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.calibration import coverage_levels, mix_weights
from forecasting.quantiles import negbin_cdf_bounds


def test_mix_weights_give_the_pool_the_targets_mix():
    # bins of the default edges: 0.1 -> [0, 0.2), 0.5 -> [0.4, 0.6), 0.7 -> [0.6, 0.8)
    pool = np.array([0.1, 0.1, 0.5, 0.7])
    target = np.array([0.1, 0.5, 0.5, 0.5])
    # target shares 1/4 and 3/4, pool shares 1/2, 1/4, 1/4: weights 0.5, 3 and 0 (the target has none at 0.7)
    assert mix_weights(pool, target).tolist() == [0.5, 0.5, 3.0, 0.0]
    assert mix_weights(pool, np.array([])).tolist() == [1.0, 1.0, 1.0, 1.0]
    # a value on an edge falls in the bin above it
    assert mix_weights(np.array([0.2, 0.19]), np.array([0.2])).tolist() == [2.0, 0.0]


def _rows(seed: int = 3, n: int = 4000):
    rng = np.random.default_rng(seed)
    mu = rng.gamma(2.0, 3.0, n)
    y = rng.poisson(mu * rng.gamma(2.0, 0.5, n)).astype(float)
    return y, mu, np.full(n, 0.3)


def test_weighted_levels_count_each_row_by_its_weight():
    y, mu, disp = _rows()
    qs = (0.1, 0.5, 0.9)
    # equal weights are the unweighted levels
    assert coverage_levels(y, mu, disp, qs, weights=np.ones(y.size)) == coverage_levels(y, mu, disp, qs)
    # weight 0 leaves a row out, weight 2 counts it twice
    w = np.where(np.arange(y.size) % 3 == 0, 0.0, np.where(np.arange(y.size) % 3 == 1, 2.0, 1.0))
    keep = w > 0
    twice = np.repeat(np.flatnonzero(keep), w[keep].astype(int))
    assert coverage_levels(y, mu, disp, qs, weights=w) == \
        coverage_levels(y[twice], mu[twice], disp[twice], qs, weights=np.ones(twice.size))


def test_weighted_lower_level_puts_the_weighted_share_below_q10():
    y, mu, disp = _rows(seed=5)
    w = np.where(mu > 6.0, 3.0, 1.0)
    level = coverage_levels(y, mu, disp, (0.1,), weights=w)[0.1]
    _, upper = negbin_cdf_bounds(y, mu, disp)  # y < Q(l) exactly when F(y) < l
    share = w[upper < level].sum() / w.sum()
    assert share == pytest.approx(0.1, abs=0.005)


def test_weights_summing_to_zero_are_refused():
    y, mu, disp = _rows(n=10)
    with pytest.raises(ValueError, match="sum to zero"):
        coverage_levels(y, mu, disp, (0.1,), weights=np.zeros(10))
