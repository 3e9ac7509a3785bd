"""Typed ingest of each feed into a ``raw_<feed>`` table.

Each loader reads its file straight into DuckDB (no pandas round trip for the 6.8M price rows),
renames to canonical column names, types every column, and replaces its table in one
transaction: a load that fails leaves the previous table untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from warehouse.db import row_count, transaction
from warehouse.feeds import FeedError

__all__ = [
    "REQUIRED_COLUMNS",
    "ingest_pos",
    "ingest_prices",
    "ingest_calendar",
    "ingest_weather",
    "ingest_shipments",
    "ingest_emission_factors",
]

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "pos": ("item_id", "dept_id", "cat_id", "store_id", "state_id", "date", "sales"),
    "prices": ("store_id", "item_id", "wm_yr_wk", "sell_price"),
    "calendar": ("date", "wm_yr_wk", "weekday", "wday", "month", "year", "d", "event_name_1",
                 "event_type_1", "event_name_2", "event_type_2", "snap_CA", "snap_TX", "snap_WI"),
    "weather": ("station_nbr", "date", "tmax", "tmin", "tavg", "preciptotal", "snowfall", "codesum"),
    "weather_key": ("store_nbr", "station_nbr"),
    "shipments": ("ID", "Vendor", "Country", "Shipment Mode", "Scheduled Delivery Date",
                  "Delivered to Client Date", "PO Sent to Vendor Date", "Weight (Kilograms)",
                  "Freight Cost (USD)", "Line Item Quantity", "Line Item Value", "Unit Price",
                  "Molecule/Test Type", "Product Group"),
    "emission_factors": ("mode", "g_co2e_per_tonne_km"),
}


def _reader(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "read_parquet(?)"
    if suffix == ".csv":
        return "read_csv(?, header = true)"
    raise FeedError(f"{path}: unsupported file type {suffix!r} (expected .parquet or .csv)")


def _check_columns(con: duckdb.DuckDBPyConnection, feed: str, path: Path) -> None:
    if not path.is_file():
        raise FeedError(f"{feed}: file {path} not found")
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {_reader(path)}", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise FeedError(f"{feed}: cannot read {path}: {exc}") from exc
    present = {row[0] for row in described}
    missing = [c for c in REQUIRED_COLUMNS[feed] if c not in present]
    if missing:
        raise FeedError(f"{feed}: {path} lacks column(s) {', '.join(missing)}; found {sorted(present)}")


def _load(con: duckdb.DuckDBPyConnection, table: str, select_sql: str, params: Sequence[object]) -> int:
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE {table} AS {select_sql}", list(params))
    return row_count(con, table)


def ingest_pos(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> int:
    """Daily unit sales per store x item (M5 long layout) into ``raw_pos``."""
    if not files:
        raise FeedError("pos: no sales_*.parquet files found")
    for f in files:
        _check_columns(con, "pos", f)
    sql = """
        SELECT store_id::VARCHAR AS store_id, item_id::VARCHAR AS item_id, dept_id::VARCHAR AS dept_id,
               cat_id::VARCHAR AS cat_id, state_id::VARCHAR AS state_id, CAST(date AS DATE) AS date,
               sales::INTEGER AS units
        FROM read_parquet(?, union_by_name = true)
    """
    return _load(con, "raw_pos", sql, [[str(f) for f in files]])


def ingest_prices(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Weekly sell prices per store x item into ``raw_prices``."""
    _check_columns(con, "prices", path)
    sql = f"""
        SELECT store_id::VARCHAR AS store_id, item_id::VARCHAR AS item_id,
               wm_yr_wk::INTEGER AS wm_yr_wk, sell_price::DOUBLE AS sell_price
        FROM {_reader(path)}
    """
    return _load(con, "raw_prices", sql, [str(path)])


