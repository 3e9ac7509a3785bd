"""Write public data sets into the canonical feed layout: ``python -m warehouse.convert [FORMAT] SRC DST``.

FORMAT (``bakery``, ``m5``, ``walmart-weekly``, ``noaa``, ``usaid``) is detected from SRC when left out.
Recognised sources (``../shared/data`` layouts):

* an **M5** folder or a folder holding ``m5/`` (with ``walmart_stormy_weather/`` NOAA weather,
  ``usaid_scms_shipments/`` USAID shipments and ``freight_emission_factors.csv`` beside it):
  every feed goes through the same typed, quarantining loader the pipeline uses, so the output
  is typed and clean; POS is written one Parquet file per day (``pos/YYYY-MM-DD.parquet``), the
  unit a daily drop and a Dagster partition share; the ``m5_history/`` series' earlier days go to
  one ``pos_history/history_FIRST_LAST.parquet`` (loaded in bulk); the GHCN and NOAA
  weather (and their store -> station maps) go to ``weather/`` and ``weather_stations/``; USAID
  vendors become ``suppliers/``;
* **Walmart weekly store sales** (``train.parquet``, ``features.parquet``): weekly sales per
  store x department. No unit counts are published, so ``units`` are whole US dollars of sales
  and ``sell_price`` is 1.0 USD for every store x department x week (an identity, not a price
  observation); ``features.parquet``'s weekly mean temperature per store becomes ``weather/`` keyed
  by store. Negative weekly sales (returns) are quarantined by the loader.
* the **bakery** chain (``demand.parquet``, ``promotions.parquet``, ``weather.parquet``,
  ``calendar.parquet``; 35 stores x 3 products, daily): the demand's last 28 days as ``pos/`` (one
  file per day), the days before as ``pos_history/`` (one file, loaded in bulk), ``promotions/``
  (``on_promotion`` = the source's ``promotion_current_week``), ``weather/`` per store (each store
  has its own weather; degrees Celsius -> Fahrenheit, millimetres -> inches), ``calendar/`` (the
  source's days; week, weekday, month and year follow from the date) and ``events/`` (public
  holidays and school holidays; an event every store has is written once, for every store, the
  others per store: school holidays differ between the chain's two states). Every row of the
  source is carried over, including weather, promotion and calendar rows dated after the last
  demand day: they are known-future inputs. Demand is in whole units in the layout: the source's
  few fractional values (38 of 124,635 rows, 0.03 %) are rounded to the nearest unit and counted
  (``units_rounded``). Store and item ids are the source's numbers, as text. The source has no
  prices and no store -> station map (the weather is per store). Its ``is_holiday_next2days`` is
  not written: it follows from the holiday dates. The bakery publishes no logistics: where the
  folder holding SRC also holds ``usaid_scms_shipments/`` and ``freight_emission_factors.csv``
  (the ``../shared/data`` layout), those public feeds are written too (``shipments/``,
  ``emission_factors/``, ``suppliers/``: the vendors of the shipments), so that the output plans
  on its own; without them the output needs them added, or a run with ``--sample-logistics``.
* a **NOAA** stormy-weather folder (``weather.parquet`` + ``key.parquet``) or a **USAID** folder
  (``shipments.parquet``) alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from warehouse import ingest
from warehouse.feeds import FeedError, discover_feeds
from warehouse.loader import LoadReport

__all__ = ["convert", "main", "FORMATS"]

FORMATS = ("bakery", "m5", "walmart-weekly", "noaa", "usaid")
_FACTORS_CSV = "freight_emission_factors.csv"


def _write(con: duckdb.DuckDBPyConnection, sql: str, path: Path, params: list | None = None) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = con.sql(sql, params=params or None).to_arrow_table()
    pq.write_table(table, path)
    return table.num_rows


def _write_pos_by_day(con: duckdb.DuckDBPyConnection, dst: Path, table: str = "raw_pos") -> int:
    """One Parquet file per day of ``table`` (canonical POS columns)."""
    days = [r[0] for r in con.execute(f"SELECT DISTINCT date FROM {table} ORDER BY 1").fetchall()]
    return sum(_write(con, f"SELECT store_id, item_id, date, units, dept_id, cat_id, state_id FROM {table} "
                           "WHERE date = ? ORDER BY store_id, item_id", dst / "pos" / f"{d}.parquet", [d])
               for d in days)


def _write_history(con: duckdb.DuckDBPyConnection, dst: Path, table: str = "raw_pos_history") -> int:
    """``table`` in one ``pos_history/history_FIRST_LAST.parquet`` (0 rows: no file)."""
    first, last = con.execute(f"SELECT min(date), max(date) FROM {table}").fetchall()[0]
    if first is None:
        return 0
    return _write(con, f"SELECT store_id, item_id, date, units, dept_id, cat_id, state_id FROM {table} "
                       "ORDER BY store_id, item_id, date", dst / "pos_history" / f"history_{first}_{last}.parquet")


def _from_m5(src: Path, dst: Path, con: duckdb.DuckDBPyConnection, max_bad_share: float) -> dict[str, int]:
    paths = discover_feeds(src)
    reports: dict[str, LoadReport | None] = {
        "pos": ingest.ingest_pos(con, paths.pos, max_bad_share=max_bad_share),
        "pos_history": ingest.ingest_pos_history(con, paths.files("pos_history"), max_bad_share=max_bad_share),
        "prices": ingest.ingest_prices(con, paths.files("prices"), max_bad_share=max_bad_share),
        "calendar": ingest.ingest_calendar(con, paths.files("calendar"), max_bad_share=max_bad_share),
        "weather": ingest.ingest_weather(con, paths.files("weather"), max_bad_share=max_bad_share),
        "weather_stations": ingest.ingest_weather_stations(con, paths.files("weather_stations"),
                                                           max_bad_share=max_bad_share),
        "shipments": ingest.ingest_shipments(con, paths.files("shipments"), max_bad_share=max_bad_share),
        "emission_factors": ingest.ingest_emission_factors(con, paths.files("emission_factors"),
                                                           max_bad_share=max_bad_share),
    }
    out = {"pos": _write_pos_by_day(con, dst), "pos_history": _write_history(con, dst)}
    for feed, table in (("prices", "raw_prices"), ("calendar", "raw_calendar"), ("weather", "raw_weather"),
                        ("weather_stations", "raw_weather_key")):
        out[feed] = _write(con, f"SELECT * FROM {table}", dst / feed / f"{feed}.parquet")
    out |= _write_logistics(con, dst)
    out["quarantined"] = sum(r.rows_quarantined for r in reports.values() if r is not None)
    return out


def _write_logistics(con: duckdb.DuckDBPyConnection, dst: Path) -> dict[str, int]:
    """The loaded shipments, emission factors and the shipments' vendors (as ``suppliers/``) into ``dst``."""
    out = {feed: _write(con, f"SELECT * FROM {table}", dst / feed / f"{feed}.parquet")
           for feed, table in (("shipments", "raw_shipments"), ("emission_factors", "raw_emission_factors"))}
    out["suppliers"] = _write(con, "SELECT DISTINCT vendor FROM raw_shipments WHERE vendor IS NOT NULL ORDER BY 1",
                              dst / "suppliers" / "suppliers.parquet")
    return out


