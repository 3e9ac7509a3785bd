"""Vectorised point-forecast and interval metrics over long frames."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasting.frames import in_order, series_starts

__all__ = [
    "mae",
    "rmse",
    "bias",
    "mase",
    "wmae",
    "interval_coverage",
    "seasonal_scale",
    "per_model_metrics",
]

ArrayLike = np.ndarray | pd.Series | Sequence[float]


def _as_float(values: ArrayLike | float) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def mae(y: ArrayLike, yhat: ArrayLike) -> float:
    """Mean absolute error.

    Args:
        y: Actual values.
        yhat: Predicted values, same length as ``y``.

    Returns:
        ``mean(|y - yhat|)``; NaN for empty input.
    """
    err = _as_float(yhat) - _as_float(y)
    return float(np.mean(np.abs(err))) if err.size else float("nan")


def rmse(y: ArrayLike, yhat: ArrayLike) -> float:
    """Root mean squared error.

    Args:
        y: Actual values.
        yhat: Predicted values, same length as ``y``.

    Returns:
        ``sqrt(mean((y - yhat)^2))``; NaN for empty input.
    """
    err = _as_float(yhat) - _as_float(y)
    return float(np.sqrt(np.mean(err**2))) if err.size else float("nan")


def bias(y: ArrayLike, yhat: ArrayLike) -> float:
    """Mean signed error; positive means over-forecasting.

    Args:
        y: Actual values.
        yhat: Predicted values, same length as ``y``.

    Returns:
        ``mean(yhat - y)``; NaN for empty input.
    """
    err = _as_float(yhat) - _as_float(y)
    return float(np.mean(err)) if err.size else float("nan")


def mase(y: ArrayLike, yhat: ArrayLike, scale: ArrayLike | float) -> float:
    """Mean absolute scaled error.

    Rows whose scale is zero, negative or missing are left out: a series that never
    changed in training (often all zeros for intermittent demand) has no meaningful
    scale, and letting it divide by zero would make the metric infinite.

    Args:
        y: Actual values.
        yhat: Predicted values, same length as ``y``.
        scale: Per-row scale (the series' in-sample naive MAE) or one scalar.

    Returns:
        ``mean(|y - yhat| / scale)`` over rows with a positive scale. With the same
        number of rows per series this equals the mean of per-series MASE. NaN when no
        row has a usable scale.
    """
    abs_err = np.abs(_as_float(yhat) - _as_float(y))
    scale_arr = np.broadcast_to(_as_float(scale), abs_err.shape)
    ok = np.isfinite(scale_arr) & (scale_arr > 0)
    if not ok.any():
        return float("nan")
    return float(np.mean(abs_err[ok] / scale_arr[ok]))


def wmae(y: ArrayLike, yhat: ArrayLike, is_holiday: ArrayLike, *, holiday_weight: float = 5.0) -> float:
    """Weighted mean absolute error of the Walmart store-sales competition.

    Holiday weeks weigh ``holiday_weight`` (5 in the competition), other weeks 1:
    ``sum(w * |y - yhat|) / sum(w)``.

    Args:
        y: Actual values.
        yhat: Predicted values, same length as ``y``.
        is_holiday: Holiday-week flag per row.
        holiday_weight: Weight of a holiday week.

    Returns:
        The WMAE; NaN for empty input.
    """
    abs_err = np.abs(_as_float(yhat) - _as_float(y))
    if not abs_err.size:
        return float("nan")
    w = np.where(np.asarray(is_holiday, dtype=bool), float(holiday_weight), 1.0)
    return float(np.sum(w * abs_err) / np.sum(w))


def interval_coverage(y: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> float:
    """Share of actuals inside the closed interval ``[lo, hi]``.

    Args:
        y: Actual values.
        lo: Lower bounds, same length as ``y``.
        hi: Upper bounds, same length as ``y``.

    Returns:
        Fraction in ``[0, 1]``; NaN for empty input.
    """
    y_arr = _as_float(y)
    if not y_arr.size:
        return float("nan")
    inside = (y_arr >= _as_float(lo)) & (y_arr <= _as_float(hi))
    return float(np.mean(inside))


def seasonal_scale(
    df: pd.DataFrame,
    *,
    season_length: int = 7,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
) -> pd.Series:
    """Per-series MASE scale: in-sample mean absolute seasonal difference.

    Args:
        df: Training data in long format, one row per series and period, no gaps.
        season_length: Seasonal lag of the naive benchmark.
        id_col: Series identifier column.
        time_col: Time column, used only to order rows within a series.
        target_col: Target column.

    Returns:
        Series indexed by ``id_col`` values. NaN for series with no more than
        ``season_length`` observations.
    """
    ids, times = df[id_col].to_numpy(), df[time_col].to_numpy()
    y = df[target_col].to_numpy(dtype=np.float64)
    if not in_order([ids, times]):  # a backtest's training rows come sorted: checking is cheaper than sorting
        order = df[[id_col, time_col]].reset_index(drop=True).sort_values([id_col, time_col], kind="stable").index
        ids, y = ids[order], y[order]
    starts = series_starts(ids)
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(ids)]))
    k = int(season_length)
    diff = np.abs(y[k:] - y[:-k])
    ok = (group[k:] == group[:-k]) & ~np.isnan(diff)
    sums = np.bincount(group[k:][ok], weights=diff[ok], minlength=len(starts))
    counts = np.bincount(group[k:][ok], minlength=len(starts))
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return pd.Series(values, index=pd.Index(ids[starts], name=id_col), name="scale")


def per_model_metrics(
    df: pd.DataFrame,
    *,
    models: Sequence[str],
    target_col: str = "y",
    id_col: str = "unique_id",
    scale: pd.Series | None = None,
) -> pd.DataFrame:
    """Score several prediction columns against the same actuals.

    Args:
        df: Long frame with ``target_col``, ``id_col`` and one column per model.
        models: Prediction columns to score, in the order of the output rows.
        target_col: Actuals column.
        id_col: Series identifier, used to look up ``scale``.
        scale: Per-series MASE scale indexed by ``id_col`` values (see
            :func:`seasonal_scale`). ``None`` leaves ``mase`` as NaN.

    Returns:
        One row per model, indexed by ``model`` (in the given order), with columns
        ``mae, rmse, bias, mase``.
    """
    models = list(models)
    y = df[target_col].to_numpy(dtype=np.float64)
    err = df[models].to_numpy(dtype=np.float64) - y[:, None]
    n = len(y)
    nan_row = np.full(len(models), np.nan)
    table = pd.DataFrame(
        {
            "mae": np.abs(err).mean(axis=0) if n else nan_row,
            "rmse": np.sqrt((err**2).mean(axis=0)) if n else nan_row,
            "bias": err.mean(axis=0) if n else nan_row,
        },
        index=pd.Index(models, name="model"),
    )
    table["mase"] = _mase_columns(np.abs(err), df[id_col], scale)
    return table


def _mase_columns(abs_err: np.ndarray, ids: pd.Series, scale: pd.Series | None) -> np.ndarray:
    if scale is None:
        return np.full(abs_err.shape[1], np.nan)
    row_scale = ids.map(scale).to_numpy(dtype=np.float64)
    ok = np.isfinite(row_scale) & (row_scale > 0)
    if not ok.any():
        return np.full(abs_err.shape[1], np.nan)
    return (abs_err[ok] / row_scale[ok, None]).mean(axis=0)
