"""Drift between the training window and recent data: inputs and forecast error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["DriftReport", "psi", "drift_report"]


@dataclass(frozen=True)
class DriftReport:
    """Outcome of :func:`drift_report`.

    Attributes:
        passed: No figure is past its threshold.
        figures: The measured figures (``psi_<column>``, ``level_ratio``, ``error_ratio``).
        thresholds: The limits they were held against.
        messages: One readable line per figure past its limit.
    """

    passed: bool
    figures: dict[str, float]
    thresholds: dict[str, float]
    messages: list[str] = field(default_factory=list)


def psi(expected: np.ndarray, actual: np.ndarray, *, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected``.

    Bins are the quantiles of ``expected`` (duplicates merged, so zero-heavy counts get
    a bin of their own). Conventional reading: < 0.1 stable, 0.1-0.25 moderate shift,
    > 0.25 significant shift.

    Args:
        expected: Reference sample (training window).
        actual: Recent sample.
        bins: Number of quantile bins.
        eps: Floor for empty bin shares.

    Returns:
        ``sum((a - e) * ln(a / e))`` over bins; NaN if either sample is empty.
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    e, a = e[np.isfinite(e)], a[np.isfinite(a)]
    if not e.size or not a.size:
        return float("nan")
    edges = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)))
    inner = edges[1:-1]
    e_share = np.bincount(np.searchsorted(inner, e, side="right"), minlength=len(inner) + 1) / e.size
    a_share = np.bincount(np.searchsorted(inner, a, side="right"), minlength=len(inner) + 1) / a.size
    e_share, a_share = np.clip(e_share, eps, None), np.clip(a_share, eps, None)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def drift_report(
    history: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    *,
    recent_days: int = 7,
    train_days: int | None = 21,
    columns: Sequence[str] = ("units", "sell_price"),
    time_col: str = "date",
    actual_col: str = "units",
    forecast_col: str = "yhat",
    psi_threshold: float = 0.25,
    level_band: tuple[float, float] = (0.67, 1.5),
    error_threshold: float = 1.5,
) -> DriftReport:
    """Compare the last ``recent_days`` days with the training window before them.

    Inputs: PSI of each of ``columns`` present (recent vs training window), and the
    ratio of mean daily units. Error: the ratio of the deployed model's backtest MAE on
    the most recent ``recent_days`` holdout days to its MAE on the earlier holdout days
    (a model that degrades towards the present drifts).

    Args:
        history: Long daily history with ``time_col`` and ``columns``.
        holdout: Backtest rows ``time_col, actual_col, forecast_col`` (optional).
        recent_days: Length of the recent window.
        train_days: Length of the training window right before it (None: all earlier days). Kept
            short because series of years and series of weeks mix: all earlier days would compare
            the recent week of every series with years of a few long ones.
        columns: Input columns whose distribution is compared.
        time_col: Date column.
        actual_col: Units column (also used for the level ratio).
        forecast_col: Backtest forecast column of ``holdout``.
        psi_threshold: Largest tolerated PSI.
        level_band: Tolerated range of recent / training mean daily units.
        error_threshold: Largest tolerated recent / earlier holdout MAE ratio.

    Returns:
        The report; ``passed`` is False when any figure is past its limit.
    """
    dates = pd.to_datetime(history[time_col])
    start = dates.max() - pd.Timedelta(days=recent_days - 1)
    first_train = start - pd.Timedelta(days=train_days) if train_days is not None else dates.min()
    recent, train = history[dates >= start], history[(dates < start) & (dates >= first_train)]
    figures: dict[str, float] = {}
    thresholds: dict[str, float] = {}
    messages: list[str] = []
    for col in [c for c in columns if c in history.columns]:
        value = psi(train[col].to_numpy(dtype=np.float64), recent[col].to_numpy(dtype=np.float64))
        figures[f"psi_{col}"], thresholds[f"psi_{col}"] = value, psi_threshold
        if value > psi_threshold:
            messages.append(f"input drift: PSI of '{col}' over the last {recent_days} days vs the training window "
                            f"is {value:.3f} > {psi_threshold}")
    if len(train) and len(recent):
        ratio = float(recent.groupby(time_col)[actual_col].sum().mean() / max(train.groupby(time_col)[actual_col].sum().mean(), 1e-9))
        figures["level_ratio"] = ratio
        thresholds["level_ratio_low"], thresholds["level_ratio_high"] = level_band
        if not level_band[0] <= ratio <= level_band[1]:
            messages.append(f"input drift: mean daily units over the last {recent_days} days are {ratio:.2f}x the "
                            f"training window's (tolerated {level_band[0]}-{level_band[1]})")
    if holdout is not None and len(holdout):
        hd = pd.to_datetime(holdout[time_col])
        h_start = hd.max() - pd.Timedelta(days=recent_days - 1)
        err = (holdout[forecast_col] - holdout[actual_col]).abs()
        earlier, late = err[hd < h_start], err[hd >= h_start]
        if len(earlier) and len(late) and earlier.mean() > 0:
            ratio = float(late.mean() / earlier.mean())
            figures["error_ratio"], thresholds["error_ratio"] = ratio, error_threshold
            if ratio > error_threshold:
                messages.append(f"error drift: backtest MAE over the last {recent_days} holdout days is {ratio:.2f}x "
                                f"the earlier holdout days' (tolerated {error_threshold})")
    return DriftReport(passed=not messages, figures=figures, thresholds=thresholds, messages=messages)
