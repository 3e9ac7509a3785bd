"""Write public data sets into the canonical feed layout: ``python -m warehouse.convert SRC DST``.

Recognised sources (``../shared/data`` layouts):

* an **M5** folder or a folder holding ``m5/`` (with ``walmart_stormy_weather/`` NOAA weather,
  ``usaid_scms_shipments/`` USAID shipments and ``freight_emission_factors.csv`` beside it):
  every feed goes through the same typed, quarantining loader the pipeline uses, so the output
  is typed and clean; POS is written one Parquet file per day (``pos/YYYY-MM-DD.parquet``), the
  unit a daily drop and a Dagster partition share; USAID vendors become ``suppliers/``;
* **Walmart weekly store sales** (``train.parquet``, ``features.parquet``): weekly sales per
  store x department. No unit counts are published, so ``units`` are whole US dollars of sales
  and ``sell_price`` is 1.0 USD for every store x department x week (an identity, not a price
  observation); ``features.parquet``'s weekly mean temperature per store becomes ``weather/`` with
  one "station" per store. Negative weekly sales (returns) are quarantined by the loader.
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

__all__ = ["convert", "main"]


def _write(con: duckdb.DuckDBPyConnection, sql: str, path: Path, params: list | None = None) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = con.sql(sql, params=params or None).to_arrow_table()
    pq.write_table(table, path)
    return table.num_rows


def _write_pos_by_day(con: duckdb.DuckDBPyConnection, dst: Path) -> int:
    days = [r[0] for r in con.execute("SELECT DISTINCT date FROM raw_pos ORDER BY 1").fetchall()]
    return sum(_write(con, "SELECT store_id, item_id, date, units, dept_id, cat_id, state_id FROM raw_pos "
                           "WHERE date = ? ORDER BY store_id, item_id", dst / "pos" / f"{d}.parquet", [d])
               for d in days)


def _from_m5(src: Path, dst: Path, con: duckdb.DuckDBPyConnection, max_bad_share: float) -> dict[str, int]:
    paths = discover_feeds(src)
    reports: dict[str, LoadReport | None] = {
        "pos": ingest.ingest_pos(con, paths.pos, max_bad_share=max_bad_share),
        "prices": ingest.ingest_prices(con, paths.files("prices"), max_bad_share=max_bad_share),
        "calendar": ingest.ingest_calendar(con, paths.files("calendar"), max_bad_share=max_bad_share),
        "weather": ingest.ingest_weather(con, paths.files("weather"), max_bad_share=max_bad_share),
        "weather_stations": ingest.ingest_weather_stations(con, paths.files("weather_stations"),
                                                           max_bad_share=max_bad_share),
        "shipments": ingest.ingest_shipments(con, paths.files("shipments"), max_bad_share=max_bad_share),
        "emission_factors": ingest.ingest_emission_factors(con, paths.files("emission_factors"),
                                                           max_bad_share=max_bad_share),
    }
    out = {"pos": _write_pos_by_day(con, dst)}
    for feed, table in (("prices", "raw_prices"), ("calendar", "raw_calendar"), ("weather", "raw_weather"),
                        ("weather_stations", "raw_weather_key"), ("shipments", "raw_shipments"),
                        ("emission_factors", "raw_emission_factors")):
        out[feed] = _write(con, f"SELECT * FROM {table}", dst / feed / f"{feed}.parquet")
    out["suppliers"] = _write(con, "SELECT DISTINCT vendor FROM raw_shipments WHERE vendor IS NOT NULL ORDER BY 1",
                              dst / "suppliers" / "suppliers.parquet")
    out["quarantined"] = sum(r.rows_quarantined for r in reports.values() if r is not None)
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
            SELECT "Store"::INTEGER AS station_nbr, "Date"::DATE AS date, "Temperature" AS tavg
            FROM read_parquet(?) ORDER BY 1, 2""", dst / "weather" / "weather.parquet", [features]),
        "weather_stations": _write(con, """
            SELECT DISTINCT "Store"::INTEGER AS store_nbr, "Store"::INTEGER AS station_nbr
            FROM read_parquet(?) ORDER BY 1""", dst / "weather_stations" / "stations.parquet", [features]),
    }
    return out


def convert(src: str | Path, dst: str | Path, *, max_bad_share: float = 1.0) -> dict[str, int]:
    """Write ``src`` into the canonical layout under ``dst``.

    Args:
        src: a recognised source folder (see the module docstring).
        dst: output folder (created; files of the same names are overwritten).
        max_bad_share: passed to the loader; by default every row that breaks a rule is dropped
            from the output (and counted) rather than failing the conversion.

    Returns:
        Rows written per feed, and ``quarantined`` (rows left out because they broke a rule).
    """
    src, dst = Path(src).resolve(), Path(dst).resolve()
    con = duckdb.connect()
    try:
        if (src / "train.parquet").is_file() and (src / "features.parquet").is_file():
            return _from_walmart_weekly(src, dst, con)
        if (src / "weather.parquet").is_file() and (src / "key.parquet").is_file():
            ingest.ingest_weather(con, src / "weather.parquet", src / "key.parquet", max_bad_share=max_bad_share)
            return {"weather": _write(con, "SELECT * FROM raw_weather", dst / "weather" / "weather.parquet"),
                    "weather_stations": _write(con, "SELECT * FROM raw_weather_key",
                                               dst / "weather_stations" / "stations.parquet")}
        if (src / "shipments.parquet").is_file():
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
    parser.add_argument("src", type=Path, help="M5 / Walmart weekly / NOAA / USAID folder")
    parser.add_argument("dst", type=Path, help="output folder in the canonical feed layout")
    args = parser.parse_args(argv)
    try:
        written = convert(args.src, args.dst)
    except FeedError as exc:
        print(f"convert: {exc}", file=sys.stderr)
        return 2
    for feed, rows in written.items():
        print(f"{feed:18s} {rows:>10,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
