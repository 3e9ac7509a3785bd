"""Event and holiday features: days to the next and since the last occurrence of each type.

A model cannot learn "the week before Easter" from a 0/1 flag on Easter Sunday; the
distance to and from each event type lets a global model learn the lead-up and the
after-effect from every past occurrence and apply it to the next one (the calendar of
future events is known ahead).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["event_distances", "event_feature_names"]


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(name).strip().lower()).strip("_")


def event_feature_names(types: Sequence[str]) -> list[str]:
    """Column names :func:`event_distances` gives ``types``: ``days_to_<type>, days_since_<type>``."""
    return [f"days_{w}_{_slug(t)}" for t in types for w in ("to", "since")]


def event_distances(
    events: pd.DataFrame,
    days: pd.DataFrame,
    *,
    date_col: str = "date",
    type_col: str = "event_type",
    by: Sequence[str] = (),
    types: Sequence[str] | None = None,
    max_days: int = 30,
) -> pd.DataFrame:
    """Days to the next and since the last event of every type, for every requested day.

    Both are 0 on an event day and capped at ``max_days`` (also when there is no next or
    previous occurrence). Events given per key (``by``, e.g. a store's regional holidays)
    apply to the days of that key only.

    Args:
        events: One row per event day: ``date_col, type_col`` (and the ``by`` columns).
        days: The days to describe: ``date_col`` (and the ``by`` columns).
        date_col: Date column of both frames.
        type_col: Event type column.
        by: Key columns shared by ``events`` and ``days``.
        types: Types to describe (default: every type in ``events``, sorted).
        max_days: Cap of both distances.

    Returns:
        ``days`` (same rows and order) with the columns of :func:`event_feature_names`.
    """
    keys = list(by)
    missing = [c for c in [date_col, type_col, *keys] if c not in events.columns]
    missing += [c for c in [date_col, *keys] if c not in days.columns]
    if missing:
        raise ValueError(f"event_distances: missing column(s) {sorted(set(missing))}")
    types = sorted(events[type_col].dropna().astype(str).unique()) if types is None else list(types)
    left = days[[*keys, date_col]].copy()
    left[date_col] = pd.to_datetime(left[date_col])
    left["_row"] = np.arange(len(left))
    left = left.sort_values(date_col, kind="stable")
    ev = events[[*keys, date_col, type_col]].dropna(subset=[date_col, type_col]).copy()
    ev[date_col] = pd.to_datetime(ev[date_col])
    ev[type_col] = ev[type_col].astype(str)
    out = days.copy()
    for t in types:
        right = ev.loc[ev[type_col] == t, [*keys, date_col]].drop_duplicates().sort_values(date_col)
        right["_event"] = right[date_col]
        slug = _slug(t)
        for name, direction in (("to", "forward"), ("since", "backward")):
            m = pd.merge_asof(left, right, on=date_col, by=keys or None, direction=direction)
            gap = (m["_event"] - m[date_col]).dt.days.abs().to_numpy(dtype=np.float64)
            gap = np.minimum(np.nan_to_num(gap, nan=max_days), max_days)
            col = np.empty(len(days))
            col[m["_row"].to_numpy()] = gap
            out[f"days_{name}_{slug}"] = col
    return out