def _from_walmart_weekly(src: Path, dst: Path, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    train, features = str(src / "train.parquet"), str(src / "features.parquet")
    week = "100000 + (year(d) % 100) * 100 + week(d)"  # ISO-week id, shared by prices and calendar
    out = {
        "pos": _write(con, """
            SELECT 'WM_' || "Store" AS store_id, 'DEPT_' || lpad("Dept"::VARCHAR, 2, '0') AS item_id,
                   "Date"::DATE AS date, round("Weekly_Sales")::BIGINT AS units,
                   'DEPT_' || lpad("Dept"::VARCHAR, 2, '0') AS dept_id, 'WALMART' AS cat_id, 'US' AS state_id
            FROM read_parquet(?) ORDER BY 1, 2, 3""", dst / "pos" / "walmart_weekly.parquet", [train]),
        "prices": _write(con, f"""
            SELECT DISTINCT 'WM_' || "Store" AS store_id, 'DEPT_' || lpad("Dept"::VARCHAR, 2, '0') AS item_id,
                   {week.replace('d)', '"Date"::DATE)')} AS wm_yr_wk, 1.0 AS sell_price
            FROM read_parquet(?) ORDER BY 1, 2, 3""", dst / "prices" / "prices.parquet", [train]),
        "calendar": _write(con, f"""
            WITH days AS (SELECT DISTINCT "Date"::DATE AS d, bool_or("IsHoliday") AS holiday
                          FROM read_parquet(?) GROUP BY 1)
            SELECT d AS date, {week} AS wm_yr_wk, dayname(d) AS weekday, ((dayofweek(d) + 1) % 7) + 1 AS wday,
                   month(d) AS month, year(d) AS year,
                   CASE WHEN holiday THEN 'Holiday week' END AS event_name_1,
                   CASE WHEN holiday THEN 'National' END AS event_type_1,
                   0 AS snap_CA, 0 AS snap_TX, 0 AS snap_WI
            FROM days ORDER BY 1""", dst / "calendar" / "calendar.parquet", [features]),
        "weather": _write(con, """
            SELECT 'WM_' || "Store" AS store_id, "Date"::DATE AS date, "Temperature" AS tavg_f
            FROM read_parquet(?) ORDER BY 1, 2""", dst / "weather" / "weather.parquet", [features]),
    }
    return out


_F_PER_C = 9 / 5
_MM_PER_INCH = 25.4


def _from_bakery(src: Path, dst: Path, con: duckdb.DuckDBPyConnection, recent_days: int = 28) -> dict[str, int]:
    demand, promotions, weather, calendar = (str(src / f"{name}.parquet")
                                             for name in ("demand", "promotions", "weather", "calendar"))
    con.execute("""
        CREATE TEMP TABLE bakery_pos AS
        SELECT store_id::VARCHAR AS store_id, item_id::VARCHAR AS item_id, date, round(units)::INTEGER AS units,
               'BAKERY' AS dept_id, 'BAKERY' AS cat_id, 'DE' AS state_id
        FROM read_parquet(?)""", [demand])
    # the last days as daily files (the partitions a daily drop adds to), the years before in bulk
    con.execute("CREATE TEMP TABLE bakery_recent AS SELECT * FROM bakery_pos "
                "WHERE date > (SELECT max(date) FROM bakery_pos) - CAST(? AS INTEGER)", [recent_days])
    con.execute("CREATE TEMP TABLE bakery_history AS SELECT * FROM bakery_pos ANTI JOIN bakery_recent "
                "USING (store_id, item_id, date)")
    out = {
        "pos": _write_pos_by_day(con, dst, "bakery_recent"),
        "pos_history": _write_history(con, dst, "bakery_history"),

        "promotions": _write(con, """
            SELECT store_id::VARCHAR AS store_id, item_id::VARCHAR AS item_id, date,
                   promotion_current_week::INTEGER AS on_promotion
            FROM read_parquet(?) ORDER BY date, store_id, item_id""", dst / "promotions" / "promotions.parquet",
                             [promotions]),
        # 0.1 degC steps are exact in 0.01 degF; millimetres to inches keep full precision
        "weather": _write(con, """
            SELECT store_id::VARCHAR AS store_id, date,
                   round(temp_max_celsius * ? + 32, 2) AS tmax_f, round(temp_min_celsius * ? + 32, 2) AS tmin_f,
                   round(temp_avg_celsius * ? + 32, 2) AS tavg_f, rain_mm / ? AS prcp_in
            FROM read_parquet(?) ORDER BY store_id, date""", dst / "weather" / "weather.parquet",
                          [_F_PER_C, _F_PER_C, _F_PER_C, _MM_PER_INCH, weather]),
        "calendar": _write(con, "SELECT DISTINCT date FROM read_parquet(?) ORDER BY date",
                           dst / "calendar" / "calendar.parquet", [calendar]),
        "events": _write(con, """
            WITH flags AS (
                SELECT date, store_id, 'Public holiday' AS event_name, 'Holiday' AS event_type
                FROM read_parquet(?) WHERE is_holiday
                UNION ALL
                SELECT date, store_id, 'School holiday', 'School' FROM read_parquet(?) WHERE is_schoolholiday
            ),
            stores AS (SELECT count(DISTINCT store_id) AS n FROM read_parquet(?)),
            per_day AS (
                SELECT date, event_name, event_type, count(DISTINCT store_id) = (SELECT n FROM stores) AS everywhere
                FROM flags GROUP BY ALL
            )
            SELECT p.date, p.event_name, p.event_type, NULL::VARCHAR AS store_id FROM per_day p WHERE p.everywhere
            UNION ALL
            SELECT f.date, f.event_name, f.event_type, f.store_id::VARCHAR FROM flags f
            JOIN per_day p USING (date, event_name) WHERE NOT p.everywhere
            ORDER BY date, event_name, store_id NULLS FIRST""", dst / "events" / "events.parquet",
                         [calendar, calendar, calendar]),
    }
    out["units_rounded"] = int(con.execute("SELECT count(*) FROM read_parquet(?) WHERE units <> round(units)",
                                           [demand]).fetchall()[0][0])
    return out | _logistics_beside(src, dst, con)


def _logistics_beside(src: Path, dst: Path, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """USAID shipments, their vendors and freight emission factors from the folder holding ``src``, if there."""
    shipments, factors = src.parent / "usaid_scms_shipments" / "shipments.parquet", src.parent / _FACTORS_CSV
    if not (shipments.is_file() and factors.is_file()):
        return {}
    reports = (ingest.ingest_shipments(con, shipments, max_bad_share=1.0),
               ingest.ingest_emission_factors(con, factors, max_bad_share=1.0))
    return _write_logistics(con, dst) | {"quarantined": sum(r.rows_quarantined for r in reports)}


def _detect(src: Path) -> str:
    if (src / "demand.parquet").is_file() and (src / "promotions.parquet").is_file():
        return "bakery"
    if (src / "train.parquet").is_file() and (src / "features.parquet").is_file():
        return "walmart-weekly"
    if (src / "weather.parquet").is_file() and (src / "key.parquet").is_file():
        return "noaa"
    if (src / "shipments.parquet").is_file():
        return "usaid"
    return "m5"


def convert(src: str | Path, dst: str | Path, *, source_format: str | None = None,
            max_bad_share: float = 1.0) -> dict[str, int]:
    """Write ``src`` into the canonical layout under ``dst``.

    Args:
        src: a recognised source folder (see the module docstring).
        dst: output folder (created; files of the same names are overwritten).
        source_format: one of :data:`FORMATS`; ``None`` detects it from the files in ``src``.
        max_bad_share: passed to the loader; by default every row that breaks a rule is dropped
            from the output (and counted) rather than failing the conversion.

    Returns:
        Rows written per feed, and ``quarantined`` (rows left out because they broke a rule)
        or, for the bakery, ``units_rounded``.
    """
    src, dst = Path(src).resolve(), Path(dst).resolve()
    kind = source_format or _detect(src)
    if kind not in FORMATS:
        raise FeedError(f"convert: unknown format {kind!r}; known: {', '.join(FORMATS)}")
    if kind == "bakery":
        missing = [n for n in ("demand", "promotions", "weather", "calendar") if not (src / f"{n}.parquet").is_file()]
        if missing:
            raise FeedError(f"bakery: {src} lacks {', '.join(f'{n}.parquet' for n in missing)}")
    con = duckdb.connect()
    try:
        if kind == "bakery":
            return _from_bakery(src, dst, con)
        if kind == "walmart-weekly":
            return _from_walmart_weekly(src, dst, con)
        if kind == "noaa":
            ingest.ingest_weather(con, src / "weather.parquet", src / "key.parquet", max_bad_share=max_bad_share)
            return {"weather": _write(con, "SELECT * FROM raw_weather", dst / "weather" / "weather.parquet"),
                    "weather_stations": _write(con, "SELECT * FROM raw_weather_key",
                                               dst / "weather_stations" / "stations.parquet")}
        if kind == "usaid":
            ingest.ingest_shipments(con, src / "shipments.parquet", max_bad_share=max_bad_share)
            return {"shipments": _write(con, "SELECT * FROM raw_shipments", dst / "shipments" / "shipments.parquet"),
                    "suppliers": _write(con, "SELECT DISTINCT vendor FROM raw_shipments ORDER BY 1",
                                        dst / "suppliers" / "suppliers.parquet")}
        return _from_m5(src, dst, con, max_bad_share)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse.convert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="[FORMAT] SRC DST",
                        help=f"optional format ({', '.join(FORMATS)}; default: detected), the source folder "
                             "and the output folder in the canonical feed layout")
    args = parser.parse_args(argv)
    if len(args.paths) not in (2, 3) or (len(args.paths) == 3 and args.paths[0] not in FORMATS):
        parser.error(f"expected [FORMAT] SRC DST with FORMAT one of {', '.join(FORMATS)}; got {' '.join(args.paths)}")
    src, dst = (Path(p) for p in args.paths[-2:])
    kind = args.paths[0] if len(args.paths) == 3 else _detect(src.resolve())
    try:
        written = convert(src, dst, source_format=kind)
    except FeedError as exc:
        print(f"convert: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {kind} data from {src} in the canonical feed layout to {dst}:")
    print(f"{'feed folder':18s} {'rows':>10s}")
    for feed, rows in written.items():
        if feed == "units_rounded":
            continue
        print(f"{feed + '/':18s} {rows:>10,}")
    if written.get("units_rounded"):
        print(f"{written['units_rounded']:,} fractional demand values of the source rounded to whole units")
    if kind == "bakery":
        if "shipments" in written:
            print(f"logistics: USAID SCMS shipments and freight emission factors from {src.resolve().parent} "
                  "(public data; the bakery publishes none)")
        else:
            print(f"logistics: none beside {src.resolve()} (no usaid_scms_shipments/ and {_FACTORS_CSV}): add "
                  f"shipments/ and emission_factors/ to {dst}, or run with --sample-logistics", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
