"""Write a table as CSV and as an Excel workbook an analyst can open directly.

Pure pandas (no Dagster); the workbook is built column by column in ``warehouse._xlsx``, faster
than XlsxWriter's cell-by-cell writer on the full-M5 purchase-order table (``benchmarks.export``).
The workbook has one sheet: a bold header row, frozen below the header, an auto-filter over the
data, and column widths fitted to the content.
"""

from __future__ import annotations

import filecmp
import os
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from warehouse._xlsx import DATE_FORMAT as _DATE_FORMAT
from warehouse._xlsx import DATETIME_FORMAT as _DATETIME_FORMAT
from warehouse._xlsx import write_sheet

__all__ = ["EXPORT_FORMATS", "export_table", "write_csv", "write_xlsx", "column_widths"]

EXPORT_FORMATS = ("csv", "xlsx")

# Excel column width is in characters of the default font; past ~60 a column stops being readable.
_MIN_WIDTH = 8
_MAX_WIDTH = 60
# day 0 of Excel's 1900 date system as it counts from 1900-03-01 on (its 1900-02-29 bug aside)
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as UTF-8 CSV with a header row and no index.

    DuckDB's writer (several times faster than pandas' on the full-M5 proposals); columns of
    midnight timestamps are written as dates (``2016-05-22``), other timestamps in full (zoned
    ones in UTC with their offset, ``2016-05-22 20:45:00+00``).

    Args:
        df: The table.
        path: Target file; its folder is created.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        table = con.from_df(df)
        columns = [_quoted(c) + (" ::DATE" if _number_format(df[c]) == _DATE_FORMAT and
                                 pd.api.types.is_datetime64_any_dtype(df[c]) else "") + f" AS {_quoted(c)}"
                   for c in df.columns]
        (table.project(", ".join(columns)) if columns else table).write_csv(str(path), header=True)
    return path


def _quoted(name: object) -> str:
    """``name`` as a quoted SQL identifier (column names cannot be bound as parameters)."""
    return '"' + str(name).replace('"', '""') + '"'


def column_widths(df: pd.DataFrame, *, min_width: int = _MIN_WIDTH, max_width: int = _MAX_WIDTH) -> list[int]:
    """Excel column widths that fit each column's header and longest rendered value.

    Args:
        df: The table.
        min_width: Narrowest column, in characters.
        max_width: Widest column, in characters (longer text is cut off visually, not in the data).

    Returns:
        One width per column, in ``df``'s column order.
    """
    widths = []
    for col in df.columns:
        values = _display(df[col])
        longest = int(values.str.len().max()) if len(values) else 0
        widths.append(int(np.clip(max(longest, len(str(col))) + 2, min_width, max_width)))
    return widths


def _display(s: pd.Series) -> pd.Series:
    """How a column will read in Excel (dates without a time, floats to 4 significant digits)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d").fillna("")
    if pd.api.types.is_float_dtype(s):
        return _width_candidates(s).map(lambda v: "" if pd.isna(v) else f"{v:,.4g}")
    return s.astype(str)


def _width_candidates(s: pd.Series, *, sample: int = 1_000) -> pd.Series:
    """The few floats whose rendering can be the widest, so widths do not format every row.

    At 4 significant digits a rendering's length depends only on sign, magnitude and exponent form,
    so the extremes (largest, most negative, smallest non-zero magnitude) and a strided sample bound it.
    """
    if len(s) <= 4 * sample:
        return s
    values = s.dropna()
    magnitude = values.abs()
    picks = pd.concat([
        values.nlargest(5), values.nsmallest(5), values[magnitude > 0].loc[magnitude[magnitude > 0].nsmallest(5).index],
        values.iloc[:: max(1, len(values) // sample)],
    ])
    return picks


def _excel_serial(s: pd.Series) -> pd.Series:
    """Dates as Excel's day numbers (wall-clock time: Excel has no time zones); NaT -> NaN."""
    stamps = pd.to_datetime(s)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_localize(None)
    return (stamps - _EXCEL_EPOCH) / pd.Timedelta(days=1)


