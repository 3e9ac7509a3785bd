"""Low-rank smoothing and level-adjusted multi-year seasonal forecasts for weekly panels.

The Walmart store-sales winners' recipe, vectorised: each department's store x week matrix
is replaced by its rank-``k`` SVD reconstruction (stores of one department share a few
seasonal shapes, so the discarded components are mostly week-to-week noise), then each
future week is forecast from the same week one and two years earlier, each moved to the
current level by a share of the change between the recent weeks and the same weeks that
year. All series are computed at once (numpy); the only loop is over the ~81 departments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np

_RATIO_CLIP = (0.5, 2.0)  # a level ratio outside this is a (re)opened or closed department, not a trend

__all__ = ["SeasonalParams", "svd_smooth", "seasonal_level_forecast", "grid_search"]


@dataclass(frozen=True)
class SeasonalParams:
    """Settings of :func:`seasonal_level_forecast` on :func:`svd_smooth` output.

    Attributes:
        rank: SVD rank per group (``None``: no smoothing).
        level_window: Weeks of the recent level compared with the same weeks a year earlier.
        level_weight: Share of that level change added to last year's value (0: plain seasonal).
        max_years: Past years averaged (each needs its week and its level window in the data).
        multiplicative: Level change as a ratio (clipped to 0.5..2) instead of a difference.
    """

    rank: int | None = 8
    level_window: int = 13
    level_weight: float = 0.5
    max_years: int = 2
    multiplicative: bool = False


def svd_smooth(y: np.ndarray, groups: np.ndarray, rank: int | None) -> np.ndarray:
    """Rank-``rank`` SVD reconstruction of each group's rows (e.g. the stores of one department).

    Missing weeks (NaN) count as zero sales, as in the competition's winning entry (a store
    without a department row sold nothing there). Groups with at most ``rank`` rows are
    returned unchanged (zero-filled): a full-rank reconstruction would only copy them.

    Args:
        y: Sales, (n_series, n_weeks), NaN where a series has no row.
        groups: Group label of each row, length ``n_series``.
        rank: Components kept per group; ``None`` only zero-fills.

    Returns:
        The smoothed matrix, same shape as ``y``, without NaN.
    """
    return _smooth_ranks(y, groups, [rank])[rank]


def _smooth_ranks(y: np.ndarray, groups: np.ndarray, ranks: Sequence[int | None]) -> dict[int | None, np.ndarray]:
    """:func:`svd_smooth` for several ranks from one SVD per group."""
    groups = np.asarray(groups)
    if groups.shape != (y.shape[0],):
        raise ValueError(f"groups has shape {groups.shape}, expected ({y.shape[0]},) (one label per row of y)")
    if any(r is not None and r < 1 for r in ranks):
        raise ValueError(f"ranks must be >= 1 or None, got {list(ranks)}")
    filled = np.nan_to_num(np.asarray(y, dtype=np.float64), nan=0.0)
    out = {r: filled.copy() for r in ranks}
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    for idx in np.split(order, bounds):  # one SVD per group (~81 departments), vectorised inside
        u, s, vt = np.linalg.svd(filled[idx], full_matrices=False)
        for r in ranks:
            if r is not None and len(idx) > r:
                out[r][idx] = (u[:, :r] * s[:r]) @ vt[:r]
    return out


def _ratio(num: np.ndarray, den: np.ndarray, *, floor: float = 1.0) -> np.ndarray:
    """``num / den`` clipped to 0.5..2; 1 where ``den`` is near zero (no level to compare with)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(np.abs(den) >= floor, num / den, 1.0)
    return np.clip(r, _RATIO_CLIP[0], _RATIO_CLIP[1])


