"""CSV and XLSX export writer: read the files back and check what an analyst opens."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from warehouse.exports import column_widths, export_table, write_xlsx


@pytest.fixture()
def orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "po_id": ["PO-20160522-AAAA", "PO-20160522-AAAA", "PO-20160522-BBBB"],
            "item_id": ["FOODS_3_090", "HOBBIES_1_008", "FOODS_3_120"],
            "qty": np.array([12, 3, 240], dtype="int64"),
            "unit_cost": [1.25, np.nan, 0.5],
            "order_date": pd.to_datetime(["2016-05-22", "2016-05-22", None]),
            "status": ["auto_approved", "needs_approval", "rejected"],
            "reason": ["", "order value 312.50 USD above threshold 250 USD and a long explanation of it", None],
        }
    )


def test_export_table_writes_both_formats_that_read_back_equal(orders, tmp_path):
    paths = export_table(orders, tmp_path / "exports" / "2026-11-25", "purchase_order_proposals_2016-05-22")
    assert set(paths) == {"csv", "xlsx"}
    assert paths["csv"].name == "purchase_order_proposals_2016-05-22.csv"
    assert paths["xlsx"].parent == tmp_path / "exports" / "2026-11-25"

    csv = pd.read_csv(paths["csv"], parse_dates=["order_date"])
    xlsx = pd.read_excel(paths["xlsx"], engine="openpyxl")
    for back in (csv, xlsx):
        assert list(back.columns) == list(orders.columns)
        assert back["qty"].tolist() == [12, 3, 240]
        assert back["po_id"].tolist() == orders["po_id"].tolist()
        assert np.isnan(back["unit_cost"].iloc[1]) and back["unit_cost"].iloc[0] == 1.25
        assert back["order_date"].iloc[0] == pd.Timestamp("2016-05-22") and pd.isna(back["order_date"].iloc[2])


def test_a_re_export_never_replaces_a_filled_in_sheet(orders, tmp_path):
    folder, stem = tmp_path / "exports", "purchase_order_proposals_2016-05-22"
    first = export_table(orders, folder, stem)
    # the same proposals again: the same bytes, left as they are
    assert export_table(orders, folder, stem) == first
    assert sorted(p.name for p in folder.iterdir()) == [f"{stem}.csv", f"{stem}.xlsx"]
    # a buyer fills in the sheet; the pipeline runs again
    book = load_workbook(first["xlsx"])
    book.active["A2"] = "approve"
    book.save(first["xlsx"])
    filled = first["xlsx"].read_bytes()
    second = export_table(orders, folder, stem)
    assert second["xlsx"].name == f"{stem}_2.xlsx" and second["csv"] == first["csv"]
    assert first["xlsx"].read_bytes() == filled  # the buyer's file is untouched
    assert pd.read_excel(second["xlsx"])["po_id"].tolist() == orders["po_id"].tolist()
    # changed proposals go to the next free name; nothing half-written is left behind
    third = export_table(orders.assign(qty=orders["qty"] + 1), folder, stem)
    assert third["xlsx"].name == f"{stem}_3.xlsx" and third["csv"].name == f"{stem}_2.csv"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_xlsx_has_bold_frozen_header_filter_dates_and_fitted_widths(orders, tmp_path):
    path = write_xlsx(orders, tmp_path / "po.xlsx", sheet_name="purchase_orders", title_columns=["po_id"])
    ws = load_workbook(path)["purchase_orders"]
    assert [c.value for c in ws[1]] == list(orders.columns)
    assert all(c.font.b for c in ws[1])
    # header row and the po_id column stay in view
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == "A1:G4"
    assert ws["E2"].number_format == "yyyy-mm-dd"
    assert ws["D3"].value is None and ws["G4"].value is None
    widths = {ws.cell(1, i + 1).value: ws.column_dimensions[chr(ord("A") + i)].width for i in range(len(orders.columns))}
    assert widths["qty"] < widths["po_id"] < widths["reason"]
    # capped: the long reason would be ~80 characters (the file stores a width of 60 characters plus
    # the 5-pixel cell padding Excel adds, 60 + 5/7)
    assert widths["reason"] == pytest.approx(60 + 5 / 7, abs=0.01)


def test_column_widths_fit_header_or_longest_value():
    df = pd.DataFrame({"a": ["x" * 20], "a_long_header_name": [1.0]})
    assert column_widths(df) == [22, len("a_long_header_name") + 2]
    assert column_widths(df, max_width=10) == [10, 10]


def test_empty_table_still_gets_a_header(tmp_path):
    empty = pd.DataFrame({"po_id": pd.Series([], dtype=object), "qty": pd.Series([], dtype="int64")})
    paths = export_table(empty, tmp_path, "empty")
    ws = load_workbook(paths["xlsx"]).active
    assert [c.value for c in ws[1]] == ["po_id", "qty"] and ws.max_row == 1
    assert pd.read_csv(paths["csv"]).columns.tolist() == ["po_id", "qty"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stem": "../escape"}, "plain file name"),
        ({"stem": "ok", "formats": ("csv", "pdf")}, "unknown export format"),
        ({"stem": "ok", "title_columns": ("nope",)}, "title_columns"),
        ({"stem": "ok", "sheet_name": "q1/q2 [draft]"}, r"not one Excel accepts.*\(has / \[ \]\)"),
    ],
)
def test_bad_arguments_are_named(orders, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        export_table(orders, tmp_path, **kwargs)


def test_column_widths_of_a_long_float_column_see_its_widest_value():
    # the widest rendering sits in the middle of a long column: the width must still fit it
    values = np.full(50_000, 1.5)
    values[23_457] = -0.0001234
    width = column_widths(pd.DataFrame({"x": values}))[0]
    assert width == len(f"{-0.0001234:,.4g}") + 2


def test_dates_times_and_time_zones_keep_their_wall_clock_in_both_formats(tmp_path):
    # Excel has no time zones: a zoned time is written as its wall-clock time
    df = pd.DataFrame({
        "day": pd.to_datetime(["2016-05-22", None]),
        "stamp": pd.to_datetime(["2016-05-22 13:45", "2016-05-23 00:00"]),
        "zoned": pd.to_datetime(["2016-05-22 13:45", "2016-05-22 23:30"]).tz_localize("America/Los_Angeles"),
        "as_date": [dt.date(2016, 5, 22), dt.date(1999, 12, 31)],
        "held": [False, True],
    })
    paths = export_table(df, tmp_path, "times")
    ws = load_workbook(paths["xlsx"]).active
    assert [ws[f"{c}2"].number_format for c in "ABCD"] == ["yyyy-mm-dd", "yyyy-mm-dd hh:mm", "yyyy-mm-dd hh:mm",
                                                          "yyyy-mm-dd"]
    assert ws["A2"].value == dt.datetime(2016, 5, 22) and ws["A3"].value is None
    assert ws["B2"].value == dt.datetime(2016, 5, 22, 13, 45)
    assert ws["C3"].value == dt.datetime(2016, 5, 22, 23, 30)
    assert ws["D3"].value == dt.datetime(1999, 12, 31)
    rows = paths["csv"].read_text().splitlines()
    # a column of midnights reads as dates; one with times keeps them
    assert rows[1].split(",")[:2] == ["2016-05-22", "2016-05-22 13:45:00"]
    assert rows[2].split(",")[0] == ""
    back = pd.read_csv(paths["csv"])
    assert back["held"].tolist() == [False, True]
    assert back["as_date"].tolist() == ["2016-05-22", "1999-12-31"]


def test_xlsx_cells_keep_text_numbers_and_flags_of_every_kind(tmp_path):
    # XML-special and control characters, edge spaces, a mixed object column, nullable types, big
    # and tiny floats: each reads back as it was written (a control character as Excel's _xHHHH_ escape)
    df = pd.DataFrame({
        "text": ["a & b <c> \"d\" 'e'", "  padded  ", "bell\x07ring", None],
        "mixed": ["12", 12, 2.5, True],
        "count": pd.array([1, None, -3, 2**40], dtype="Int64"),
        "flag": pd.array([True, None, False, True], dtype="boolean"),
        "x": [1e-12, -0.0001234, 123456789.125, np.nan],
        "unicode": ["Grüße", "日本", "", "ok"],
    })
    path = write_xlsx(df, tmp_path / "kinds.xlsx", sheet_name="it's <odd> & long sheet name over 31 chars")
    wb = load_workbook(path)
    assert wb.sheetnames == ["it's <odd> & long sheet name ov"]
    rows = [[c.value for c in row] for row in wb.active.iter_rows(min_row=2)]
    assert [r[0] for r in rows] == ["a & b <c> \"d\" 'e'", "  padded  ", "bell_x0007_ring", None]
    assert [r[1] for r in rows] == ["12", 12, 2.5, True]
    assert [r[2] for r in rows] == [1, None, -3, 2**40]
    assert [r[3] for r in rows] == [True, None, False, True]
    assert [r[4] for r in rows] == [1e-12, -0.0001234, 123456789.125, None]
    # an empty string is an empty cell in Excel
    assert [r[5] for r in rows] == ["Grüße", "日本", None, "ok"]
    assert wb.active.auto_filter.ref == "A1:F5" and wb.active.freeze_panes == "A2"


def test_xlsx_refuses_an_infinite_number_naming_its_column_and_row(tmp_path):
    df = pd.DataFrame({"qty": [1.0, 2.0, np.inf]})
    with pytest.raises(ValueError, match=r"'qty' holds 1 infinite value\(s\) \(first on sheet row 4\)"):
        write_xlsx(df, tmp_path / "inf.xlsx")