def write_xlsx(
    df: pd.DataFrame,
    path: str | Path,
    *,
    sheet_name: str = "data",
    title_columns: Sequence[str] = (),
) -> Path:
    """Write ``df`` to a one-sheet workbook: header row, frozen panes, auto-filter, fitted widths.

    Args:
        df: The table.
        path: Target ``.xlsx`` file; its folder is created.
        sheet_name: Sheet title (Excel allows at most 31 characters).
        title_columns: Leading columns to keep visible when scrolling right (frozen with the header).

    Returns:
        The path written.

    Raises:
        ValueError: If a ``title_columns`` entry is not a column of ``df``, or a number is infinite.
    """
    missing = [c for c in title_columns if c not in df.columns]
    if missing:
        raise ValueError(f"title_columns {missing} are not columns of the table ({list(df.columns)})")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    formats = [_number_format(df[c]) for c in df.columns]
    columns = [_excel_serial(df[c]) if fmt else df[c] for c, fmt in zip(df.columns, formats, strict=True)]
    write_sheet(path, columns, [str(c) for c in df.columns], sheet_name=sheet_name[:31],
                widths=column_widths(df), number_formats=formats, frozen_columns=len(title_columns))
    return path


def _number_format(s: pd.Series) -> str | None:
    if pd.api.types.is_datetime64_any_dtype(s):
        times = s.dropna()
        has_time = bool(len(times)) and bool((times != times.dt.normalize()).any())
        return _DATETIME_FORMAT if has_time else _DATE_FORMAT
    sample = s.dropna().head(1).tolist()
    if sample and isinstance(sample[0], datetime):
        return _DATETIME_FORMAT
    if sample and isinstance(sample[0], date):
        return _DATE_FORMAT
    return None


def export_table(
    df: pd.DataFrame,
    folder: str | Path,
    stem: str,
    *,
    formats: Sequence[str] = EXPORT_FORMATS,
    sheet_name: str | None = None,
    title_columns: Sequence[str] = (),
) -> dict[str, Path]:
    """Write ``df`` as ``<folder>/<stem>.<fmt>`` for each format, never over a different file.

    A file of that name with other content (a buyer's filled-in sheet, an earlier run's
    proposals) is kept and the new one is written as ``<stem>_2.<fmt>`` (or the next free
    number); an identical one is left as it is.

    Args:
        df: The table.
        folder: Target folder (created).
        stem: File name without extension.
        formats: Any of ``"csv"``, ``"xlsx"``.
        sheet_name: Workbook sheet title; default ``stem`` (cut to 31 characters).
        title_columns: Leading columns frozen in the workbook.

    Returns:
        Format -> path of the file holding ``df``.

    Raises:
        ValueError: On an unknown format or a stem that is not a plain file name.
    """
    unknown = sorted(set(formats) - set(EXPORT_FORMATS))
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; choose from {list(EXPORT_FORMATS)}")
    if not stem or Path(stem).name != stem:
        raise ValueError(f"export stem must be a plain file name, got {stem!r}")
    folder = Path(folder)
    out: dict[str, Path] = {}
    if "csv" in formats:
        out["csv"] = _keep_others(folder / f"{stem}.csv", lambda p: write_csv(df, p))
    if "xlsx" in formats:
        out["xlsx"] = _keep_others(folder / f"{stem}.xlsx", lambda p: write_xlsx(
            df, p, sheet_name=sheet_name or stem, title_columns=title_columns))
    return out


def _keep_others(path: Path, write: Callable[[Path], Path]) -> Path:
    """Write a file through ``write`` without replacing a different file of the same name.

    A buyer may be filling in the last export when the pipeline runs again: that file is kept,
    and the new one goes to the first free ``<stem>_2``, ``<stem>_3``, ... An identical file is
    left as it is (a re-run on unchanged proposals adds nothing). Written to a temporary name
    first, so a failed write leaves no half file under the real one.

    Returns:
        The path of the file with the new content.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.writing{path.suffix}")
    try:
        write(tmp)
        target, n = path, 1
        while target.exists() and not filecmp.cmp(target, tmp, shallow=False):
            n += 1
            target = path.with_name(f"{path.stem}_{n}{path.suffix}")
        if not target.exists():
            tmp.replace(target)
        return target
    finally:
        tmp.unlink(missing_ok=True)
