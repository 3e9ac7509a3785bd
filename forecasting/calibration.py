"""Quantile calibration per history-length group on an earlier window.

The forecaster's quantiles are negative-binomial quantiles around its mean. Which level
of that distribution to ask for is learned on a calibration window that ends at the
forecast origin (the model refitted before it, as a run at that earlier origin would
have been): for an upper level ``q`` the level whose quantile the calibration actuals
fall at or below a share ``q`` of the time, for a lower level the one they fall
strictly below a share ``q`` of the time. So the ``[q10, q90]`` interval covers 80 % and
``q90`` covers 90 % of that window, counted exactly as a planner counts them
(``y <= q90``, ``q10 <= y <= q90``) on discrete demand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from forecasting.quantiles import negbin_cdf_bounds, shrink_to_median

__all__ = ["GROUPS", "history_group", "seasonal_dispersion", "coverage_levels", "mix_weights", "coverage_by_group"]

GROUPS: tuple[str, ...] = ("long", "short", "new")


def history_group(days: np.ndarray, *, new_days: int = 28, long_days: int = 366) -> np.ndarray:
    """History-length group of each series: ``new`` (< ``new_days``), ``long`` (>= ``long_days``), else ``short``.

    Args:
        days: Days of history per series at the origin.
        new_days: Below this a series is new.
        long_days: From this a series is long (a year of lags is available).

    Returns:
        Array of group names.
    """
    d = np.asarray(days)
    return np.where(d < new_days, "new", np.where(d >= long_days, "long", "short")).astype(object)


def seasonal_dispersion(
    df: pd.DataFrame,
    *,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    days: int = 91,
    season: int = 7,
    window: int = 4,
    prior_obs: float = 28.0,
    closed_mean: float | None = 7.0,
) -> pd.Series:
    """Per-series negative-binomial dispersion of the demand around its weekday mean.

    The reference of each day is the mean of the same weekday over the ``window`` weeks
    before it (as many as exist), so the weekly pattern (closed Sundays, busy Saturdays)
    is not counted as noise the way a plain variance counts it. With ``r = y - m`` over the
    last ``days`` days, the estimate is ``(sum r^2 - sum m) / sum m^2`` (the variance
    ``m + d m^2`` solved for ``d``), clipped at 0 and shrunk towards the median of the
    series with ``n / (n + prior_obs)``.

    A zero on a day whose reference is at least ``closed_mean`` is a closed store or an
    empty shelf, not demand noise (a Poisson day with mean 7 is zero once in a thousand):
    it is left out of the estimate and of the later days' references. Counted as noise, the
    bakery's three chain-wide closures at Christmas lifted the median dispersion estimated on
    the 91 days before 2019-03-05 to 0.113 (0.083 without them; 0.087 / 0.067 on 2018-11-06),
    and every interval forecast from it widened with it.

    Args:
        df: ``id_col, time_col, target_col``, one row per series-day, no gaps.
        id_col: Series column.
        time_col: Date column.
        target_col: Demand column.
        days: Days at the end of each series the estimate uses.
        season: Season length.
        window: Seasons averaged for the reference.
        prior_obs: Pseudo-observations of the pooled value.
        closed_mean: Reference from which a zero counts as a closure (None: every day counts).

    Returns:
        Dispersion per series (index ``id_col``, sorted).
    """
    d = df[[id_col, time_col, target_col]]
    # a day's reference reads the ``window`` seasons before it, and whether those were closures
    # reads the seasons before them: older days cannot change the estimate
    d = d[(d[time_col] > d[time_col].max() - pd.Timedelta(days=int(days) + 2 * season * window)).to_numpy()]
    d = d.sort_values([id_col, time_col], kind="stable")
    y = d[target_col].to_numpy(dtype=np.float64)
    m = _weekday_reference(d[id_col], y, season=season, window=window)
    closed = np.zeros(y.size, dtype=bool)
    if closed_mean is not None:
        closed = (y == 0) & (m >= closed_mean)
        if closed.any():
            y = np.where(closed, np.nan, y)
            m = _weekday_reference(d[id_col], y, season=season, window=window)
    recent = ((d[time_col] > d[time_col].max() - pd.Timedelta(days=int(days))).to_numpy() & np.isfinite(m)
              & ~closed)
    keys = d[id_col].to_numpy()[recent]
    r2, mm = (y[recent] - m[recent]) ** 2, m[recent]
    agg = pd.DataFrame({"k": keys, "r2": r2, "m": mm, "m2": mm * mm}).groupby("k", sort=True).agg(
        r2=("r2", "sum"), m=("m", "sum"), m2=("m2", "sum"), n=("m", "size"))
    ids = pd.Index(np.unique(df[id_col].to_numpy()), name=id_col)
    agg = agg.reindex(ids)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.clip((agg["r2"] - agg["m"]) / agg["m2"], 0.0, None).to_numpy()
    n = agg["n"].fillna(0).to_numpy(dtype=np.float64)
    out = shrink_to_median(raw, n, np.isfinite(raw) & (n > 0), prior_obs=prior_obs)
    return pd.Series(out, index=ids, name="dispersion")


def _weekday_reference(ids: pd.Series, y: np.ndarray, *, season: int, window: int) -> np.ndarray:
    """Mean of the same weekday over the ``window`` seasons before each day (missing days skipped)."""
    g = pd.Series(y, index=ids.index).groupby(ids.to_numpy(), sort=False)
    lagged = np.column_stack([g.shift(season * k).to_numpy(dtype=np.float64) for k in range(1, window + 1)])
    seen = np.isfinite(lagged)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen, lagged, 0.0).sum(axis=1) / seen.sum(axis=1)


def coverage_levels(y: np.ndarray, mean: np.ndarray, dispersion: np.ndarray, qs: Sequence[float], *,
                    clip: tuple[float, float] = (0.005, 0.995),
                    weights: np.ndarray | None = None) -> dict[float, float]:
    """Negative-binomial levels that give each nominal level its coverage on held-out data.

    With ``F`` a row's CDF, ``y <= Q(l)`` exactly when ``F(y - 1) < l``, and ``y < Q(l)``
    exactly when ``F(y) < l``. Upper levels (``q >= 0.5``) take the ``q``-quantile of
    ``F(y - 1)`` so that a share ``q`` of actuals is at or below the quantile; lower levels
    take the ``q``-quantile of ``F(y)`` so that a share ``q`` is strictly below it.

    Args:
        y: Held-out actuals.
        mean: Their predicted means.
        dispersion: Their dispersions (broadcast against ``mean``).
        qs: Nominal levels in (0, 1).
        clip: Bounds of the returned levels.
        weights: Non-negative weight of each row in the shares (None: every row counts once),
            e.g. to make held-out rows of other series stand for a group with another mix.

    Returns:
        Nominal level -> level to ask the negative binomial for (nominal when ``y`` is empty).
    """
    yy = np.asarray(y, dtype=np.float64).ravel()
    levels = [float(q) for q in qs]
    if not yy.size:
        return {q: q for q in levels}
    mu = np.asarray(mean, dtype=np.float64).ravel()
    disp = np.broadcast_to(np.asarray(dispersion, dtype=np.float64), np.shape(mean)).ravel()
    lower, upper = negbin_cdf_bounds(yy, mu, disp)
    if weights is not None:
        w = np.broadcast_to(np.asarray(weights, dtype=np.float64), yy.shape)
        return {q: _weighted_level(lower if q >= 0.5 else upper, w, q, clip) for q in levels}
    out = {}
    for q in levels:
        pit = np.sort(lower if q >= 0.5 else upper)
        i = int(np.clip(np.searchsorted(pit, np.quantile(pit, q)), 0, pit.size - 1))
        out[q] = _level_near(pit, np.arange(pit.size + 1) / pit.size, i, q, clip)
    return out


def mix_weights(pool: np.ndarray, target: np.ndarray, *, edges: Sequence[float] = (0.2, 0.4, 0.6, 0.8)) -> np.ndarray:
    """Weights that give ``pool`` the mix of ``target`` over the bins of ``edges``.

    Each pool value weighs ``share of target in its bin / share of pool in its bin``; a bin the
    target lacks weighs 0, and target mass in a bin the pool lacks is left out.

    Args:
        pool: A value per pool row (e.g. the share of zero-demand days of the row's series).
        target: The same value per member of the group the pool stands for.
        edges: Inner bin edges (a value equal to an edge falls in the bin above it).

    Returns:
        A weight per pool row (all ones when ``target`` is empty).
    """
    pool_bin = np.digitize(np.asarray(pool, dtype=np.float64), edges)
    target_bin = np.digitize(np.asarray(target, dtype=np.float64), edges)
    if not target_bin.size or not pool_bin.size:
        return np.ones(pool_bin.size)
    n_bins = len(edges) + 1
    pool_share = np.bincount(pool_bin, minlength=n_bins) / pool_bin.size
    target_share = np.bincount(target_bin, minlength=n_bins) / target_bin.size
    ratio = np.divide(target_share, pool_share, out=np.zeros(n_bins), where=pool_share > 0)
    return ratio[pool_bin]


def _weighted_level(pit: np.ndarray, weights: np.ndarray, q: float, clip: tuple[float, float]) -> float:
    """The level ``l`` whose weighted share of ``pit < l`` is closest to ``q`` (see :func:`coverage_levels`)."""
    order = np.argsort(pit, kind="stable")
    pit, w = pit[order], weights[order]
    total = w.sum()
    if not total > 0:
        raise ValueError("coverage_levels: the weights sum to zero")
    below = np.concatenate([[0.0], np.cumsum(w)]) / total  # below[k]: weighted share of the k smallest
    i = int(np.clip(np.searchsorted(below, q) - 1, 0, pit.size - 1))
    return _level_near(pit, below, i, q, clip)


def _level_near(pit: np.ndarray, below: np.ndarray, i: int, q: float, clip: tuple[float, float]) -> float:
    """Of the levels around ``pit[i]``, the one whose share ``below[#(pit < l)]`` is closest to ``q``.

    share(l) is a step function of the sorted ``pit``; ties of discrete demand make exact ``q``
    rare, so the steps just below and above the neighbours of ``i`` are the candidates.
    """
    near = pit[max(i - 1, 0):i + 2]
    cands = np.unique(np.concatenate([near, near + 1e-9]))
    shares = below[np.searchsorted(pit, cands, side="left")]
    return float(np.clip(cands[np.argmin(np.abs(shares - q))], *clip))


def coverage_by_group(y: np.ndarray, quantiles: Mapping[float, np.ndarray], groups: np.ndarray, *,
                      interval: tuple[float, float] = (0.1, 0.9)) -> dict[str, dict[str, float]]:
    """Share of actuals inside ``[q_lo, q_hi]`` and at or below ``q_hi`` per group.

    Args:
        y: Actuals (any shape).
        quantiles: Level -> quantile array shaped like ``y``.
        groups: Group of each row of ``y`` (first axis).
        interval: Lower and upper level.

    Returns:
        Group -> ``{"n", "interval", "upper"}`` (counts of cells, shares).
    """
    yy = np.asarray(y, dtype=np.float64)
    lo, hi = (np.asarray(quantiles[float(q)], dtype=np.float64) for q in interval)
    g = np.asarray(groups).reshape(yy.shape[0], *([1] * (yy.ndim - 1)))
    g = np.broadcast_to(g, yy.shape)
    ok = np.isfinite(yy) & np.isfinite(lo) & np.isfinite(hi)
    out = {}
    for name in dict.fromkeys(np.asarray(groups).tolist()):
        m = ok & (g == name)
        out[str(name)] = {
            "n": int(m.sum()),
            "interval": float(np.mean((yy[m] >= lo[m]) & (yy[m] <= hi[m]))) if m.any() else float("nan"),
            "upper": float(np.mean(yy[m] <= hi[m])) if m.any() else float("nan"),
        }
    return out
