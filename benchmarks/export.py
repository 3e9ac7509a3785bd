"""Time the purchase-order export writers on a materialised warehouse.

    python -m benchmarks.export WAREHOUSE [--repeat N] [--check]

Reads ``purchase_order_proposals`` from WAREHOUSE (read-only), adds the blank decision columns
as the export asset does, and times, alternating, the CSV writer, supplycast's workbook writer
(``warehouse.exports.write_xlsx``) and XlsxWriter writing the same cells one by one in its
constant-memory mode (the writer supplycast used before, the well-kept library it is measured
against). ``--check`` reads both workbooks back with pandas (openpyxl) and says whether every
cell is equal.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter

import duckdb
import pandas as pd

from procurement.review import with_decision_columns
from warehouse.db import read_table
from warehouse.exports import column_widths, write_csv, write_xlsx

__all__ = ["main", "write_xlsx_cell_by_cell"]

_TITLE_COLUMNS = ["po_id", "po_version", "item_id", "ship_to"]


def write_xlsx_cell_by_cell(df: pd.DataFrame, path: Path) -> Path:
    """The same sheet through XlsxWriter's ``write_row`` (header format, widths, dates, frozen panes, filter)."""
    import xlsxwriter

    from warehouse.exports import _excel_serial, _number_format

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "remove_timezone": True,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    try:
        ws = wb.add_worksheet("purchase_orders")
        formats = [_number_format(df[c]) for c in df.columns]
        styles = {f: wb.add_format({"num_format": f}) for f in set(formats) if f}
        for i, (width, fmt) in enumerate(zip(column_widths(df), formats, strict=True)):
            ws.set_column(i, i, width, styles.get(fmt))
        ws.freeze_panes(1, len(_TITLE_COLUMNS))
        ws.autofilter(0, 0, len(df), len(df.columns) - 1)
        ws.write_row(0, 0, [str(c) for c in df.columns], wb.add_format({"bold": True, "bg_color": "#DDEBF7"}))
        columns = []
        for c, fmt in zip(df.columns, formats, strict=True):
            s = _excel_serial(df[c]) if fmt else df[c]
            values = s.astype(object).to_numpy().copy()
            values[pd.isna(s).to_numpy()] = None
            columns.append(values.tolist())
        for r, row in enumerate(zip(*columns, strict=True), start=1):
            ws.write_row(r, 0, row)
    finally:
        wb.close()
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warehouse", help="DuckDB file of a materialised run")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the three writers (default 3)")
    parser.add_argument("--check", action="store_true", help="read both workbooks back and compare every cell")
    args = parser.parse_args(argv)
    with duckdb.connect(args.warehouse, read_only=True) as con:
        orders = with_decision_columns(read_table(con, "purchase_order_proposals"))
    print(f"purchase_order_proposals: {len(orders):,} rows x {len(orders.columns)} columns "
          f"= {orders.size:,} cells")
    writers = {
        "csv (DuckDB)": lambda d: write_csv(orders, d / "po.csv"),
        "xlsx, supplycast (column by column)": lambda d: write_xlsx(orders, d / "po.xlsx",
                                                                     sheet_name="purchase_orders",
                                                                     title_columns=_TITLE_COLUMNS),
        "xlsx, XlsxWriter (cell by cell)": lambda d: write_xlsx_cell_by_cell(orders, d / "po_xlsxwriter.xlsx"),
    }
    seconds: dict[str, list[float]] = {name: [] for name in writers}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for _ in range(max(1, args.repeat)):
            for name, write in writers.items():
                t = perf_counter()
                write(folder)
                seconds[name].append(perf_counter() - t)
        base = statistics.median(seconds["xlsx, XlsxWriter (cell by cell)"])
        for name, times in seconds.items():
            med = statistics.median(times)
            size = {"csv": "po.csv", "supplycast": "po.xlsx", "XlsxWriter": "po_xlsxwriter.xlsx"}
            file = next(folder / f for k, f in size.items() if k in name)
            print(f"{name:38s} median {med:6.2f} s  ({', '.join(f'{t:.2f}' for t in times)})  "
                  f"{med / base:5.2f}x XlsxWriter  {file.stat().st_size / 1e6:6.1f} MB")
        if args.check:
            ours = pd.read_excel(folder / "po.xlsx", engine="openpyxl")
            theirs = pd.read_excel(folder / "po_xlsxwriter.xlsx", engine="openpyxl")
            try:
                pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
                print(f"read back: every cell equal ({ours.shape[0]:,} x {ours.shape[1]})")
            except AssertionError as err:
                print(f"read back: cells DIFFER: {err}")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