def ingest_calendar(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The retail calendar (events, SNAP days, Walmart weeks) into ``raw_calendar``."""
    _check_columns(con, "calendar", path)
    sql = f"""
        SELECT CAST(date AS DATE) AS date, wm_yr_wk::INTEGER AS wm_yr_wk, weekday, wday::INTEGER AS wday,
               month::INTEGER AS month, year::INTEGER AS year, d, event_name_1, event_type_1,
               event_name_2, event_type_2, snap_CA::INTEGER AS snap_CA, snap_TX::INTEGER AS snap_TX,
               snap_WI::INTEGER AS snap_WI
        FROM {_reader(path)}
    """
    return _load(con, "raw_calendar", sql, [str(path)])


_NOAA_NUMERIC = ("tmax", "tmin", "tavg", "depart", "dewpoint", "wetbulb", "heat", "cool",
                 "stnpressure", "sealevel", "resultspeed", "resultdir", "avgspeed")
_NOAA_TRACE = ("preciptotal", "snowfall")


def ingest_weather(con: duckdb.DuckDBPyConnection, weather: Path, key: Path) -> int:
    """NOAA daily summaries into ``raw_weather`` and the store->station map into ``raw_weather_key``.

    NOAA writes ``M`` for missing (-> NULL) and ``T`` for a trace of precipitation or snow
    (-> 0.0 with a ``*_trace`` flag, since a trace is below the 0.01 inch resolution).
    """
    _check_columns(con, "weather", weather)
    _check_columns(con, "weather_key", key)
    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_reader(weather)}", [str(weather)]).fetchall()}
    numeric = [
        f"try_cast(nullif(trim({c}::VARCHAR), 'M') AS DOUBLE) AS {c}" for c in _NOAA_NUMERIC if c in present
    ]
    trace = []
    for c in _NOAA_TRACE:
        trace.append(
            f"CASE WHEN trim({c}::VARCHAR) = 'T' THEN 0.0 "
            f"ELSE try_cast(nullif(trim({c}::VARCHAR), 'M') AS DOUBLE) END AS {c}"
        )
        trace.append(f"coalesce(trim({c}::VARCHAR) = 'T', false) AS {c}_trace")
    sql = f"""
        SELECT station_nbr::INTEGER AS station_nbr, CAST(date AS DATE) AS date,
               {", ".join(numeric + trace)},
               nullif(trim(codesum::VARCHAR), '') AS codesum
        FROM {_reader(weather)}
    """
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE raw_weather AS {sql}", [str(weather)])
        con.execute(
            f"CREATE OR REPLACE TABLE raw_weather_key AS SELECT store_nbr::INTEGER AS store_nbr, "
            f"station_nbr::INTEGER AS station_nbr FROM {_reader(key)}",
            [str(key)],
        )
    return row_count(con, "raw_weather")


def ingest_shipments(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """USAID SCMS shipment lines into ``raw_shipments`` with weight and freight resolved.

    Weight and freight belong to the whole shipment; a ``See ASN-x (ID#:n)`` cell points to the
    row ``n`` carrying the figure, so references are followed. Text such as ``Freight Included
    in Commodity Cost`` becomes NULL with the original kept in ``*_note``.
    """
    _check_columns(con, "shipments", path)
    sql = f"""
        WITH src AS (
            SELECT * FROM {_reader(path)}
        ),
        parsed AS (
            SELECT "ID"::INTEGER AS shipment_id,
                   trim("Vendor") AS vendor,
                   trim("Country") AS country,
                   trim("Shipment Mode") AS shipment_mode,
                   "Fulfill Via" AS fulfill_via,
                   "Vendor INCO Term" AS inco_term,
                   "Product Group" AS product_group,
                   "Molecule/Test Type" AS molecule,
                   try_strptime("PO Sent to Vendor Date", '%m/%d/%y')::DATE AS po_sent_date,
                   CAST("Scheduled Delivery Date" AS DATE) AS scheduled_date,
                   CAST("Delivered to Client Date" AS DATE) AS delivered_date,
                   "Line Item Quantity"::BIGINT AS line_quantity,
                   "Line Item Value"::DOUBLE AS line_value_usd,
                   "Unit Price"::DOUBLE AS unit_price_usd,
                   "Weight (Kilograms)" AS weight_raw,
                   "Freight Cost (USD)" AS freight_raw
            FROM src
        ),
        resolved AS (
            SELECT p.*,
                   try_cast(regexp_extract(p.weight_raw, 'ID#:(\\d+)', 1) AS INTEGER) AS weight_ref,
                   try_cast(regexp_extract(p.freight_raw, 'ID#:(\\d+)', 1) AS INTEGER) AS freight_ref
            FROM parsed p
        )
        SELECT r.* EXCLUDE (weight_raw, freight_raw, weight_ref, freight_ref),
               coalesce(try_cast(r.weight_raw AS DOUBLE), try_cast(w.weight_raw AS DOUBLE)) AS weight_kg,
               coalesce(try_cast(r.freight_raw AS DOUBLE), try_cast(f.freight_raw AS DOUBLE)) AS freight_usd,
               (r.weight_ref IS NOT NULL OR r.freight_ref IS NOT NULL) AS shares_shipment_figures,
               CASE WHEN try_cast(r.weight_raw AS DOUBLE) IS NULL THEN r.weight_raw END AS weight_note,
               CASE WHEN try_cast(r.freight_raw AS DOUBLE) IS NULL THEN r.freight_raw END AS freight_note
        FROM resolved r
        LEFT JOIN parsed w ON w.shipment_id = r.weight_ref
        LEFT JOIN parsed f ON f.shipment_id = r.freight_ref
    """
    return _load(con, "raw_shipments", sql, [str(path)])


def ingest_emission_factors(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Freight emission factors (g CO2e per tonne-km by mode) into ``raw_emission_factors``."""
    _check_columns(con, "emission_factors", path)
    sql = f"""
        SELECT lower(trim(mode)) AS mode, g_co2e_per_tonne_km::DOUBLE AS g_co2e_per_tonne_km,
               source, source_table
        FROM {_reader(path)}
    """
    return _load(con, "raw_emission_factors", sql, [str(path)])
