"""The forecast's first stage: check a demand history and code it for the models.

:func:`validate_history` reports everything wrong with a history as readable messages;
:func:`prepare_history` raises on them, then codes the series (:mod:`forecasting.frames`), cuts
the history at the forecast origin and pads series that stop early with zero demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.frames import DS, UID, Y, series_bounds, series_order, to_nixtla

__all__ = ["PreparedHistory", "validate_history", "prepare_history"]

_ONE_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class PreparedHistory:
    """A valid history, coded and cut at the forecast origin.

    Attributes:
        frame: ``unique_id, ds, y`` sorted by series then day, every series up to ``as_of``.
        keys: One row of id columns per series code (the row order of every matrix after this).
        as_of: Last day of history used (the forecast origin).
        n_padded: Series that stopped before ``as_of`` and were padded with zero demand.
    """

    frame: pd.DataFrame
    keys: pd.DataFrame
    as_of: pd.Timestamp
    n_padded: int

    @property
    def n_series(self) -> int:
        """Number of series."""
        return len(self.keys)


def _missing_columns(history: pd.DataFrame, required: Sequence[str]) -> list[str]:
    missing = [c for c in required if c not in history.columns]
    return [f"missing column(s): {', '.join(missing)}"] if missing else []


def _null_rows(counts: pd.Series, *, time_col: str) -> list[str]:
    return [
        f"column '{c}': {n} {'null or unparseable' if c == time_col else 'null'} row(s)"
        for c, n in counts.items()
        if n
    ]


def _non_numeric(data: pd.DataFrame, col: str) -> list[str]:
    if pd.api.types.is_numeric_dtype(data[col]) and not pd.api.types.is_bool_dtype(data[col]):
        return []
    return [f"column '{col}': dtype {data[col].dtype} is not numeric ({len(data)} row(s))"]


def _negative_values(data: pd.DataFrame, col: str) -> list[str]:
    n = int((data[col] < 0).sum())
    return [f"column '{col}': {n} negative row(s)"] if n else []


def _key_problems(codes: np.ndarray, ds: np.ndarray, order: np.ndarray, key_cols: Sequence[str],
                  time_col: str) -> list[str]:
    """Duplicate ``(series, day)`` keys and rows not one day after their predecessor, from one sort."""
    same_series = codes[order][1:] == codes[order][:-1]
    step = np.diff(ds[order])
    problems = []
    n_dup = int((same_series & (step == np.timedelta64(0, "ns"))).sum())
    if n_dup:
        problems.append(f"columns {', '.join(key_cols)}: {n_dup} duplicate row(s)")
    # A zero step is a duplicate key, reported above.
    n_gap = int((same_series & (step != _ONE_DAY) & (step != np.timedelta64(0, "ns"))).sum())
    if n_gap:
        problems.append(f"column '{time_col}': {n_gap} row(s) not exactly one day after the previous row of their series")
    return problems


def _as_datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
    # ISO8601 parses date objects and ISO strings without pandas' per-element fallback.
    return pd.to_datetime(values, errors="coerce", format="ISO8601")


def _select(history: pd.DataFrame, *, id_cols: Sequence[str], time_col: str, target_col: str) -> pd.DataFrame:
    """The columns the forecast needs, with the time column parsed to datetimes."""
    data = history[[*id_cols, time_col, target_col]]
    times = data[time_col]
    parsed = _as_datetime(times)
    # already datetimes (a warehouse read): the selection is the frame, no second copy
    return data if parsed is times else data.assign(**{time_col: parsed})


def _problems(data: pd.DataFrame, *, id_cols: Sequence[str], time_col: str,
              target_col: str) -> tuple[list[str], tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """Problems of a :func:`_select`-ed history, and its :func:`series_order` when the keys allow one."""
    key_cols = [*id_cols, time_col]
    # per column: no sub-frame copy of every row just to count nulls
    nulls = pd.Series({c: int(data[c].isna().sum()) for c in [*key_cols, target_col]})
    problems = _null_rows(nulls, time_col=time_col)
    problems += _non_numeric(data, target_col)
    if not problems:
        problems += _negative_values(data, target_col)
    if nulls[key_cols].any():
        # Keys with nulls cannot be grouped or ordered; report what we have so far.
        return problems, None
    order = series_order(data, id_cols, time_col)
    return problems + _key_problems(*order, key_cols, time_col), order


def validate_history(
    history: pd.DataFrame,
    *,
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
) -> list[str]:
    """Everything wrong with a demand history, as readable messages.

    Checks required columns, nulls (including unparseable dates), a numeric and
    non-negative target, duplicate ``(id, date)`` keys and gaps within a series.

    Args:
        history: Daily demand in long format.
        id_cols: Columns that together identify a series.
        time_col: Date column.
        target_col: Demand column.

    Returns:
        One message per problem, naming the column and the number of bad rows; empty
        when the history is usable.
    """
    missing = _missing_columns(history, [*id_cols, time_col, target_col])
    if missing:
        return missing
    cols = {"id_cols": id_cols, "time_col": time_col, "target_col": target_col}
    return _problems(_select(history, **cols), **cols)[0]


def _raise_on(problems: list[str]) -> None:
    if problems:
        raise ValueError("invalid demand history: " + "; ".join(problems))


def _resolve_as_of(frame: pd.DataFrame, as_of: pd.Timestamp | str | None, time_col: str) -> pd.Timestamp:
    first, last = frame[DS].min(), frame[DS].max()
    if as_of is None:
        return pd.Timestamp(last)
    cut = pd.Timestamp(as_of).tz_localize(None).normalize()
    # Past the data we would have to invent demand; before it there is nothing to fit.
    if not first <= cut <= last:
        raise ValueError(
            f"column '{time_col}': as_of {cut.date()} is outside the history "
            f"{pd.Timestamp(first).date()} .. {pd.Timestamp(last).date()}"
        )
    return cut


def _pad_to(frame: pd.DataFrame, end: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """Extend series that stop before ``end`` with zero demand, so all forecasts align.

    A series without rows up to ``end`` sold nothing on those days (rows are sales
    records), the same convention as Nixtla's ``fill_gaps(end='global')``.
    """
    ids, _, last = series_bounds(frame)
    missing = ((np.datetime64(end, "ns") - last) // _ONE_DAY).astype(np.int64)
    stale = missing > 0
    if not stale.any():
        return frame, 0
    n = missing[stale]
    steps = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 1
    pad = pd.DataFrame(
        {
            UID: np.repeat(ids[stale], n),
            DS: np.repeat(last[stale], n) + steps * _ONE_DAY,
            Y: 0.0,
        }
    )
    padded = pd.concat([frame, pad], ignore_index=True)
    order = np.lexsort((padded[DS].to_numpy(), padded[UID].to_numpy()))
    return padded.iloc[order].reset_index(drop=True), int(stale.sum())


def prepare_history(
    history: pd.DataFrame,
    *,
    as_of: pd.Timestamp | str | None = None,
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
) -> PreparedHistory:
    """Validate a demand history, code its series and cut it at the forecast origin.

    Series that stop before ``as_of`` are padded with zero demand up to it.

    Args:
        history: Daily demand, one row per series and day; other columns are ignored.
        as_of: Last day of history to use (inclusive); defaults to the last date.
        id_cols: Columns that together identify a series.
        time_col: Date column.
        target_col: Demand column.

    Returns:
        The coded history; see :class:`PreparedHistory`.

    Raises:
        ValueError: If the history is invalid (the message names each bad column and its
            number of bad rows) or ``as_of`` lies outside it.
    """
    id_cols = list(id_cols)
    cols = {"id_cols": id_cols, "time_col": time_col, "target_col": target_col}
    _raise_on(_missing_columns(history, [*id_cols, time_col, target_col]))
    data = _select(history, **cols)
    problems, order = _problems(data, **cols)
    _raise_on(problems)
    frame, keys = to_nixtla(data, id_cols=id_cols, time_col=time_col, target_col=target_col, order=order)
    cut = _resolve_as_of(frame, as_of, time_col)
    kept = (frame[DS] <= cut).to_numpy()
    if not kept.all():  # an as-of inside the history; at its end there is nothing to drop (or copy)
        frame = frame[kept].reset_index(drop=True)
    frame, n_padded = _pad_to(frame, cut)
    return PreparedHistory(frame=frame, keys=keys, as_of=cut, n_padded=n_padded)
