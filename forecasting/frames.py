"""Long frames in Nixtla's layout and the ordering checks the forecast relies on.

The forecast works on ``unique_id, ds, y`` frames (:data:`UID`, :data:`DS`, :data:`Y`) whose
``unique_id`` is an integer code per series, sorted by series then day; a key table maps the
codes back to the caller's id columns. Integer codes are cheaper to hash, sort and ship to
workers than joined strings, and no separator can collide with an id value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "UID",
    "DS",
    "Y",
    "in_order",
    "sorted_by",
    "presorted_codes",
    "series_order",
    "to_nixtla",
    "from_nixtla",
    "decode_ids",
    "series_bounds",
    "series_starts",
    "to_long",
]

UID, DS, Y = "unique_id", "ds", "y"


def in_order(columns: Sequence[np.ndarray], *, strict: bool = False) -> bool:
    """Whether rows (one value per column) are in lexicographic order.

    Args:
        columns: One array per column, all of the same length; each row is compared with the
            one before it.
        strict: No two neighbouring rows may be equal.

    Returns:
        True when the rows are (strictly) ascending.

    Raises:
        TypeError: On values with no order (e.g. ids of mixed types).
    """
    above = np.zeros(max(len(columns[0]) - 1, 0), dtype=bool)
    tied = np.ones_like(above)
    for v in columns:
        above |= tied & (v[1:] > v[:-1])
        tied &= v[1:] == v[:-1]
    return bool(above.all() if strict else (above | tied).all())


def sorted_by(frame: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """``frame`` stably sorted by ``cols`` with a fresh index.

    statsforecast returns its output in series and date order: checking is far cheaper than
    sorting, so a frame already in order is returned as it is.

    Args:
        frame: Any frame.
        cols: Sort columns.

    Returns:
        The sorted frame (``frame`` itself when it already is).
    """
    fresh_index = isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1
    if fresh_index and len(frame) > 1 and in_order([frame[c].to_numpy() for c in cols]):
        return frame
    return frame.sort_values(list(cols), kind="stable", ignore_index=True)


def presorted_codes(history: pd.DataFrame, id_cols: Sequence[str], ds: np.ndarray) -> np.ndarray | None:
    """The series codes of rows that already come sorted by id then day (a warehouse mart's order).

    Two comparisons of neighbouring rows replace grouping and sorting 10^5-10^6 rows; the codes
    are the ones ``groupby(sort=True).ngroup()`` gives, and the identity is the order ``lexsort`` gives.

    Args:
        history: Long frame.
        id_cols: Columns that together identify a series.
        ds: The rows' timestamps.

    Returns:
        One code per row, or None when the rows are not sorted that way.
    """
    n = len(ds)
    if n < 2:
        return None
    # a categorical column is compared by its integer codes, its values taken only where a series starts
    columns = [history[c] for c in id_cols]
    comparable = [c.cat.codes.to_numpy() if isinstance(c.dtype, pd.CategoricalDtype) else c.to_numpy() for c in columns]
    changed = np.zeros(n, dtype=bool)
    changed[0] = True
    for v in comparable:
        changed[1:] |= v[1:] != v[:-1]
    starts = np.flatnonzero(changed)
    at_starts = [c.cat.categories.to_numpy()[v[starts]] if isinstance(c.dtype, pd.CategoricalDtype) else v[starts]
                 for c, v in zip(columns, comparable, strict=True)]
    try:
        # each series' key strictly above the previous one: no series comes back later
        keys_in_order = in_order(at_starts, strict=True)
    except TypeError:  # ids of mixed types have no order here; grouping decides
        return None
    if not keys_in_order or (np.diff(ds)[~changed[1:]] < np.timedelta64(0, "ns")).any():
        return None
    return np.cumsum(changed) - 1


def series_order(history: pd.DataFrame, id_cols: Sequence[str],
                 time_col: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer series codes (in sorted id order), timestamps and the row order by series then day.

    Args:
        history: Long frame.
        id_cols: Columns that together identify a series.
        time_col: Date column.

    Returns:
        ``(codes, ds, order)`` with one entry per row of ``history``.
    """
    ds = pd.to_datetime(history[time_col]).to_numpy(dtype="datetime64[ns]")
    codes = presorted_codes(history, id_cols, ds)
    if codes is not None:
        return codes, ds, np.arange(len(ds))
    codes = history.groupby(list(id_cols), sort=True, dropna=False, observed=True).ngroup().to_numpy()
    return codes, ds, np.lexsort((ds, codes))


def to_nixtla(
    history: pd.DataFrame,
    *,
    id_cols: Sequence[str],
    time_col: str,
    target_col: str,
    order: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long frame with integer ``unique_id`` plus the table that maps codes back to ids.

    Args:
        history: Long frame, one row per series and day.
        id_cols: Columns that together identify a series.
        time_col: Date column.
        target_col: Value column (becomes ``y``).
        order: :func:`series_order` of ``history`` when the caller already has it.

    Returns:
        ``(frame, keys)``: ``unique_id, ds, y`` sorted by series then day, and one row of
        ``id_cols`` per code.
    """
    id_cols = list(id_cols)
    codes, ds, order_ = order if order is not None else series_order(history, id_cols, time_col)
    frame = pd.DataFrame(
        {
            UID: codes[order_],
            DS: ds[order_],
            Y: history[target_col].to_numpy(dtype=np.float64)[order_],
        }
    )
    first_rows = order_[series_starts(frame[UID].to_numpy())]
    keys = history[id_cols].iloc[first_rows].reset_index(drop=True)
    # one row per series: plain values (categorical ids would carry their dtype into every output)
    plain = {c: keys[c].cat.categories.dtype for c in id_cols if isinstance(keys[c].dtype, pd.CategoricalDtype)}
    return frame, keys.astype(plain) if plain else keys


def decode_ids(codes: np.ndarray, keys: pd.DataFrame) -> pd.DataFrame:
    """Original id columns for integer ``unique_id`` codes (a positional take).

    Args:
        codes: Series codes.
        keys: Key table of :func:`to_nixtla`.

    Returns:
        One row of ``keys`` per code.
    """
    return keys.iloc[np.asarray(codes)].reset_index(drop=True)


def from_nixtla(
    frame: pd.DataFrame,
    keys: pd.DataFrame,
    *,
    id_cols: Sequence[str],
    time_col: str,
    value_cols: Sequence[str],
) -> pd.DataFrame:
    """A coded frame back in the caller's columns: ``id_cols, time_col, value_cols``.

    Args:
        frame: ``unique_id, ds`` and ``value_cols``.
        keys: Key table of :func:`to_nixtla`.
        id_cols: Id columns to restore.
        time_col: Name for ``ds``.
        value_cols: Columns carried over.

    Returns:
        The frame in the same row order.
    """
    codes = frame[UID].to_numpy()
    # one frame built from arrays: no renamed copy, no concat, no reordering copy
    return pd.DataFrame({**{c: keys[c].to_numpy()[codes] for c in id_cols}, time_col: frame[DS].to_numpy(),
                         **{c: frame[c].to_numpy() for c in value_cols}})


def series_starts(ids: np.ndarray) -> np.ndarray:
    """Positions where a new series begins in ``ids`` sorted by series (empty for no rows)."""
    if not len(ids):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])


def series_bounds(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique ids, row counts and last timestamps of a frame sorted by ``unique_id, ds``.

    Args:
        frame: Coded frame sorted by series then day.

    Returns:
        ``(ids, counts, last)``, one entry per series in frame order.
    """
    uid = frame[UID].to_numpy()
    starts = series_starts(uid)
    ends = np.r_[starts[1:], len(uid)] - 1
    return uid[starts], ends - starts + 1, frame[DS].to_numpy()[ends]


def to_long(values: np.ndarray, keys: pd.DataFrame, dates: pd.DatetimeIndex, *, id_cols: Sequence[str],
            time_col: str, value_col: str) -> pd.DataFrame:
    """(n_series, n_dates) matrix -> long frame, series-major.

    Args:
        values: One row per row of ``keys``, one column per date.
        keys: Series ids.
        dates: The matrix's days.
        id_cols: Id columns of ``keys`` to carry.
        time_col: Name of the date column.
        value_col: Name of the value column.

    Returns:
        ``id_cols, time_col, value_col``, ``len(keys) * len(dates)`` rows.
    """
    return pd.DataFrame({**{c: np.repeat(keys[c].to_numpy(), len(dates)) for c in id_cols},
                         time_col: np.tile(dates.to_numpy(), len(keys)),
                         value_col: np.asarray(values, dtype=np.float64).ravel()})
