"""A catalogue of bad inputs, built from the real sample (copied, then corrupted in a temp folder).

Each case is loaded on top of a warehouse that already holds good tables. It must either fail
with an error naming the file and the column (and the row count where rows are the problem),
or quarantine exactly the bad rows with a reason naming the column; and the good tables loaded
before (other POS days, prices, calendar) must survive unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from warehouse import crossfeed, ingest
from warehouse.feeds import SAMPLE_DIR, FeedError

DAYS = pd.date_range("2016-04-25", "2016-04-28")  # the good warehouse holds 4 days; bad files cover the first 3
N_ITEMS = 400


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    """Small real frames: 400 CA_1 items x 4 days of POS, their prices, the whole calendar."""
    sales = pd.read_parquet(SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet")
    sales["date"] = pd.to_datetime(sales["date"])
    items = sorted(sales["item_id"].unique())[:N_ITEMS]
    pos = sales[sales["item_id"].isin(items) & sales["date"].isin(DAYS)]
    pos = pos[["store_id", "item_id", "date", "sales"]].rename(columns={"sales": "units"}).astype({"units": "int64"})
    prices = pd.read_parquet(SAMPLE_DIR / "m5" / "sell_prices.parquet")
    prices = prices[prices["item_id"].isin(items)].reset_index(drop=True)
    calendar = pd.read_parquet(SAMPLE_DIR / "m5" / "calendar.parquet")
    calendar["date"] = pd.to_datetime(calendar["date"])
    weather = pd.read_parquet(SAMPLE_DIR / "walmart_stormy_weather" / "weather.parquet").head(300)
    return {"pos": pos.sort_values(["date", "item_id"]).reset_index(drop=True), "prices": prices,
            "calendar": calendar, "weather": weather}


@dataclass
class Good:
    con: duckdb.DuckDBPyConnection
    tmp: Path
    frames: dict[str, pd.DataFrame]

    def bad_pos(self) -> pd.DataFrame:
        """The first 3 days of the good POS: a bad file corrupts some of these rows."""
        pos = self.frames["pos"]
        return pos[pos["date"] < DAYS[-1]].reset_index(drop=True)

    def snapshot(self) -> dict[str, object]:
        q = lambda sql: self.con.execute(sql).fetchall()  # noqa: E731
        return {
            "last_day": q(f"SELECT count(*), sum(units) FROM raw_pos WHERE date = DATE '{DAYS[-1].date()}'"),
            "prices": q("SELECT count(*), sum(sell_price) FROM raw_prices"),
            "calendar": q("SELECT count(*) FROM raw_calendar"),
        }


@pytest.fixture()
def good(tmp_path: Path, frames) -> Good:
    """A warehouse with good POS (4 days), prices and calendar, loaded by the real loaders."""
    for name in ("pos", "prices", "calendar"):
        frames[name].to_parquet(tmp_path / f"good_{name}.parquet")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ingest.ingest_calendar(con, tmp_path / "good_calendar.parquet")
    ingest.ingest_prices(con, tmp_path / "good_prices.parquet")
    ingest.ingest_pos(con, [tmp_path / "good_pos.parquet"])
    yield Good(con, tmp_path, frames)
    con.close()


def _csv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def _parquet(df: pd.DataFrame, path: Path) -> Path:
    df.to_parquet(path, index=False)
    return path


# -- bad file builders: (good warehouse) -> (feed, file) ----------------------------------------------

def _missing_column(g: Good):
    return "pos", _parquet(g.bad_pos().drop(columns=["units"]), g.tmp / "pos_missing_units.parquet")


def _renamed_column(g: Good):
    return "prices", _parquet(g.frames["prices"].rename(columns={"sell_price": "price"}), g.tmp / "prices_renamed.parquet")


def _wrong_type(g: Good):
    df = g.bad_pos().astype({"units": "object"})
    df.loc[[3, 50, 77, 120, 300], "units"] = "three"
    return "pos", _csv(df, g.tmp / "pos_wrong_type.csv")


def _negative_units(g: Good):
    df = g.bad_pos()
    df.loc[df.index[10:17], "units"] = -3
    return "pos", _parquet(df, g.tmp / "pos_negative.parquet")


def _null_keys(g: Good):
    df = g.bad_pos()
    df.loc[[1, 2, 3, 4], "item_id"] = None
    return "pos", _parquet(df, g.tmp / "pos_null_item.parquet")


def _duplicate_keys(g: Good):
    df = g.bad_pos()
    return "pos", _parquet(pd.concat([df, df.iloc[[5, 6, 7]]], ignore_index=True), g.tmp / "pos_dupes.parquet")


def _future_dates(g: Good):
    df = g.bad_pos()
    df.loc[[0, 1], "date"] = pd.Timestamp("2099-01-01")
    return "pos", _parquet(df, g.tmp / "pos_future.parquet")


def _too_old_dates(g: Good):
    df = g.bad_pos()
    df.loc[[0, 1, 2], "date"] = pd.Timestamp("1999-12-31")
    return "pos", _parquet(df, g.tmp / "pos_too_old.parquet")


def _non_utf8(g: Good):
    path = _csv(g.bad_pos(), g.tmp / "pos_latin1.csv")
    lines = path.read_bytes().split(b"\n")
    for i in (5, 9):  # two lines get Latin-1 bytes in the item id
        lines[i] = lines[i].replace(b"CA_1,", b"CA_1,\xe9\xff", 1)
    path.write_bytes(b"\n".join(lines))
    return "pos", path


def _truncated_parquet(g: Good):
    good = _parquet(g.bad_pos(), g.tmp / "full.parquet").read_bytes()
    path = g.tmp / "pos_truncated.parquet"
    path.write_bytes(good[: len(good) // 2])
    return "pos", path


def _corrupt_parquet(g: Good):
    path = g.tmp / "prices_corrupt.parquet"
    path.write_bytes(b"PAR1" + bytes(range(256)) * 40)
    return "prices", path


def _empty_file(g: Good):
    path = g.tmp / "calendar_empty.csv"
    path.write_bytes(b"")
    return "calendar", path


def _header_only(g: Good):
    return "pos", _csv(g.bad_pos().head(0), g.tmp / "pos_header_only.csv")


def _nan_inf(g: Good):
    df = g.frames["prices"].copy()
    df.loc[[0, 1], "sell_price"] = [np.nan, np.inf]
    return "prices", _parquet(df, g.tmp / "prices_nan_inf.parquet")


def _zero_price(g: Good):
    df = g.frames["prices"].copy()
    df.loc[[4, 5, 6], "sell_price"] = 0.0
    return "prices", _parquet(df, g.tmp / "prices_zero.parquet")


def _huge_units(g: Good):
    df = g.bad_pos()
    df.loc[[7, 8, 9], "units"] = 5_000_000
    return "pos", _parquet(df, g.tmp / "pos_huge.parquet")


def _overflow_units(g: Good):
    df = g.bad_pos()
    df.loc[[7, 8], "units"] = 10**12
    return "pos", _parquet(df, g.tmp / "pos_overflow.parquet")


def _fractional_units(g: Good):
    df = g.bad_pos().astype({"units": "float64"})
    df.loc[[11, 12], "units"] = 2.5
    return "pos", _parquet(df, g.tmp / "pos_fractional.parquet")


def _mixed_date_formats(g: Good):
    df = g.bad_pos().astype({"date": "object"})
    df["date"] = [d.strftime("%Y-%m-%d") for d in df["date"]]
    df.loc[[20, 21, 22, 23], "date"] = [pd.Timestamp(d).strftime("%m/%d/%Y") for d in df.loc[[20, 21, 22, 23], "date"]]
    return "pos", _csv(df, g.tmp / "pos_mixed_dates.csv")


def _wrong_delimiter(g: Good):
    path = g.tmp / "pos_semicolon.csv"
    g.bad_pos().to_csv(path, index=False, sep=";", date_format="%Y-%m-%d")
    return "pos", path


def _ragged_line(g: Good):
    path = _csv(g.bad_pos(), g.tmp / "pos_ragged.csv")
    lines = path.read_text().split("\n")
    lines[4] += ",surplus"
    path.write_text("\n".join(lines))
    return "pos", path


def _missing_file(g: Good):
    return "calendar", g.tmp / "nowhere" / "calendar.csv"


def _bad_share_above_threshold(g: Good):
    df = g.bad_pos()
    df.loc[df.index[: len(df) // 3], "units"] = -1
    return "pos", _parquet(df, g.tmp / "pos_mostly_negative.parquet")


def _implausible_weather(g: Good):
    df = g.frames["weather"].copy()
    df.loc[[0, 1], "tmax"] = ["190", "250"]
    return "weather", _parquet(df, g.tmp / "weather_hot.parquet")


def _promotion_flag_out_of_range(g: Good):
    df = g.bad_pos()[["store_id", "item_id", "date"]].assign(on_promotion=0, discount_pct=None)
    df.loc[[3, 4, 5], "on_promotion"] = 2
    df.loc[[6], "discount_pct"] = 120.0
    return "promotions", _parquet(df, g.tmp / "promotions_flag.parquet")


def _promotions_without_flag(g: Good):
    df = g.bad_pos()[["store_id", "item_id", "date"]].assign(discount=10.0)
    return "promotions", _parquet(df, g.tmp / "promotions_no_flag.parquet")


def _event_without_name(g: Good):
    days = pd.date_range("2016-01-01", periods=60)
    df = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "event_name": [f"Day {i}" for i in range(60)],
                       "event_type": "Holiday"})
    df.loc[[7, 8], "event_name"] = [None, ""]
    return "events", _csv(df, g.tmp / "events_no_name.csv")


def _price_without_date_key(g: Good):
    df = g.frames["prices"].head(50).assign(week_start=None, valid_from=None)
    df.loc[[2, 3], "wm_yr_wk"] = None
    return "prices", _parquet(df, g.tmp / "prices_no_key.parquet")


def _prices_without_any_date_column(g: Good):
    df = g.frames["prices"].head(50).drop(columns=["wm_yr_wk"])
    return "prices", _parquet(df, g.tmp / "prices_no_week.parquet")


def _price_range_backwards(g: Good):
    starts = pd.date_range("2016-01-01", periods=40, freq="7D")
    df = pd.DataFrame({"store_id": "CA_1", "item_id": "A", "valid_from": starts.strftime("%Y-%m-%d"),
                       "valid_to": (starts + pd.Timedelta(days=6)).strftime("%Y-%m-%d"), "sell_price": 1.0})
    df.loc[[5], "valid_to"] = "2015-12-31"
    df.loc[[6], "valid_to"] = ""  # open-ended: valid until the next price
    return "prices", _csv(df, g.tmp / "prices_backwards.csv")


def _weather_without_station_or_store(g: Good):
    days = pd.date_range("2016-01-01", periods=40).strftime("%Y-%m-%d")
    df = pd.DataFrame({"station": "USW1", "store_id": None, "date": days, "tmax_f": 70.0})
    df.loc[[9], "station"] = None
    return "weather", _csv(df, g.tmp / "weather_no_key.csv")


def _ghcn_implausible(g: Good):
    df = pd.DataFrame({"station": "USW1", "date": pd.date_range("2016-01-01", periods=60).date, "tmax_f": 70.0,
                       "tmin_f": 50.0, "prcp_in": 0.0, "snow_in": 0.0, "snwd_in": 0.0})
    df.loc[[3, 4], "tmax_f"] = [171.0, 140.0]
    df.loc[[4], "prcp_in"] = -0.2  # the same row: one quarantined row, two reasons
    return "weather", _parquet(df, g.tmp / "daily_hot.parquet")


def _weather_station_map_duplicate(g: Good):
    df = pd.DataFrame({"store_id": [f"S_{i}" for i in range(60)], "station": "USW1"})
    df.loc[[1], "store_id"] = "S_0"  # S_0 mapped to two stations: neither can be trusted
    df.loc[[1], "station"] = "USW2"
    return "weather_stations", _csv(df, g.tmp / "m5_store_station.csv")


def _bad_wday(g: Good):
    df = g.frames["calendar"].copy()
    df.loc[[100], "wday"] = 9
    return "calendar", _parquet(df, g.tmp / "calendar_wday.parquet")


@dataclass
class Case:
    name: str
    build: Callable[[Good], tuple[str, Path]]
    error: str | None = None  # regex the FeedError must match (besides the file name)
    reason: str | None = None  # quarantine reason substring
    count: int = 0  # quarantined rows


CATALOGUE = [
    Case("missing column", _missing_column, error=r"lacks column\(s\) units"),
    Case("renamed column", _renamed_column, error=r"lacks column\(s\) sell_price"),
    Case("wrong type", _wrong_type, reason="units: not INTEGER", count=5),
    Case("negative units", _negative_units, reason="units: below 0", count=7),
    Case("null keys", _null_keys, reason="item_id: missing", count=4),
    Case("duplicate keys", _duplicate_keys, reason="duplicate key (store_id, item_id, date)", count=6),
    Case("future dates", _future_dates, reason="date: in the future", count=2),
    Case("dates before the window", _too_old_dates, reason="date: before 2010-01-01", count=3),
    Case("non-UTF-8 bytes", _non_utf8, reason="invalid encoding in item_id", count=2),
    Case("truncated parquet", _truncated_parquet, error=r"cannot read"),
    Case("corrupt parquet", _corrupt_parquet, error=r"cannot read"),
    Case("empty file", _empty_file, error=r"is empty \(0 bytes\)"),
    Case("header-only CSV", _header_only, error=r"no data rows"),
    Case("NaN / inf prices", _nan_inf, reason="sell_price: NaN or infinite", count=2),
    Case("zero prices", _zero_price, reason="sell_price: below or at 0", count=3),
    Case("huge values", _huge_units, reason="units: above 1e+06", count=3),
    Case("integer overflow", _overflow_units, reason="units: not INTEGER", count=2),
    Case("fractional units", _fractional_units, reason="units: not a whole number", count=2),
    Case("mixed date formats", _mixed_date_formats, reason="date: not DATE", count=4),
    Case("wrong delimiter", _wrong_delimiter, error=r"lacks column\(s\) store_id, item_id, date, units.*wrong delimiter"),
    Case("ragged CSV line", _ragged_line, reason="too many columns", count=1),
    Case("missing file", _missing_file, error=r"not found"),
    Case("bad share above threshold", _bad_share_above_threshold,
         error=r"400 of 1,200 rows bad \(33\.33%\), above max_bad_share 5\.00%.*units: below 0 \(400 rows\)"),
    Case("implausible weather", _implausible_weather, reason="tmax_f: above 135", count=2),
    Case("calendar weekday out of range", _bad_wday, reason="wday: above 7", count=1),
    Case("promotion flag out of range", _promotion_flag_out_of_range, reason="on_promotion: above 1", count=4),
    Case("promotions without the flag", _promotions_without_flag, error=r"lacks column\(s\) on_promotion"),
    Case("event without a name", _event_without_name, reason="event_name: missing", count=2),
    Case("price without a date key", _price_without_date_key,
         reason="wm_yr_wk / week_start / valid_from: all missing", count=2),
    Case("prices without a date column", _prices_without_any_date_column,
         error=r"lacks column\(s\) one of wm_yr_wk / week_start / valid_from"),
    Case("price range ends before it starts", _price_range_backwards, reason="valid_to: before valid_from", count=1),
    Case("weather without station or store", _weather_without_station_or_store,
         reason="station / store_id: all missing", count=1),
    Case("implausible GHCN weather", _ghcn_implausible, reason="tmax_f: above 135", count=2),
    Case("store mapped to two stations", _weather_station_map_duplicate, reason="duplicate key (store_id)", count=2),
]

_LOADERS = {
    "pos": lambda con, f: ingest.ingest_pos(con, [f]),
    "prices": ingest.ingest_prices,
    "calendar": ingest.ingest_calendar,
    "weather": ingest.ingest_weather,
    "events": ingest.ingest_events,
    "promotions": ingest.ingest_promotions,
    "weather_stations": ingest.ingest_weather_stations,
}


def test_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 20 and len({c.name for c in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_bad_input(case: Case, good: Good):
    before = good.snapshot()
    tables_before = {r[0] for r in good.con.execute("SHOW TABLES").fetchall()}
    feed, path = case.build(good)
    if case.error:
        with pytest.raises(FeedError) as info:
            _LOADERS[feed](good.con, path)
        message = str(info.value)
        assert message.startswith(f"{feed}:") and path.name in message, message
        assert re.search(case.error, message), message
        assert good.snapshot() == before  # nothing written
        assert {r[0] for r in good.con.execute("SHOW TABLES").fetchall()} == tables_before
        return
    report = _LOADERS[feed](good.con, path)
    assert report.rows_quarantined == case.count, report.reasons
    assert all(Path(f).name == path.name for f, _, _ in report.reasons)
    assert any(case.reason in reason for _, reason, _ in report.reasons), report.reasons
    quarantine = good.con.execute(
        f"SELECT reason, source_file, raw_row, loaded_at FROM quarantine_{feed}").df()
    assert len(quarantine) == case.count
    assert quarantine["reason"].str.contains(case.reason, regex=False).any()
    assert (quarantine["source_file"] == str(path)).all() and quarantine["raw_row"].notna().all()
    after = good.snapshot()
    if feed == "pos":
        assert after == before  # other days and other feeds untouched
        loaded = good.con.execute(f"SELECT count(*) FROM raw_pos WHERE date < DATE '{DAYS[-1].date()}'").fetchall()[0][0]
        assert loaded == report.rows_loaded
    else:
        assert {k: v for k, v in after.items() if k != feed} == {k: v for k, v in before.items() if k != feed}


def test_unknown_item_fails_the_cross_feed_gate(good: Good):
    df = good.bad_pos()
    extra = df.drop_duplicates("date").assign(item_id="NOPE_9_999")  # one row per day
    path = _parquet(pd.concat([df, extra], ignore_index=True), good.tmp / "pos_unknown_item.parquet")
    ingest.ingest_pos(good.con, [path])
    outcome = crossfeed.pos_items_priced_and_dated(good.con)
    assert not outcome.passed and outcome.bad == 1
    assert "1 of 401 store x item series have no price row" in outcome.description
    assert "CA_1/NOPE_9_999" in outcome.description and "store_id, item_id" in outcome.description


def test_unknown_store_and_date_fail_the_cross_feed_gate(good: Good):
    cal = good.frames["calendar"]
    cal[cal["date"] != DAYS[1]].to_parquet(good.tmp / "calendar_gap.parquet")
    ingest.ingest_calendar(good.con, good.tmp / "calendar_gap.parquet")
    df = good.bad_pos()
    extra = df.drop_duplicates("date").head(2).assign(store_id="ZZ_9")
    path = _parquet(pd.concat([df, extra], ignore_index=True), good.tmp / "pos_store.parquet")
    ingest.ingest_pos(good.con, [path])
    outcome = crossfeed.pos_items_priced_and_dated(good.con)
    assert not outcome.passed
    assert "1 of 401 store x item series have no price row" in outcome.description and "ZZ_9/" in outcome.description
    assert "1 dates have no row in raw_calendar (column date; e.g. 2016-04-26)" in outcome.description


def test_unknown_vendor_fails_the_cross_feed_gate(tmp_path: Path):
    con = duckdb.connect()
    shipments = SAMPLE_DIR / "usaid_scms_shipments" / "shipments.parquet"
    ingest.ingest_shipments(con, shipments)
    vendors = con.execute("SELECT DISTINCT vendor FROM raw_shipments ORDER BY 1").df()
    assert crossfeed.shipment_vendors_known(con).passed  # no catalogue: every vendor has a name
    dropped = vendors["vendor"].iloc[0]
    vendors.iloc[1:].to_csv(tmp_path / "suppliers.csv", index=False)
    ingest.ingest_suppliers(con, tmp_path / "suppliers.csv")
    outcome = crossfeed.shipment_vendors_known(con)
    n_lines = con.execute("SELECT count(*) FROM raw_shipments WHERE vendor = ?", [dropped]).fetchall()[0][0]
    assert not outcome.passed and outcome.bad == n_lines > 0
    assert f"1 vendors on {n_lines:,} lines are not in the supplier catalogue" in outcome.description
    assert dropped in outcome.description


def test_reloading_a_partition_is_idempotent(good: Good):
    """Re-running a day range replaces it: same rows, no duplicates, other days untouched."""
    q = "SELECT date, count(*), sum(units), count(DISTINCT (store_id, item_id)) FROM raw_pos GROUP BY 1 ORDER BY 1"
    first = good.con.execute(q).fetchall()
    path = good.tmp / "good_pos.parquet"
    for _ in range(2):
        report = ingest.ingest_pos(good.con, [path], (DAYS[1].date(), DAYS[2].date()))
        assert report.rows_loaded == 2 * N_ITEMS and report.date_range == ("2016-04-26", "2016-04-27")
    assert good.con.execute(q).fetchall() == first
    assert all(n == N_ITEMS == distinct for _, n, _, distinct in first)


def test_threshold_is_configurable(good: Good):
    _, path = _negative_units(good)
    with pytest.raises(FeedError, match=r"7 of 1,200 rows bad.*above max_bad_share 0\.00%.*units: below 0 \(7 rows\)"):
        ingest.ingest_pos(good.con, [path], max_bad_share=0.0)
    assert ingest.ingest_pos(good.con, [path], max_bad_share=0.01).rows_quarantined == 7


def test_csv_and_parquet_mix_in_one_feed(good: Good):
    pos = good.bad_pos()
    first = _csv(pos[pos["date"] == DAYS[0]], good.tmp / "2016-04-25.csv")
    rest = _parquet(pos[pos["date"] != DAYS[0]], good.tmp / "rest.parquet")
    report = ingest.ingest_pos(good.con, [first, rest])
    assert report.rows_loaded == 3 * N_ITEMS and report.rows_quarantined == 0


def test_future_window_uses_today(good: Good):
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    df = good.bad_pos()
    df.loc[[0], "date"] = pd.Timestamp(tomorrow)
    report = ingest.ingest_pos(good.con, [_parquet(df, good.tmp / "pos_tomorrow.parquet")])
    assert report.rows_quarantined == 1


def test_a_failed_csv_load_does_not_break_the_next_one(good: Good):
    _, header_only = _header_only(good)
    with pytest.raises(FeedError, match="no data rows"):
        ingest.ingest_pos(good.con, [header_only])
    _, ragged = _ragged_line(good)
    assert ingest.ingest_pos(good.con, [ragged]).rows_quarantined == 1
