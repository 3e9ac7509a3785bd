"""Per-segment model choice from a backtest, applied to forecast matrices."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["choose_per_segment", "apply_choice"]


def choose_per_segment(
    actual: np.ndarray,
    candidates: Mapping[str, np.ndarray],
    segments: pd.Series | np.ndarray,
) -> pd.Series:
    """The candidate with the lowest backtest squared error in every segment.

    Squared error (not absolute) because the forecasts feed sums (orders over lead
    time, aggregate levels of WRMSSE), where the mean, not the median, is what counts.

    Args:
        actual: Backtest actuals, (n_series, horizon).
        candidates: Name -> backtest forecast of the same shape.
        segments: Segment label per series (e.g. store x department).

    Returns:
        Chosen candidate name per segment label (ties go to the first listed).
    """
    names = list(candidates)
    seg = pd.Series(np.asarray(segments))
    sse = pd.DataFrame(
        {n: np.square(np.asarray(candidates[n]) - actual).sum(axis=1) for n in names}
    ).groupby(seg.to_numpy()).sum()
    return pd.Series(np.asarray(names, dtype=object)[np.argmin(sse.to_numpy(), axis=1)], index=sse.index, name="model")


def apply_choice(
    choice: pd.Series,
    candidates: Mapping[str, np.ndarray],
    segments: pd.Series | np.ndarray,
    *,
    default: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Assemble the forecast of each series from its segment's chosen candidate.

    Args:
        choice: Output of :func:`choose_per_segment`.
        candidates: Name -> forecast, (n_series, horizon), all present in ``choice``.
        segments: Segment label per series.
        default: Candidate for segments the backtest did not see.

    Returns:
        The combined forecast and the model name per series.
    """
    seg = pd.Series(np.asarray(segments))
    model = seg.map(choice).fillna(default).to_numpy(dtype=object)
    out = np.empty_like(np.asarray(candidates[default], dtype=np.float64))
    for name in np.unique(model):  # a handful of candidates, not series
        rows = model == name
        out[rows] = np.asarray(candidates[name], dtype=np.float64)[rows]
    return out, model

