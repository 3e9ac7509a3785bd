"""Predictive quantiles for count demand from a negative binomial around the point forecast."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

__all__ = [
    "negbin_quantiles",
    "negbin_cdf_bounds",
    "share_below_quantile",
    "interval_coverage_negbin",
    "estimate_dispersion",
    "level_variance",
    "shrink_to_median",
    "quantile_column",
    "calibrate_levels",
]


def quantile_column(q: float, *, prefix: str = "yhat_q") -> str:
    """Column name of quantile ``q``: ``prefix`` plus the two-digit percentage.

    Args:
        q: Quantile level in ``(0, 1)`` that is a whole percentage (0.1, 0.95, ...).
        prefix: Name prefix.

    Returns:
        For example ``"yhat_q10"`` for 0.1 and ``"yhat_q05"`` for 0.05.

    Raises:
        ValueError: If ``q`` is outside ``(0, 1)`` or not a whole percentage, which
            two digits could not name unambiguously.
    """
    pct = round(float(q) * 100, 6)
    if not 0 < pct < 100 or pct != int(pct):
        raise ValueError(f"quantile {q!r} must be a whole percentage strictly between 0 and 1")
    return f"{prefix}{int(pct):02d}"


def _check_levels(qs: Sequence[float]) -> np.ndarray:
    levels = np.asarray(list(qs), dtype=np.float64)
    if levels.ndim != 1 or not levels.size or not np.all((levels > 0) & (levels < 1)):
        raise ValueError(f"quantile levels must lie strictly between 0 and 1, got {list(qs)!r}")
    return levels


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Flat point forecasts repeat one (mean, dispersion) pair over the whole horizon, so
    # evaluating the ppf once per distinct pair is ~horizon times cheaper than per row.
    codes_a, uniq_a = pd.factorize(a, use_na_sentinel=False)
    codes_b, uniq_b = pd.factorize(b, use_na_sentinel=False)
    combined = codes_a.astype(np.int64) * len(uniq_b) + codes_b
    # hashing, not sorting: the order of the distinct pairs does not matter
    inverse, pairs = pd.factorize(combined)
    return uniq_a[pairs // len(uniq_b)], uniq_b[pairs % len(uniq_b)], inverse


def negbin_quantiles(
    mean: np.ndarray,
    dispersion: np.ndarray,
    qs: Sequence[float],
) -> dict[float, np.ndarray]:
    """Quantiles of a negative binomial with the given mean and dispersion.

    The variance is ``mean + dispersion * mean**2``; a dispersion of zero or less gives a
    Poisson. Negative means are treated as zero, NaN means give NaN quantiles.

    Args:
        mean: Predicted mean per row.
        dispersion: Dispersion per row (broadcast against ``mean``).
        qs: Quantile levels strictly between 0 and 1.

    Returns:
        Mapping from each level to an array of integer-valued floats shaped like ``mean``.
    """
    levels = _check_levels(qs)
    mu = np.clip(np.asarray(mean, dtype=np.float64), 0.0, None)
    disp = np.broadcast_to(np.asarray(dispersion, dtype=np.float64), mu.shape)
    flat_mu, flat_disp = mu.ravel(), np.nan_to_num(disp.ravel(), nan=0.0)
    uniq_mu, uniq_disp, inverse = _unique_pairs(flat_mu, flat_disp)
    values = _ppf(levels, uniq_mu, uniq_disp)
    return {float(q): values[i][inverse].reshape(mu.shape) for i, q in enumerate(levels)}


# Counts up to this are summed from the pmf recurrence; larger ones go to the incomplete beta.
_RECURRENCE_MAX_K = 40


def _cdf(k: np.ndarray, mu: np.ndarray, disp: np.ndarray) -> np.ndarray:
    """``P(X <= k)`` for a negative binomial (Poisson where ``disp <= 0``).

    Daily item demand is mostly 0..a few units, so small ``k`` sum the pmf by its recurrence
    (a few array operations per unit of ``k``, far cheaper than ``betainc`` per value); larger
    ``k`` use the regularised incomplete beta / gamma functions that scipy's distributions
    wrap, without their per-call argument checks and broadcasting.
    """
    k = np.floor(k)
    out = np.zeros(np.shape(k))
    ok = k >= 0
    small = ok & (k <= _RECURRENCE_MAX_K)
    if small.all():
        return _cdf_by_recurrence(k, mu, disp)
    out[small] = _cdf_by_recurrence(k[small], mu[small], disp[small])
    large = ok & ~small
    pois = large & (disp <= 0)
    nb = large & ~(disp <= 0)
    out[pois] = special.pdtr(k[pois], mu[pois])
    n = 1.0 / disp[nb]
    out[nb] = special.betainc(n, k[nb] + 1.0, n / (n + mu[nb]))
    return out


def _cdf_by_recurrence(k: np.ndarray, mu: np.ndarray, disp: np.ndarray) -> np.ndarray:
    """Sum of ``pmf(0..k)``: ``pmf(0) = (1 + d mu)^(-1/d)`` and ``pmf(j+1) = pmf(j) (a j + b) / (j + 1)``
    with ``a = d mu / (1 + d mu)``, ``b = mu / (1 + d mu)`` (``a = 0, b = mu``: Poisson at ``d <= 0``)."""
    return _recurrence(k, mu, disp)[0]


def _recurrence(k: np.ndarray, mu: np.ndarray, disp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(P(X <= k), P(X = k))`` by the pmf recurrence of :func:`_cdf_by_recurrence`."""
    if not k.size:
        return np.zeros(0), np.zeros(0)
    # rows sorted by k, largest first: the rows still summing at step j are a prefix
    # (a radix sort: k is a small integer here)
    kk = k.astype(np.int64)
    order = np.argsort(-kk.astype(np.int16), kind="stable")
    # rows with k > j, for every step j: one histogram instead of a search per step
    still = len(kk) - np.cumsum(np.bincount(kk))
    mu, dm = mu[order], np.clip(disp[order], 0.0, None) * mu[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        # log1p(dm)/d -> mu as d -> 0 (Poisson)
        log_p0 = -np.where(dm > 0, mu * np.log1p(dm) / np.where(dm > 0, dm, 1.0), mu)
    # the step factors only for the rows that take a step (most counts are 0)
    moving = int(still[0]) if len(still) > 1 else 0
    aa = dm[:moving] / (1.0 + dm[:moving])
    bb = mu[:moving] / (1.0 + dm[:moving])
    pmf = np.exp(log_p0)
    cdf, last = pmf.copy(), pmf.copy()
    for j in range(len(still) - 1):
        active = int(still[j])
        pmf = pmf[:active] * (aa[:active] * j + bb[:active]) / (j + 1)
        cdf[:active] += pmf
        last[:active] = pmf
    out, out_pmf = np.empty_like(cdf), np.empty_like(cdf)
    out[order], out_pmf[order] = np.minimum(cdf, 1.0), last
    return out, out_pmf


def _cdf_bounds(k: np.ndarray, mu: np.ndarray, disp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(P(X <= k - 1), P(X <= k))`` for counts ``0 <= k <= _RECURRENCE_MAX_K``, from one pass of the recurrence."""
    upper, pmf = _recurrence(np.floor(k), mu, disp)
    return np.maximum(upper - pmf, 0.0), upper


def _ppf(levels: np.ndarray, mu: np.ndarray, disp: np.ndarray) -> np.ndarray:
    """Smallest integer ``k`` with ``F(k) >= q`` per level and (mean, dispersion) pair.

    Starts from the normal approximation and walks to the exact answer with the CDF,
    vectorised over the pairs that still move (a few steps; scipy's ppf inverts each
    value numerically and costs several times more on 10^5-10^6 values).
    """
    out = np.full((levels.size, mu.size), np.nan)
    fin = np.isfinite(mu)
    m, d = mu[fin], np.clip(disp[fin], 0.0, None)
    var = m + d * m * m
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the guess only has to be finite and close: cap the skew of near-zero means
        skew = np.clip(np.nan_to_num((1.0 + 2.0 * d * m) / sd, posinf=10.0), 0.0, 10.0)
    for i, q in enumerate(levels):
        z = special.ndtri(q)
        # Cornish-Fisher: the normal quantile corrected for the skew of counts
        k = np.maximum(np.floor(m + sd * (z + (z * z - 1.0) * skew / 6.0)), 0.0)
        # up while F(k) < q, then down while F(k - 1) >= q: both end at the smallest k with F(k) >= q
        todo = np.flatnonzero(_cdf(k, m, d) < q)
        while todo.size:
            k[todo] += 1.0
            todo = todo[_cdf(k[todo], m[todo], d[todo]) < q]
        todo = np.flatnonzero(k > 0)
        todo = todo[_cdf(k[todo] - 1.0, m[todo], d[todo]) >= q]
        while todo.size:
            k[todo] -= 1.0
            todo = todo[(k[todo] > 0)]
            todo = todo[_cdf(k[todo] - 1.0, m[todo], d[todo]) >= q]
        out[i, fin] = k
    return out


def negbin_cdf_bounds(y: np.ndarray, mean: np.ndarray, dispersion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``F(y - 1)`` and ``F(y)`` of each count under its negative binomial (Poisson at dispersion <= 0).

    Scoring quantiles needs only these: ``y <= Q(q)`` exactly when ``F(y - 1) < q``, and
    ``y >= Q(q)`` exactly when ``F(y) >= q``, with ``Q`` the quantile function of a
    discrete distribution; two closed-form CDF calls replace a numeric inversion per level.

    Args:
        y: Counts.
        mean: Predicted means (negative treated as zero).
        dispersion: Dispersions, broadcast against ``mean``.

    Returns:
        ``(lower, upper)`` shaped like ``y``.
    """
    yy = np.asarray(y, dtype=np.float64)
    mu = np.clip(np.asarray(mean, dtype=np.float64), 0.0, None)
    disp = np.nan_to_num(np.broadcast_to(np.asarray(dispersion, dtype=np.float64), mu.shape))
    yy, mu, disp = np.broadcast_arrays(yy, mu, disp)
    fast = (yy >= 0) & (yy <= _RECURRENCE_MAX_K)
    if fast.all():
        return _cdf_bounds(yy, mu, disp)
    lower, upper = np.empty(yy.shape), np.empty(yy.shape)
    lower[fast], upper[fast] = _cdf_bounds(yy[fast], mu[fast], disp[fast])
    rest = ~fast
    lower[rest], upper[rest] = _cdf(yy[rest] - 1.0, mu[rest], disp[rest]), _cdf(yy[rest], mu[rest], disp[rest])
    return lower, upper


def share_below_quantile(y: np.ndarray, mean: np.ndarray, dispersion: np.ndarray,
                         qs: Sequence[float]) -> dict[float, float]:
    """Share of counts at or below their negative-binomial ``q`` quantile, per level.

    Args:
        y: Counts.
        mean: Predicted means.
        dispersion: Dispersions, broadcast against ``mean``.
        qs: Levels.

    Returns:
        Level -> share (NaN when ``y`` is empty).
    """
    levels = _check_levels(qs)
    if not np.size(y):
        return {float(q): float("nan") for q in levels}
    lower, _ = negbin_cdf_bounds(y, mean, dispersion)
    return {float(q): float(np.mean(lower < q)) for q in levels}


def interval_coverage_negbin(y: np.ndarray, mean: np.ndarray, dispersion: np.ndarray,
                             interval: tuple[float, float]) -> float:
    """Share of counts inside their closed ``[Q(lo), Q(hi)]`` negative-binomial interval.

    Args:
        y: Counts.
        mean: Predicted means.
        dispersion: Dispersions, broadcast against ``mean``.
        interval: Lower and upper levels.

    Returns:
        The coverage (NaN when ``y`` is empty).
    """
    lo, hi = _check_levels(interval)
    if not np.size(y):
        return float("nan")
    lower, upper = negbin_cdf_bounds(y, mean, dispersion)
    return float(np.mean((upper >= lo) & (lower < hi)))


def estimate_dispersion(
    history: pd.DataFrame,
    *,
    id_col: str | Sequence[str] = "unique_id",
    target_col: str = "y",
    min_obs: int = 14,
    prior_obs: float = 14.0,
) -> pd.Series:
    """Per-series negative-binomial dispersion by the method of moments.

    The raw estimate ``(var - mean) / mean**2`` (clipped at 0) is shrunk towards the
    pooled value (median raw estimate over series with enough data) with weight
    ``n / (n + prior_obs)``, because 2-4 weeks of intermittent sales give a very noisy
    variance. Series with a zero mean or fewer than ``min_obs`` observations get the
    pooled value outright.

    Args:
        history: Training data in long format.
        id_col: Series identifier column(s).
        target_col: Demand column.
        min_obs: Minimum observations for a series' own estimate to be used.
        prior_obs: Pseudo-observations given to the pooled value; 0 disables shrinkage.

    Returns:
        Non-negative dispersion per series, indexed by the id column(s).
    """
    keys = [id_col] if isinstance(id_col, str) else list(id_col)
    stats_ = history.groupby(keys, sort=True)[target_col].agg(["mean", "var", "count"])
    m = stats_["mean"].to_numpy(dtype=np.float64)
    n = stats_["count"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.clip((stats_["var"].to_numpy(dtype=np.float64) - m) / m**2, 0.0, None)
    own = (n >= min_obs) & (m > 0) & np.isfinite(raw)
    return pd.Series(shrink_to_median(raw, n, own, prior_obs=prior_obs), index=stats_.index, name="dispersion")


def shrink_to_median(raw: np.ndarray, n: np.ndarray, own: np.ndarray, *, prior_obs: float) -> np.ndarray:
    """Per-series estimates shrunk towards their median: ``w raw + (1 - w) median`` with ``w = n / (n + prior_obs)``.

    Args:
        raw: The series' own estimates.
        n: Observations behind each.
        own: Which series have an estimate of their own (the median is over those); the others
            get the median outright (0 when no series has one).
        prior_obs: Pseudo-observations of the median; 0 keeps the own estimates.

    Returns:
        The shrunk estimates.
    """
    pooled = float(np.median(raw[own])) if own.any() else 0.0
    weight = n / (n + prior_obs) if prior_obs > 0 else np.ones_like(n, dtype=np.float64)
    return np.where(own, weight * np.where(own, raw, 0.0) + (1 - weight) * pooled, pooled)


def level_variance(
    history: pd.DataFrame,
    *,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    days: int = 28,
    season: int = 7,
    prior_obs: float = 7.0,
) -> pd.Series:
    """Daily demand variance per series for planning: ``m + d m^2`` at the series' recent mean level.

    ``m`` is the mean demand of the last ``days`` days; ``d`` a negative-binomial dispersion from
    the differences between a day and the same weekday a season earlier over those days (their
    variance is twice a day's: ``(sum r^2 / 2 - sum m) / sum m^2`` with ``m`` the mean of each
    pair), clipped at 0 and shrunk towards the median of the series with ``n / (n + prior_obs)``.

    Unlike the spread of the quantiles around a day's point forecast, this variance does not grow
    with the noise in the forecast's level: a series whose last week ran high gets a high seasonal
    naive mean, and quantiles around that mean a wider spread as well, so a plan read off them
    stocks twice for the same noise. On the weekly origins of the two years before the held-out
    windows (280 M5 series and the bakery, cut to 14 or 28 days of history, planned from seasonal
    naive over 14 days) this variance needed 0.91-1.00x the stock of seasonal-naive base stock at
    the same fill, the quantiles' spread 0.98-1.35x (``python -m benchmarks.short_spread``; the
    product's own replay on validation origins: ``python -m benchmarks.frontier_validation``).

    Args:
        history: ``id_col, time_col, target_col``, one row per series-day, no gaps.
        id_col: Series column.
        time_col: Date column.
        target_col: Demand column.
        days: Days at the end of each series the level and dispersion use.
        season: Season length of the differences.
        prior_obs: Pseudo-observations of the pooled dispersion.

    Returns:
        Variance per series (index ``id_col``, sorted); 0 for a series without demand.
    """
    recent = history.loc[(history[time_col] > history[time_col].max() - pd.Timedelta(days=int(days))).to_numpy(),
                         [id_col, time_col, target_col]]
    codes, ids = pd.factorize(recent[id_col], sort=True)
    order = np.lexsort((recent[time_col].to_numpy(), codes))
    codes, y = codes[order], recent[target_col].to_numpy(dtype=np.float64)[order]
    # with no gaps, the same weekday a season earlier is ``season`` rows back in the same series
    paired = np.zeros(y.size, dtype=bool)
    paired[season:] = codes[season:] == codes[:-season]
    prev = np.zeros_like(y)
    prev[season:] = y[:-season]
    pair_mean = np.where(paired, (y + prev) / 2, 0.0)
    sums = lambda w: np.bincount(codes, weights=w, minlength=len(ids))  # noqa: E731
    n, r2 = sums(paired.astype(np.float64)), sums(np.where(paired, (y - prev) ** 2 / 2, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.clip((r2 - sums(pair_mean)) / sums(pair_mean**2), 0.0, None)
    disp = shrink_to_median(raw, n, np.isfinite(raw) & (n > 0), prior_obs=prior_obs)
    level = sums(y) / np.bincount(codes, minlength=len(ids))
    return pd.Series(level + disp * level**2, index=pd.Index(ids, name=id_col), name="variance")


def calibrate_levels(
    y: np.ndarray,
    mean: np.ndarray,
    dispersion: np.ndarray,
    qs: Sequence[float],
    *,
    seed: int = 0,
) -> dict[float, float]:
    """Recalibrate quantile levels on held-out data (split-conformal quantile recalibration).

    Computes the randomised probability integral transform ``u = F(y)`` of each
    held-out actual under its negative binomial (randomised between ``F(y-1)`` and
    ``F(y)`` because counts are discrete). If the model were calibrated, ``u`` would
    be uniform; the level to ask the model for, so that a share ``q`` of actuals falls
    below the quantile, is the empirical ``q``-quantile of ``u`` (Kuleshov et al., 2018).

    Args:
        y: Held-out actuals.
        mean: Their predicted means.
        dispersion: Their dispersions (broadcast against ``mean``).
        qs: Nominal levels.
        seed: Seed of the randomisation.

    Returns:
        Nominal level -> level to evaluate, clipped to ``[0.005, 0.995]``.
    """
    levels = _check_levels(qs)
    yy = np.asarray(y, dtype=np.float64).ravel()
    if not yy.size:
        return {float(q): float(q) for q in levels}
    mu = np.clip(np.asarray(mean, dtype=np.float64).ravel(), 1e-9, None)
    disp = np.broadcast_to(np.asarray(dispersion, dtype=np.float64), np.shape(mean)).ravel()
    lower, upper = negbin_cdf_bounds(yy, mu, disp)
    u = lower + np.random.default_rng(seed).random(yy.size) * (upper - lower)
    return {float(q): float(np.clip(np.quantile(u, q), 0.005, 0.995)) for q in levels}
