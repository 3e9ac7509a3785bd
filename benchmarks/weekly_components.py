"""Diverse weekly-panel forecasts to average with the SVD seasonal model (Walmart weekly).

The Walmart store-sales winner (David Thaler) averaged several simple and STL-based models
fitted to each department's SVD-smoothed store x week matrix; a straight average of diverse
models beat each of them. This module holds the components we lacked, each computed for all
series at once:

* :func:`stl_ets_forecast`: STL seasonal part repeated from the last season plus AutoETS on
  the seasonally adjusted series (R's ``stlf``), statsforecast's ``MSTL`` in one batched call.
* :func:`product_forecast`: each store's level over the last season times its department's
  mean week profile of the same weeks a season earlier (rank one per department).
* :func:`trend_season_forecast`: least squares on a linear trend and week-of-season dummies
  (R's ``tslm(y ~ trend + season)``), one shared design matrix solved for every series together.
* :func:`correlated_smooth`: a second smoother, diverse from the SVD: each series standard-scaled
  and averaged with its ``k`` most correlated series of the same department (the winner's
  "standard-scaled stlf/ets with averaging of correlated stores" feeds it to STL + ETS).
* :func:`average_forecast`: weighted (default equal) mean of several forecasts.

Inputs are NaN-free matrices (series x weeks), e.g. :func:`~benchmarks.seasonal_svd.svd_smooth` output.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["product_forecast", "trend_season_forecast", "stl_ets_forecast", "correlated_smooth", "average_forecast"]


def _check(y: np.ndarray, horizon: int, season: int, min_weeks: int, name: str) -> None:
    if y.ndim != 2:
        raise ValueError(f"{name}: y must be (n_series, n_weeks), got shape {y.shape}")
    if np.isnan(y).any():
        raise ValueError(f"{name}: y holds {int(np.isnan(y).sum())} NaN cells; smooth or zero-fill it first "
                         f"(svd_smooth)")
    if not 1 <= horizon <= season:
        raise ValueError(f"{name}: horizon {horizon} must be within 1..season ({season})")
    if y.shape[1] < min_weeks:
        raise ValueError(f"{name}: needs at least {min_weeks} weeks of history, got {y.shape[1]}")


def product_forecast(y: np.ndarray, groups: np.ndarray, horizon: int, *, season: int = 52) -> np.ndarray:
    """Store level x department week profile.

    For series ``i`` of group ``g`` and future week ``n + h``: the mean over the group's series
    of week ``n + h - season``, times series ``i``'s mean over the last ``season`` weeks divided
    by the group's mean of those levels. A group whose level is zero forecasts zero.

    Args:
        y: History without NaN, (n_series, n_weeks), ``n_weeks >= season``.
        groups: Group label per series (e.g. the department).
        horizon: Weeks ahead (at most ``season``).
        season: Season length in weeks.

    Returns:
        Forecasts, (n_series, horizon).
    """
    _check(y, horizon, season, season, "product_forecast")
    groups = np.asarray(groups)
    if groups.shape != (y.shape[0],):
        raise ValueError(f"product_forecast: groups has shape {groups.shape}, expected ({y.shape[0]},)")
    n = y.shape[1]
    _, inv = np.unique(groups, return_inverse=True)
    count = np.bincount(inv).astype(np.float64)
    level = y[:, n - season:].mean(axis=1)
    profile = np.zeros((len(count), horizon))
    np.add.at(profile, inv, y[:, n - season: n - season + horizon])
    profile /= count[:, None]
    overall = (np.bincount(inv, weights=level) / count)[inv]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(overall != 0, level / overall, 0.0)
    return profile[inv] * share[:, None]


def trend_season_forecast(y: np.ndarray, horizon: int, *, season: int = 52) -> np.ndarray:
    """Least-squares linear trend plus one dummy per week of the season, extrapolated.

    All series share the design matrix, so one ``lstsq`` with a right-hand side per series
    fits them all. The trend is identified by the weeks seen in more than one season, so at
    least ``season + 2`` weeks are needed.

    Args:
        y: History without NaN, (n_series, n_weeks).
        horizon: Weeks ahead (at most ``season``).
        season: Season length in weeks.

    Returns:
        Forecasts, (n_series, horizon).
    """
    _check(y, horizon, season, season + 2, "trend_season_forecast")
    n = y.shape[1]
    t = np.arange(n + horizon)
    design = np.zeros((n + horizon, 1 + season))
    design[:, 0] = t / season  # trend per season keeps the columns on one scale
    design[t, 1 + t % season] = 1.0
    beta, *_ = np.linalg.lstsq(design[:n], y.T, rcond=None)
    return (design[n:] @ beta).T


def stl_ets_forecast(y: np.ndarray, horizon: int, *, season: int = 52, n_jobs: int = 1) -> np.ndarray:
    """STL decomposition, seasonal part repeated, AutoETS (no seasonality) on the adjusted series.

    statsforecast's ``MSTL(season_length=season, trend_forecaster=AutoETS(model="ZZN"))`` fitted
    to every row in one ``StatsForecast.forecast`` call. With fewer than two seasons of history
    STL sees each week of the season once or twice, so its seasonal part is close to the
    detrended last season: the forecast is then a level-adjusted seasonal naive.

    Args:
        y: History without NaN, (n_series, n_weeks), more than ``season`` weeks.
        horizon: Weeks ahead (at most ``season``).
        season: Season length in weeks.
        n_jobs: Processes statsforecast uses.

    Returns:
        Forecasts, (n_series, horizon).
    """
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS

    _check(y, horizon, season, season + 1, "stl_ets_forecast")
    n_series, n = y.shape
    frame = pd.DataFrame({"unique_id": np.repeat(np.arange(n_series), n), "ds": np.tile(np.arange(n), n_series),
                          "y": y.ravel()})
    model = MSTL(season_length=season, trend_forecaster=AutoETS(model="ZZN"), alias="stl_ets")
    fc = StatsForecast(models=[model], freq=1, n_jobs=n_jobs).forecast(df=frame, h=horizon)
    fc = fc.sort_values(["unique_id", "ds"])
    if len(fc) != n_series * horizon:
        raise ValueError(f"stl_ets_forecast: statsforecast returned {len(fc)} rows, expected {n_series * horizon}")
    return fc["stl_ets"].to_numpy(dtype=np.float64).reshape(n_series, horizon)


def correlated_smooth(y: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """Average each series with its ``k - 1`` most correlated series of its group, on the standard scale.

    Each row is standardised (its mean and standard deviation over the weeks), the group's
    correlation matrix ranks the neighbours (the row itself always first), the neighbours'
    standardised rows are averaged and the row's own mean and deviation are put back. So a
    store keeps its level and spread and borrows the shape of the stores that move like it.
    Constant rows are returned unchanged. Missing weeks count as zero sales, as in
    :func:`~benchmarks.seasonal_svd.svd_smooth`.

    Args:
        y: Sales, (n_series, n_weeks), NaN where a series has no row.
        groups: Group label of each row (e.g. the department).
        k: Series averaged per row, itself included (capped at the group size).

    Returns:
        The smoothed matrix, same shape as ``y``, without NaN.
    """
    groups = np.asarray(groups)
    if groups.shape != (y.shape[0],):
        raise ValueError(f"correlated_smooth: groups has shape {groups.shape}, expected ({y.shape[0]},)")
    if k < 1:
        raise ValueError(f"correlated_smooth: k must be >= 1, got {k}")
    x = np.nan_to_num(np.asarray(y, dtype=np.float64), nan=0.0)
    mean = x.mean(axis=1, keepdims=True)
    sd = x.std(axis=1, keepdims=True)
    flat = (sd == 0)[:, 0]
    z = (x - mean) / np.where(sd == 0, 1.0, sd)
    out = z.copy()
    order = np.argsort(groups, kind="stable")
    for idx in np.split(order, np.flatnonzero(np.diff(groups[order])) + 1):  # ~81 departments
        corr = z[idx] @ z[idx].T
        np.fill_diagonal(corr, np.inf)  # the series itself first, whatever ties follow
        near = np.argsort(-corr, axis=1, kind="stable")[:, : min(k, len(idx))]
        out[idx] = z[idx][near].mean(axis=1)
    smooth = out * sd + mean
    smooth[flat] = x[flat]
    return smooth


def average_forecast(preds: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Weighted mean of forecasts of one shape (equal weights by default).

    Args:
        preds: Name -> forecast matrix.
        weights: Name -> non-negative weight (normalised to sum 1); every name of ``preds`` needed.

    Returns:
        The averaged forecast.
    """
    if not preds:
        raise ValueError("average_forecast: no forecasts to average")
    shapes = {k: v.shape for k, v in preds.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"average_forecast: forecasts differ in shape: {shapes}")
    w = {k: 1.0 for k in preds} if weights is None else dict(weights)
    if set(w) != set(preds) or any(v < 0 for v in w.values()) or sum(w.values()) <= 0:
        raise ValueError(f"average_forecast: weights {w} must be non-negative, not all zero, one per forecast "
                         f"{sorted(preds)}")
    total = sum(w.values())
    return sum(w[k] / total * np.asarray(v, dtype=np.float64) for k, v in preds.items())
