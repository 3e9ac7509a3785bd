"""Feed discovery, typed ingest and marts on the real embedded sample."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from warehouse import ingest
from warehouse.db import (
    query_frames,
    read_table,
    replace_table,
    replace_tables,
    row_count,
    table_columns,
    table_exists,
)
from warehouse.feeds import SAMPLE_DIR, FeedError, discover_feeds
from warehouse.marts import mart_sql


def test_discover_sample_and_m5_folder():
    top = discover_feeds(SAMPLE_DIR)
    inner = discover_feeds(SAMPLE_DIR / "m5")
    assert top.calendar == inner.calendar
    assert top.shipments.name == "shipments.parquet" and top.shipments.is_file()
    assert top.fallbacks == () and inner.fallbacks == ()


def test_discover_m5_without_logistics_falls_back_to_sample(tmp_path: Path):
    m5 = tmp_path / "m5only"
    shutil.copytree(SAMPLE_DIR / "m5", m5)
    paths = discover_feeds(m5)
    assert "usaid_scms_shipments" in paths.fallbacks
    assert paths.shipments.is_relative_to(SAMPLE_DIR)


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p])
def test_discover_rejects_folders_without_feeds(tmp_path: Path, make):
    with pytest.raises(FeedError, match="does not exist|no feeds found"):
        discover_feeds(make(tmp_path))


def test_sample_row_counts(sample_con):
    # 3,049 series x 28 days, and the long history d_1..d_1913 of 28 of them (m5_history/)
    assert row_count(sample_con, "raw_pos") == 3049 * 28
    assert row_count(sample_con, "raw_pos_history") == 28 * 1913
    assert row_count(sample_con, "raw_calendar") == 1969
    assert row_count(sample_con, "raw_shipments") == 10324
    assert row_count(sample_con, "raw_emission_factors") == 5
    assert row_count(sample_con, "demand_history") == 3049 * 28 + 28 * 1913


def test_weather_parses_missing_and_trace(sample_con):
    raw = duckdb.sql(f"SELECT * FROM read_parquet('{SAMPLE_DIR}/walmart_stormy_weather/weather.parquet')").df()
    n_trace = int((raw["preciptotal"].str.strip() == "T").sum())
    n_missing_tavg = int((raw["tavg"].str.strip() == "M").sum())
    noaa = "station NOT LIKE 'US%'"  # the stormy-weather stations are numbers, GHCN's start with US
    got = sample_con.execute(
        f"SELECT sum(prcp_in_trace::INT), count(*) FILTER (WHERE tavg_f IS NULL), "
        f"count(*) FILTER (WHERE prcp_in_trace AND prcp_in <> 0), count(*) FROM raw_weather WHERE {noaa}"
    ).fetchall()[0]
    assert got[0] == n_trace > 0
    assert got[1] == n_missing_tavg > 0
    assert got[2] == 0
    assert got[3] == len(raw)


def test_sample_weather_feeds_both_formats_into_store_weather(sample_con):
    ghcn = pd.read_parquet(SAMPLE_DIR / "weather_ghcn" / "daily.parquet")
    got = sample_con.execute(
        "SELECT count(*), min(date), max(date), count(tmax_f), bool_and(station_proxy), bool_and(source = 'observed') "
        "FROM store_weather WHERE store_id = 'CA_1'").fetchall()[0]
    # one GHCN station row per day for CA_1; the data end on the last POS day: all observed
    assert got[:4] == (len(ghcn), dt.date(2011, 1, 29), dt.date(2016, 5, 22), int(ghcn["tmax_f"].notna().sum()))
    assert got[4] is True and got[5] is True
    # the 45 stormy-weather stores keep their NOAA station's weather
    assert sample_con.execute("SELECT count(DISTINCT store_id) FROM store_weather").fetchall()[0][0] == 46


def test_sample_long_history_in_demand_history(sample_con):
    lengths = sample_con.execute(
        "SELECT n, count(*) FROM (SELECT count(*) AS n FROM demand_history GROUP BY store_id, item_id) GROUP BY n "
        "ORDER BY n").fetchall()
    assert lengths == [(28, 3049 - 28), (1941, 28)]  # d_1..d_1941 for the 28 long series, no day twice
    dupes = sample_con.execute("SELECT count(*) FROM (SELECT 1 FROM demand_history GROUP BY store_id, item_id, date "
                               "HAVING count(*) > 1)").fetchall()[0][0]
    assert dupes == 0


def test_shipment_references_are_resolved(sample_con):
    # a "See ASN-x (ID#:n)" weight takes row n's number
    row = sample_con.execute(
        "SELECT count(*) FILTER (WHERE shares_shipment_figures), "
        "count(*) FILTER (WHERE shares_shipment_figures AND weight_kg IS NOT NULL) FROM raw_shipments"
    ).fetchall()[0]
    assert row[0] == 2445
    assert 0 < row[1] <= row[0]


def test_demand_history_joins_prices_and_snap(sample_con):
    df = sample_con.execute("SELECT * FROM demand_history WHERE item_id = 'FOODS_3_090'").df()
    assert len(df) == 28 and df["sell_price"].notna().all()
    snap_days = set(df.loc[df["snap"] == 1, "date"].dt.day)
    assert snap_days == set(range(1, 11)) & set(df["date"].dt.day)  # CA SNAP: days 1-10


def test_ingest_names_missing_column(tmp_path: Path):
    bad = tmp_path / "prices.parquet"
    pd.DataFrame({"store_id": ["CA_1"], "item_id": ["X"], "wm_yr_wk": [11101]}).to_parquet(bad)
    con = duckdb.connect()
    with pytest.raises(FeedError, match=r"prices.*sell_price"):
        ingest.ingest_prices(con, bad)


def test_failed_load_keeps_previous_table(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ingest.ingest_calendar(con, SAMPLE_DIR / "m5" / "calendar.parquet")
    broken = tmp_path / "calendar.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(FeedError, match="calendar"):
        ingest.ingest_calendar(con, broken)
    assert row_count(con, "raw_calendar") == 1969


def test_read_table_reads_the_columns_asked_for_in_their_order():
    con = duckdb.connect()
    replace_table(con, "t", pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 1.5]}))
    assert list(read_table(con, "t").columns) == ["a", "b", "c"] == table_columns(con, "t")
    assert table_columns(con, "missing") == []
    picked = read_table(con, "t", ["c", "a"])
    assert list(picked.columns) == ["c", "a"] and picked["c"].tolist() == [0.5, 1.5]
    with pytest.raises(ValueError, match="invalid table or column name 'a; DROP TABLE t'"):
        read_table(con, "t", ["a; DROP TABLE t"])
    assert table_exists(con, "t")


def test_replace_table_is_atomic_and_rejects_bad_names():
    con = duckdb.connect()
    replace_table(con, "t", pd.DataFrame({"a": [1, 2]}))
    assert row_count(con, "t") == 2
    with pytest.raises(ValueError, match="invalid table or column name"):
        replace_table(con, "t; DROP TABLE t", pd.DataFrame({"a": [1]}))
    assert table_exists(con, "t")


def test_mart_sql_unknown():
    with pytest.raises(KeyError, match="unknown mart"):
        mart_sql("nope")


def test_shipment_stats_modes_and_ranges(sample_con):
    stats = sample_con.execute("SELECT * FROM shipment_stats").df()
    assert set(stats["mode"]) <= {"air", "road", "sea", "unknown"}
    assert stats["late_rate"].between(0, 1).all()
    assert (stats["freight_usd_per_kg"].dropna() > 0).all()
    assert "SCMS from RDC" not in set(stats["vendor"])


def test_feed_layout_doc_matches_the_loader():
    from warehouse.layout import layout_markdown

    doc = (Path(__file__).resolve().parents[2] / "docs" / "feed-layout.md").read_text()
    assert "## Canonical layout" in doc and "## Quarantine" in doc
    assert layout_markdown() in doc  # the documented table is the one the loader checks against


@pytest.fixture(scope="module")
def canonical_sample(tmp_path_factory) -> Path:
    from warehouse.convert import convert

    out = tmp_path_factory.mktemp("canonical")
    written = convert(SAMPLE_DIR, out)
    assert written["quarantined"] == 0 and written["pos"] == 3049 * 28 and written["pos_history"] == 28 * 1913
    return out


def test_convert_m5_noaa_usaid_to_canonical_layout(canonical_sample: Path, sample_con):
    paths = discover_feeds(canonical_sample)
    assert paths.layout == "canonical" and paths.fallbacks == ()
    # one file per day, and the long history of 28 series before those days in one bulk file
    assert len(paths.pos) == 28 and paths.pos[0].name == "2016-04-25.parquet"
    assert [p.name for p in paths.files("pos_history")] == ["history_2011-01-29_2016-04-24.parquet"]
    con = duckdb.connect()
    assert ingest.ingest_pos(con, paths.pos).rows_loaded == row_count(sample_con, "raw_pos")
    assert ingest.ingest_pos_history(con, paths.files("pos_history")).rows_loaded == row_count(
        sample_con, "raw_pos_history")
    ingest.ingest_weather(con, paths.files("weather"), paths.files("weather_stations"))
    ingest.ingest_shipments(con, paths.files("shipments"))
    ingest.ingest_suppliers(con, paths.files("suppliers"))
    for table in ("raw_weather", "raw_weather_key", "raw_shipments"):
        assert row_count(con, table) == row_count(sample_con, table), table
    # the round trip keeps NOAA's trace flags and USAID's resolved shipment figures
    trace = "SELECT sum(prcp_in_trace::INT) FROM raw_weather"
    assert con.execute(trace).fetchall() == sample_con.execute(trace).fetchall() != [(0,)]
    assert con.execute("SELECT count(weight_kg) FROM raw_shipments").fetchall() == sample_con.execute(
        "SELECT count(weight_kg) FROM raw_shipments").fetchall()
    from warehouse.crossfeed import shipment_vendors_known

    assert shipment_vendors_known(con).passed and row_count(con, "raw_suppliers") > 10


def test_convert_walmart_weekly_format(tmp_path: Path):
    """The Walmart weekly adapter on rows in its published columns (values made up for the format test)."""
    from warehouse.convert import convert

    src = tmp_path / "walmart_store_sales"
    src.mkdir()
    dates = pd.to_datetime(["2010-02-05", "2010-02-12", "2010-02-19"])
    pd.DataFrame({"Store": [1, 1, 1, 2], "Dept": [1, 1, 1, 7], "Date": list(dates) + [dates[0]],
                  "Weekly_Sales": [24924.5, 46039.49, -10.0, 100.4], "IsHoliday": [False, True, False, False]}
                 ).to_parquet(src / "train.parquet")
    pd.DataFrame({"Store": [1, 1, 1, 2, 2, 2], "Date": list(dates) * 2, "Temperature": [42.3, 38.5, 39.9, 40.0, 41.0, 42.0],
                  "IsHoliday": [False, True, False] * 2}).to_parquet(src / "features.parquet")
    out = tmp_path / "canonical"
    written = convert(src, out)
    assert written["pos"] == 4 and written["calendar"] == 3 and written["weather"] == 6
    paths = discover_feeds(out)
    con = duckdb.connect()
    report = ingest.ingest_pos(con, paths.pos, max_bad_share=0.5)
    assert report.rows_quarantined == 1 and "units: below 0" in report.reasons[0][1]  # a return week
    assert con.execute("SELECT store_id, item_id, units FROM raw_pos ORDER BY date LIMIT 1").fetchall() == [
        ("WM_1", "DEPT_01", 24925)]
    ingest.ingest_prices(con, paths.files("prices"))
    ingest.ingest_calendar(con, paths.files("calendar"))
    cal = con.execute("SELECT wday, weekday, event_name_1 FROM raw_calendar ORDER BY date").fetchall()
    assert cal[0][:2] == (7, "Friday") and cal[1][2] == "Holiday week"
    from warehouse.crossfeed import pos_items_priced_and_dated

    assert pos_items_priced_and_dated(con).passed


def test_demand_history_fills_a_quarantined_day_and_flags_it(tmp_path, sample_db):
    shutil.copy(sample_db, tmp_path / "w.duckdb")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("DELETE FROM raw_pos WHERE item_id = 'FOODS_3_090' AND date = DATE '2016-05-02'")
    from warehouse.marts import build_mart

    build_mart(con, "demand_history")
    rows = con.execute(
        "SELECT date, units, units_imputed FROM demand_history WHERE item_id = 'FOODS_3_090' ORDER BY date"
    ).df()
    assert len(rows) == 28
    gap = rows[rows["date"] == pd.Timestamp("2016-05-02")]
    assert gap["units"].tolist() == [0] and gap["units_imputed"].tolist() == [True]
    assert int(rows["units_imputed"].sum()) == 1
    # a quarantined row is a lost record, not a day without demand: the same weekday's mean of the
    # 4 weeks before it (05-13, 05-06, 04-29 and 04-22, those that loaded), rounded
    item, day = "FOODS_3_120", pd.Timestamp("2016-05-20")
    before = con.execute(
        "SELECT units FROM raw_pos WHERE item_id = ? AND date IN ('2016-05-13', '2016-05-06', '2016-04-29') "
        "UNION ALL SELECT units FROM raw_pos_history WHERE item_id = ? AND date = '2016-04-22'", [item, item]).df()
    assert 3 <= len(before) <= 4
    con.execute("INSERT INTO quarantine_pos BY NAME SELECT 'pos/2016-05-20.csv' AS source_file, "
                "'units: below 0' AS reason, to_json({'store_id': store_id, 'item_id': item_id, "
                "'date': date::VARCHAR, 'units': '-5'}) AS raw_row, now()::TIMESTAMP AS loaded_at, date "
                "FROM raw_pos WHERE item_id = ? AND date = ?", [item, day])
    con.execute("DELETE FROM raw_pos WHERE item_id = ? AND date = ?", [item, day])
    build_mart(con, "demand_history")
    lost = con.execute("SELECT units, units_imputed, units_quarantined FROM demand_history "
                       "WHERE item_id = ? AND date = ?", [item, day]).fetchall()
    assert lost == [(int(np.floor(before["units"].mean() + 0.5)), True, True)]  # DuckDB rounds halves up
    # the plain gap above stays a zero-sales day
    assert con.execute("SELECT units, units_quarantined FROM demand_history WHERE item_id = 'FOODS_3_090' "
                       "AND date = DATE '2016-05-02'").fetchall() == [(0, False)]
    assert con.execute("SELECT count(*) FROM demand_history WHERE units_quarantined").fetchall()[0][0] == 1
    # a day no series reports is not invented
    con.execute("DELETE FROM raw_pos WHERE date = DATE '2016-05-03'")
    build_mart(con, "demand_history")
    assert con.execute("SELECT count(*) FROM demand_history WHERE date = DATE '2016-05-03'").fetchall()[0][0] == 0


def test_tables_written_and_queries_read_side_by_side(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    frames = {f"t{i}": pd.DataFrame({"k": range(1000 * (i + 1)), "v": [float(i)] * 1000 * (i + 1)}) for i in range(3)}
    assert replace_tables(con, frames) == {"t0": 1000, "t1": 2000, "t2": 3000}
    out = query_frames(con, {"big": ("SELECT count(*) AS n, sum(v) AS s FROM t2 WHERE k >= ?", [100]),
                             "small": ("SELECT * FROM t0 ORDER BY k LIMIT ?", [5])})
    assert out["big"].to_dict("records") == [{"n": 2900, "s": 5800.0}]
    assert out["small"]["k"].tolist() == [0, 1, 2, 3, 4]
    # text as categoricals (through Arrow) on request: the same values, dates still dates
    con.execute("CREATE TABLE h AS SELECT 'S' || (i % 3) AS store_id, DATE '2016-01-01' + CAST(i AS INTEGER) AS date, i AS units "
                "FROM range(6) t(i)")
    plain, coded = (query_frames(con, {"h": ("SELECT * FROM h WHERE units >= ? ORDER BY units", [1])},
                                 categorical=cat)["h"] for cat in ((), ("h",)))
    assert isinstance(coded["store_id"].dtype, pd.CategoricalDtype) and plain["store_id"].dtype == object
    assert coded["store_id"].astype(str).tolist() == plain["store_id"].tolist() == ["S1", "S2", "S0", "S1", "S2"]
    assert pd.api.types.is_datetime64_any_dtype(coded["date"])
    assert (coded["date"] == plain["date"]).all() and coded["units"].tolist() == [1, 2, 3, 4, 5]
    # a failing write is raised; the tables written beside it are whole, the bad one untouched
    with pytest.raises(ValueError, match="invalid table or column name"):
        replace_tables(con, {"t0": frames["t1"], "bad name": frames["t0"]})
    assert row_count(con, "t0") == 2000 and not table_exists(con, "bad name")
