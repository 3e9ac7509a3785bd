"""Long history beside recent POS, store-level weather, date-keyed prices, optional feeds and the
bakery conversion, on tiny hand-made folders whose expected values are worked out by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from warehouse import crossfeed, ingest
from warehouse.feeds import SAMPLE_DIR, discover_feeds
from warehouse.marts import MARTS, build_mart

D = pd.Timestamp


def _load_all(con: duckdb.DuckDBPyConnection, data: Path) -> dict[str, object]:
    """Every feed of ``data`` through the real loaders, then every mart (what a run does)."""
    paths = discover_feeds(data)
    reports = {
        "pos": ingest.ingest_pos(con, paths.pos),
        "pos_history": ingest.ingest_pos_history(con, paths.files("pos_history")),
        "prices": ingest.ingest_prices(con, paths.files("prices")),
        "calendar": ingest.ingest_calendar(con, paths.files("calendar")),
        "events": ingest.ingest_events(con, paths.files("events")),
        "promotions": ingest.ingest_promotions(con, paths.files("promotions")),
        "weather": ingest.ingest_weather(con, paths.files("weather"), paths.files("weather_stations")),
    }
    for name in MARTS[:-1]:  # shipment_stats needs shipments, which these folders do not carry
        build_mart(con, name)
    return reports


def _m5_sales(item: str, store: str, start: str, units: list[int], suffix: str) -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(units))
    return pd.DataFrame({"id": f"{item}_{store}_{suffix}", "item_id": item, "dept_id": item.rsplit("_", 1)[0],
                         "cat_id": item.split("_")[0], "store_id": store, "state_id": store.split("_")[0],
                         "d": "d_0", "date": dates.date, "sales": pd.Series(units, dtype="int16")})


@pytest.fixture()
def m5_with_history(tmp_path: Path) -> Path:
    """An M5 folder (2 days of 2 series) with m5_history/ beside it (3 earlier days of one series,
    the last of which the M5 folder also holds, with another value) and weather_ghcn/."""
    m5 = tmp_path / "m5"
    m5.mkdir()
    calendar = pd.read_parquet(SAMPLE_DIR / "m5" / "calendar.parquet")
    calendar.to_parquet(m5 / "calendar.parquet")
    pd.DataFrame({"store_id": "CA_1", "item_id": ["FOODS_1_001", "FOODS_1_002"], "wm_yr_wk": 11613,
                  "sell_price": [2.0, 3.5]}).to_parquet(m5 / "sell_prices.parquet")
    recent = pd.concat([_m5_sales("FOODS_1_001", "CA_1", "2016-04-26", [5, 6], "evaluation"),
                        _m5_sales("FOODS_1_002", "CA_1", "2016-04-26", [0, 1], "evaluation")])
    recent.to_parquet(m5 / "sales_d1915_d1916.parquet")
    (tmp_path / "m5_history").mkdir()
    # 04-24, 04-25, 04-26: the last day is in the M5 folder too (6 there, 99 here): the M5 folder wins
    _m5_sales("FOODS_1_001", "CA_1", "2016-04-24", [3, 4, 99], "validation").to_parquet(
        tmp_path / "m5_history" / "sales_d1913_d1915.parquet")
    ghcn = tmp_path / "weather_ghcn"
    ghcn.mkdir()
    pd.DataFrame({"station": "USX1", "date": pd.date_range("2016-04-26", periods=4).date,
                  "tmax_f": [70.0, 72.5, 68.0, 65.0], "tmin_f": [50.0, 51.0, 49.5, 45.0],
                  "prcp_in": [0.0, 0.12, None, 0.5], "snow_in": 0.0, "snwd_in": 0.0}).to_parquet(ghcn / "daily.parquet")
    (ghcn / "m5_store_station.csv").write_text("store_id,station\nCA_1,USX1\n")
    return m5


def test_history_beside_m5_is_earlier_history_without_overlap(m5_with_history: Path):
    paths = discover_feeds(m5_with_history)
    assert [p.parent.name for p in paths.pos] == ["m5"]  # the day partitions: only the M5 folder's days
    assert [p.parent.name for p in paths.files("pos_history")] == ["m5_history"]
    con = duckdb.connect()
    reports = _load_all(con, m5_with_history)
    assert (reports["pos"].rows_loaded, reports["pos_history"].rows_loaded) == (4, 3)
    from warehouse.marts import mart_stats

    # the history's 04-26 (99) gives way to the M5 folder's (6): one day taken from raw_pos, none twice
    stats = mart_stats(con, "demand_history")
    assert (stats["history_days_taken_from_pos"], stats["longest_series_days"], stats["shortest_series_days"]) == (
        1, 4, 2)
    got = con.execute("SELECT item_id, date::VARCHAR, units FROM demand_history ORDER BY ALL").fetchall()
    assert got == [("FOODS_1_001", "2016-04-24", 3), ("FOODS_1_001", "2016-04-25", 4),
                   ("FOODS_1_001", "2016-04-26", 5), ("FOODS_1_001", "2016-04-27", 6),
                   ("FOODS_1_002", "2016-04-26", 0), ("FOODS_1_002", "2016-04-27", 1)]
    # week 11613 is 2016-04-23..04-29 in the M5 calendar: the price holds on all four days
    prices = con.execute("SELECT item_id, min(sell_price), max(sell_price), count(sell_price) FROM demand_history "
                         "GROUP BY 1 ORDER BY 1").fetchall()
    assert prices == [("FOODS_1_001", 2.0, 2.0, 4), ("FOODS_1_002", 3.5, 3.5, 2)]


def test_ghcn_weather_beside_m5_is_store_weather_observed_then_forecast(m5_with_history: Path):
    con = duckdb.connect()
    _load_all(con, m5_with_history)
    rows = con.execute("SELECT store_id, date::VARCHAR, tmax_f, tmin_f, prcp_in, snow_in, source, tavg_f, station, "
                       "station_proxy FROM store_weather ORDER BY date").fetchall()
    # last POS day is 2016-04-27: the two later days are a weather forecast; the M5 map is a state proxy
    assert rows == [
        ("CA_1", "2016-04-26", 70.0, 50.0, 0.0, 0.0, "observed", 60.0, "USX1", True),
        ("CA_1", "2016-04-27", 72.5, 51.0, 0.12, 0.0, "observed", 61.75, "USX1", True),
        ("CA_1", "2016-04-28", 68.0, 49.5, None, 0.0, "forecast", 58.75, "USX1", True),
        ("CA_1", "2016-04-29", 65.0, 45.0, 0.5, 0.0, "forecast", 55.0, "USX1", True),
    ]


def test_store_weather_prefers_a_stores_own_weather_and_reads_noaa(tmp_path: Path):
    con = duckdb.connect()
    pos = tmp_path / "pos.csv"
    pos.write_text("store_id,item_id,date,units\nS1,A,2016-01-02,1\n")
    ingest.ingest_pos(con, [pos])
    weather = tmp_path / "weather.csv"  # NOAA daily summaries: text, M = missing, T = trace
    weather.write_text("station_nbr,date,tmax,tmin,tavg,preciptotal,snowfall,codesum\n"
                       "7,2016-01-01,40,30,M,  T,0.0,RA\n7,2016-01-02,42,31,37,0.25,M, \n")
    key = tmp_path / "key.csv"
    key.write_text("store_nbr,station_nbr\n1,7\n2,7\n")
    own = tmp_path / "own.csv"  # store 2 also has its own weather on 01-02: it wins over the station's
    own.write_text("store_id,date,tmax_f,tmin_f\n2,2016-01-02,50,35\n")
    ingest.ingest_weather(con, [weather, own], [key])
    build_mart(con, "store_weather")
    got = con.execute("SELECT store_id, date::VARCHAR, tmax_f, tmin_f, prcp_in, snow_in, source, tavg_f, station "
                      "FROM store_weather ORDER BY ALL").fetchall()
    assert got == [
        ("1", "2016-01-01", 40.0, 30.0, 0.0, 0.0, "observed", 35.0, "7"),
        ("1", "2016-01-02", 42.0, 31.0, 0.25, None, "observed", 37.0, "7"),
        ("2", "2016-01-01", 40.0, 30.0, 0.0, 0.0, "observed", 35.0, "7"),
        ("2", "2016-01-02", 50.0, 35.0, None, None, "observed", 42.5, None),
    ]
    assert con.execute("SELECT prcp_in_trace FROM raw_weather WHERE station = '7' ORDER BY date").fetchall() == [
        (True,), (False,)]


def test_prices_keyed_by_week_start_and_validity_range(tmp_path: Path):
    (tmp_path / "pos").mkdir()
    days = pd.date_range("2020-03-01", "2020-03-10")
    pd.DataFrame({"store_id": "S", "item_id": ["A"] * 10 + ["B"] * 10, "date": list(days.date) * 2,
                  "units": 1}).to_parquet(tmp_path / "pos" / "pos.parquet")
    (tmp_path / "prices").mkdir()
    # A: weeks starting 03-01 (2.00) and 03-08 (2.50); B: 4.00 from 03-03 until the next price,
    # 3.00 from 03-06 to 03-07, then nothing (off the shelf) from 03-08
    (tmp_path / "prices" / "weeks.csv").write_text("store_id,item_id,week_start,sell_price\n"
                                                    "S,A,2020-03-01,2.00\nS,A,2020-03-08,2.50\n")
    (tmp_path / "prices" / "ranges.csv").write_text("store_id,item_id,valid_from,valid_to,sell_price\n"
                                                     "S,B,2020-03-03,,4.00\nS,B,2020-03-06,2020-03-07,3.00\n")
    con = duckdb.connect()
    _load_all(con, tmp_path)
    periods = con.execute("SELECT item_id, valid_from::VARCHAR, valid_to::VARCHAR, sell_price FROM price_periods "
                          "ORDER BY ALL").fetchall()
    assert periods == [("A", "2020-03-01", "2020-03-07", 2.0), ("A", "2020-03-08", "2020-03-14", 2.5),
                       ("B", "2020-03-03", "2020-03-05", 4.0), ("B", "2020-03-06", "2020-03-07", 3.0)]
    got = con.execute("SELECT item_id, day(date), sell_price, round(price_change_pct, 4) FROM demand_history "
                      "ORDER BY ALL").df()
    a, b = got[got["item_id"] == "A"], got[got["item_id"] == "B"]
    assert a["sell_price"].tolist() == [2.0] * 7 + [2.5] * 3
    assert a["round(price_change_pct, 4)"].tolist() == [0.0] * 7 + [0.25] * 3  # 2.50 / 2.00 - 1
    assert b["sell_price"].isna().tolist() == [True, True, False, False, False, False, False, True, True, True]
    assert b["sell_price"].dropna().tolist() == [4.0, 4.0, 4.0, 3.0, 3.0]
    assert b["round(price_change_pct, 4)"].tolist()[5:7] == [-0.25, -0.25]  # 3.00 / 4.00 - 1


def test_canonical_folder_with_pos_only_runs_the_warehouse(tmp_path: Path):
    (tmp_path / "pos").mkdir()
    (tmp_path / "pos" / "2016-04-25.csv").write_text("store_id,item_id,date,units\nS9,X_1,2016-04-25,4\n")
    (tmp_path / "pos" / "2016-04-30.csv").write_text("store_id,item_id,date,units\nS9,X_1,2016-04-30,2\n")
    paths = discover_feeds(tmp_path)
    assert paths.files("prices") == paths.files("calendar") == paths.files("weather") == ()
    assert set(paths.fallbacks) == {"shipments", "emission_factors"}  # logistics reference data only
    con = duckdb.connect()
    reports = _load_all(con, tmp_path)
    assert reports["pos"].rows_loaded == 2 and all(r is None for k, r in reports.items() if k != "pos")
    for table in ("raw_prices", "raw_calendar", "raw_events", "raw_promotions", "raw_weather", "raw_weather_key",
                  "price_periods", "store_weather"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)], table
    # no calendar: week (its Saturday, YYYYMMDD), Walmart weekday (Saturday = 1), month and year from the date
    got = con.execute("SELECT date::VARCHAR, units, sell_price, wm_yr_wk, wday, month, year, is_event, snap, "
                      "on_promotion FROM demand_history ORDER BY date").fetchall()
    assert got == [("2016-04-25", 4, None, 20160423, 3, 4, 2016, False, 0, 0),
                   ("2016-04-30", 2, None, 20160430, 1, 4, 2016, False, 0, 0)]
    assert crossfeed.pos_items_priced_and_dated(con).passed  # absent prices and calendar: nothing to cross-check


def _bakery_source(src: Path) -> None:
    """The layout of ``../shared/data/bakery`` with values like the real ones (two stores, two
    products, three demand days; the calendar runs two days further, as the real one does)."""
    src.mkdir()
    days = [dt.date(2019, 3, 31), dt.date(2019, 4, 1), dt.date(2019, 4, 2)]
    keys = pd.MultiIndex.from_product([days, [2, 5], [101, 109]], names=["date", "store_id", "item_id"]).to_frame(
        index=False).astype({"store_id": "int32", "item_id": "int32"})
    demand = keys.assign(units=[float(x) for x in range(12)])
    demand.loc[0, "units"] = 1155.5  # the source's fractional values: rounded half away from zero
    demand.loc[1, "units"] = 56.063
    demand.to_parquet(src / "demand.parquet")
    keys.assign(promotion_current_week=[1, 0] * 6, promotion_last_week=0).astype(
        {"promotion_current_week": "int32", "promotion_last_week": "int32"}).to_parquet(src / "promotions.parquet")
    pd.DataFrame({"date": [d for d in days for _ in (2, 5)], "store_id": [2, 5] * 3,
                  "rain_mm": [25.4, 0.0, 12.7, 0.0, 0.0, 2.54], "temp_avg_celsius": [10.0, 11.0, 0.0, 1.0, 5.0, 6.0],
                  "temp_max_celsius": [15.0, 16.2, 2.8, 3.0, 8.0, 9.0],
                  "temp_min_celsius": [5.0, 6.0, -2.5, -1.0, 2.0, 3.0]}).astype({"store_id": "int32"}).to_parquet(
        src / "weather.parquet")
    cal_days = [*days, dt.date(2019, 4, 3), dt.date(2019, 4, 4)]
    cal = pd.DataFrame({"date": [d for d in cal_days for _ in (2, 5)], "store_id": [2, 5] * 5}).astype(
        {"store_id": "int32"})
    cal["is_holiday"] = cal["date"] == dt.date(2019, 4, 4)  # both stores: one event for every store
    cal["is_holiday_next2days"] = cal["date"].isin([dt.date(2019, 4, 2), dt.date(2019, 4, 3)])
    cal["is_schoolholiday"] = (cal["date"] >= dt.date(2019, 4, 3)) & (cal["store_id"] == 5)  # store 5 only
    cal.to_parquet(src / "calendar.parquet")


def test_bakery_conversion_on_a_tiny_slice(tmp_path: Path, capsys):
    from warehouse.convert import main

    src, out = tmp_path / "bakery", tmp_path / "out"
    _bakery_source(src)
    assert main(["bakery", str(src), str(out)]) == 0
    # nothing beside the source holds logistics: the output lacks them and the user is told how to plan
    assert not (out / "shipments").exists() and not (out / "emission_factors").exists()
    printed = capsys.readouterr()
    assert "--sample-logistics" in printed.err
    # what was written, under a heading, per feed folder
    assert printed.out.startswith(f"wrote bakery data from {src} in the canonical feed layout to {out}:")
    assert any(line.split() == ["pos/", "12"] for line in printed.out.splitlines())  # 3 days x 4 series
    # three days, all within the last 28: one file per day, no bulk history
    assert sorted(p.name for p in (out / "pos").iterdir()) == ["2019-03-31.parquet", "2019-04-01.parquet",
                                                              "2019-04-02.parquet"]
    assert not (out / "pos_history").exists()
    pos = pd.read_parquet(out / "pos" / "2019-03-31.parquet")
    assert pos["units"].tolist() == [1156, 56, 2, 3] and pos["store_id"].tolist() == ["2", "2", "5", "5"]
    weather = pd.read_parquet(out / "weather" / "weather.parquet").set_index(["store_id", "date"])
    first = weather.loc[("2", dt.date(2019, 3, 31))]
    # 15.0 degC = 59 degF, 5.0 degC = 41 degF, 25.4 mm = 1 inch
    assert (first["tmax_f"], first["tmin_f"], first["tavg_f"], first["prcp_in"]) == (59.0, 41.0, 50.0, 1.0)
    assert weather.loc[("5", dt.date(2019, 3, 31)), "tmax_f"] == pytest.approx(61.16)  # 16.2 * 1.8 + 32
    assert weather.loc[("2", dt.date(2019, 4, 1)), "tmin_f"] == pytest.approx(27.5)  # -2.5 degC
    events = pd.read_parquet(out / "events" / "events.parquet")
    assert events.astype(str).values.tolist() == [
        ["2019-04-03", "School holiday", "School", "5"],
        ["2019-04-04", "Public holiday", "Holiday", "None"],
        ["2019-04-04", "School holiday", "School", "5"],
    ]
    con = duckdb.connect()
    reports = _load_all(con, out)
    assert all(r is None or r.rows_quarantined == 0 for r in reports.values())
    # calendar days after the last demand day are known future inputs
    assert con.execute("SELECT max(date)::VARCHAR FROM raw_calendar").fetchall() == [("2019-04-04",)]
    got = con.execute("SELECT store_id, item_id, date::VARCHAR, units, on_promotion, sell_price FROM demand_history "
                      "WHERE date = DATE '2019-03-31' ORDER BY ALL").fetchall()
    assert got == [("2", "101", "2019-03-31", 1156, 1, None), ("2", "109", "2019-03-31", 56, 0, None),
                   ("5", "101", "2019-03-31", 2, 1, None), ("5", "109", "2019-03-31", 3, 0, None)]
    assert con.execute("SELECT count(*), count(DISTINCT store_id), bool_and(source = 'observed'), "
                       "bool_or(station_proxy) FROM store_weather").fetchall() == [(6, 2, True, False)]


def test_bakery_conversion_takes_the_public_logistics_beside_the_source(tmp_path: Path, capsys):
    import shutil

    from warehouse.convert import main

    src, out = tmp_path / "bakery", tmp_path / "out"
    _bakery_source(src)
    shutil.copytree(SAMPLE_DIR / "usaid_scms_shipments", tmp_path / "usaid_scms_shipments")
    shutil.copy(SAMPLE_DIR / "freight_emission_factors.csv", tmp_path / "freight_emission_factors.csv")
    assert main(["bakery", str(src), str(out)]) == 0
    assert "USAID SCMS shipments and freight emission factors" in capsys.readouterr().out
    con = duckdb.connect()
    ingest.ingest_shipments(con, SAMPLE_DIR / "usaid_scms_shipments" / "shipments.parquet")
    expected = con.execute("SELECT count(*), count(DISTINCT vendor) FROM raw_shipments").fetchall()[0]
    assert (len(pd.read_parquet(out / "shipments" / "shipments.parquet")),
            len(pd.read_parquet(out / "suppliers" / "suppliers.parquet"))) == expected
    factors = pd.read_csv(SAMPLE_DIR / "freight_emission_factors.csv")
    assert len(pd.read_parquet(out / "emission_factors" / "emission_factors.parquet")) == len(factors)
    # the output plans on its own: every logistics feed is found in it
    paths = discover_feeds(out)
    assert paths.files("shipments") and paths.files("emission_factors")