def seasonal_level_forecast(y: np.ndarray, horizon: int, *, season: int = 52, level_window: int = 13,
                            level_weight: float = 0.5, max_years: int = 2,
                            multiplicative: bool = False) -> np.ndarray:
    """Average over past years of the same week, each moved towards the current level.

    Year 1: ``y[t - season] + level_weight * (mean(last level_window weeks) - mean(same weeks a
    year earlier))``. Year ``k > 1`` (used when ``y`` holds ``k`` full seasons): ``y[t - k*season]``
    first moved to year 1's level by the difference of the two years' full-season means (52 weeks
    each, a far steadier level than any short window), then adjusted like year 1. The forecast is the
    mean over the usable years; with one year it is the level-adjusted seasonal naive.

    Args:
        y: History without NaN (e.g. :func:`svd_smooth` output), (n_series, n_weeks).
        horizon: Weeks ahead (at most ``season``).
        season: Season length in weeks.
        level_window: Recent weeks that measure the level (``level_window + season <= n_weeks``).
        level_weight: Share of the level change applied (0 = plain seasonal naive or average).
        max_years: Most past years averaged.
        multiplicative: Levels compared as ratios (``y * (1 + level_weight * (ratio - 1))``, each
            ratio clipped to 0.5..2) instead of differences.

    Returns:
        Forecasts, (n_series, horizon).
    """
    n = y.shape[1]
    if np.isnan(y).any():
        raise ValueError("y holds NaN; smooth or zero-fill it first (svd_smooth)")
    if horizon > season or level_window + season > n or level_window < 1:
        raise ValueError(f"need horizon <= season ({horizon} <= {season}) and level_window + season <= "
                         f"n_weeks ({level_window} + {season} <= {n})")
    t = np.arange(n, n + horizon)
    recent = y[:, n - level_window:].mean(axis=1)
    then = y[:, n - level_window - season: n - season].mean(axis=1)
    year1 = y[:, n - season: n].mean(axis=1)
    total = y[:, t - season].copy()
    years = 1
    for k in range(2, max_years + 1):  # at most a couple of years
        if n - k * season < 0:
            break
        yeark = y[:, n - k * season: n - (k - 1) * season].mean(axis=1)
        past = y[:, t - k * season]
        total += past * _ratio(year1, yeark)[:, None] if multiplicative else past + (year1 - yeark)[:, None]
        years += 1
    if multiplicative:
        return total / years * (1.0 + level_weight * (_ratio(recent, then) - 1.0))[:, None]
    return total / years + (level_weight * (recent - then))[:, None]


def grid_search(y_train: np.ndarray, actual: np.ndarray, weights: np.ndarray, groups: np.ndarray, *,
                ranks: Sequence[int | None] = (None, 4, 6, 8, 10, 12, 15),
                level_windows: Sequence[int] = (4, 8, 13),
                level_weights: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
                multiplicative: Sequence[bool] = (False, True),
                max_years: int = 2) -> list[tuple[SeasonalParams, float]]:
    """Score every setting on one validation split by weighted MAE (the WMAE when weights are 5/1).

    Args:
        y_train: History (NaN allowed), (n_series, n_train).
        actual: Validation actuals, (n_series, horizon), NaN where not scored.
        weights: Weight per validation week (length ``horizon``) or per cell.
        groups: Group label per series for :func:`svd_smooth`.
        ranks: SVD ranks tried.
        level_windows: Level windows tried (those that do not fit the history are skipped).
        level_weights: Level weights tried.
        multiplicative: Level modes tried (difference, ratio).
        max_years: Past years averaged.

    Returns:
        ``(params, weighted MAE)`` for every setting, best first.
    """
    horizon = actual.shape[1]
    ok = np.isfinite(actual)
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), actual.shape)[ok]
    out = []
    for rank, smooth in _smooth_ranks(y_train, groups, ranks).items():
        for window, lw, mult in product(level_windows, level_weights, multiplicative):
            if window + 52 > y_train.shape[1] or (mult and lw == 0):  # weight 0 is the same in both modes
                continue
            pred = seasonal_level_forecast(smooth, horizon, level_window=window, level_weight=lw, max_years=max_years,
                                           multiplicative=mult)
            err = float(np.sum(w * np.abs(actual[ok] - pred[ok])) / np.sum(w))
            out.append((SeasonalParams(rank, window, lw, max_years, mult), err))
    if not out:
        raise ValueError(f"no level_window of {list(level_windows)} fits {y_train.shape[1]} weeks of history "
                         f"(level_window + 52 weeks needed)")
    return sorted(out, key=lambda r: r[1])
