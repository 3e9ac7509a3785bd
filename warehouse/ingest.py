"""Typed ingest of each feed into its ``raw_<feed>`` table (bad rows into ``quarantine_<feed>``).

Thin, feed-named entry points over :func:`warehouse.loader.load_feed`, which reads canonical,
M5, NOAA, GHCN and USAID files alike, quarantines bad rows with the reason and writes in one
transaction: a load that fails leaves the previous tables untouched. POS loads replace a day
range (one Dagster partition or a range of them); the other feeds replace their whole table.
An optional feed given no files (prices, calendar, events, promotions, weather, its station map,
suppliers, inventory) loads as an empty table with the canonical columns and returns ``None``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb

from warehouse.feeds import FeedError
from warehouse.layout import SCHEMAS
from warehouse.loader import DEFAULT_MAX_BAD_SHARE, LoadReport, load_absent_feed, load_feed

__all__ = [
    "REQUIRED_COLUMNS",
    "LoadReport",
    "pos_date_span",
    "ingest_pos",
    "ingest_pos_history",
    "ingest_prices",
    "ingest_calendar",
    "ingest_events",
    "ingest_promotions",
    "ingest_weather",
    "ingest_weather_stations",
    "ingest_shipments",
    "ingest_suppliers",
    "ingest_inventory",
    "ingest_emission_factors",
    "weather_stats",
]

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    feed: tuple(c.name for c in schema.columns if c.required) for feed, schema in SCHEMAS.items()
}


def _files(paths: Path | Sequence[Path] | None) -> list[Path]:
    if paths is None:
        return []
    return [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]


def _optional(con: duckdb.DuckDBPyConnection, feed: str, paths: Path | Sequence[Path] | None,
              max_bad_share: float) -> LoadReport | None:
    files = _files(paths)
    if not files:
        load_absent_feed(con, feed)
        return None
    return load_feed(con, feed, files, max_bad_share=max_bad_share)


def pos_date_span(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> tuple[dt.date, dt.date]:
    """First and last parseable date in the POS files (the partition range a full load covers).

    Dates after today or before the window start are left out: they are quarantined, not partitions.
    """
    from warehouse import adapters
    from warehouse.loader import WINDOW_START, check_columns

    if not files:
        raise FeedError("pos: no files found")
    today = dt.datetime.now(dt.UTC).date()
    lo: dt.date | None = None
    hi: dt.date | None = None
    for f in files:
        check_columns(con, "pos", Path(f))
        try:
            row = con.execute(
                f"SELECT min(d), max(d), (SELECT count(*) FROM {adapters.reader_sql(Path(f))}) "
                f"FROM (SELECT try_cast(date AS DATE) AS d FROM {adapters.reader_sql(Path(f))}) "
                "WHERE d BETWEEN ? AND ?", [str(f), str(f), WINDOW_START, today]).fetchall()[0]
        except duckdb.Error as exc:
            raise FeedError(f"pos: cannot read {f}: {str(exc).splitlines()[0]}") from None  # DuckDB's text is in ours
        if row[2] == 0:
            raise FeedError(f"pos: {f} has no data rows (header only)")
        if row[0] is not None:
            lo = row[0] if lo is None else min(lo, row[0])
            hi = row[1] if hi is None else max(hi, row[1])
    if lo is None or hi is None:
        raise FeedError(f"pos: no readable dates in {', '.join(str(f) for f in files)}")
    return lo, hi


def ingest_pos(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    date_range: tuple[dt.date, dt.date] | None = None,
    *,
    max_bad_share: float = DEFAULT_MAX_BAD_SHARE,
) -> LoadReport:
    """Daily unit sales per store x item into ``raw_pos``.

    Args:
        con: writable connection.
        files: POS files (canonical ``pos/`` files or M5 ``sales_*.parquet``).
        date_range: the days to replace (inclusive); ``None`` = every day in the files.
        max_bad_share: largest share of quarantined rows that still loads.
    """
    files = _files(files)
    if not files:
        raise FeedError("pos: no POS files found (pos/*.csv|parquet or sales_*.parquet)")
    date_range = date_range or pos_date_span(con, files)
    return load_feed(con, "pos", files, date_range=date_range, max_bad_share=max_bad_share)


def ingest_pos_history(con: duckdb.DuckDBPyConnection, files: Path | Sequence[Path] | None, *,
                       max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport | None:
    """Earlier POS history (canonical ``pos_history/`` or M5 ``m5_history/sales_*.parquet``) into
    ``raw_pos_history``, in bulk: years of days are one load, not thousands of day partitions.
    ``demand_history`` takes a day that ``raw_pos`` also holds from ``raw_pos``."""
    return _optional(con, "pos_history", files, max_bad_share)


def ingest_prices(con: duckdb.DuckDBPyConnection, path: Path | Sequence[Path] | None, *,
                  max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport | None:
    """Sell prices per store x item (by Walmart week, week start or validity range) into ``raw_prices``."""
    return _optional(con, "prices", path, max_bad_share)


def ingest_calendar(con: duckdb.DuckDBPyConnection, path: Path | Sequence[Path] | None, *,
                    max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport | None:
    """The retail calendar (events, SNAP days, weeks) into ``raw_calendar``.

    The calendar legitimately runs into the future (planned events), so its window ends in 2100.
    """
    return _optional(con, "calendar", path, max_bad_share)


def ingest_events(con: duckdb.DuckDBPyConnection, path: Path | Sequence[Path] | None, *,
                  max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport | None:
    """Holidays and events, for every store or one store, into ``raw_events``."""
    return _optional(con, "events", path, max_bad_share)


def ingest_promotions(con: duckdb.DuckDBPyConnection, path: Path | Sequence[Path] | None, *,
                      max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport | None:
    """Promotion days per store x item (flag, optional discount) into ``raw_promotions``."""
    return _optional(con, "promotions", path, max_bad_share)


def ingest_weather_stations(con: duckdb.DuckDBPyConnection, path: Path | Sequence[Path] | None, *,
                            max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport | None:
    """The store -> weather station map (canonical, NOAA key or GHCN's M5 map) into ``raw_weather_key``."""
    return _optional(con, "weather_stations", path, max_bad_share)


def ingest_weather(con: duckdb.DuckDBPyConnection, weather: Path | Sequence[Path] | None,
                   key: Path | Sequence[Path] | None = None, *,
                   max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport | None:
    """Daily weather (GHCN, NOAA daily summaries or canonical) into ``raw_weather``, and the station
    map, when given, into ``raw_weather_key``.

    NOAA writes ``M`` for missing (-> NULL) and ``T`` for a trace of precipitation or snow
    (-> 0.0 with a ``*_trace`` flag, since a trace is below the 0.01 inch resolution). Rows dated
    after the last POS day are kept: they are a weather forecast for those days.
    """
    report = _optional(con, "weather", weather, max_bad_share)
    if key is not None:
        ingest_weather_stations(con, key, max_bad_share=max_bad_share)
    return report


def ingest_shipments(con: duckdb.DuckDBPyConnection, path: Path | Sequence[Path], *,
                     max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport:
    """Shipment lines (canonical or USAID SCMS) into ``raw_shipments`` with weight and freight resolved."""
    return load_feed(con, "shipments", _files(path), max_bad_share=max_bad_share)


def ingest_suppliers(con: duckdb.DuckDBPyConnection, path: Path | Sequence[Path] | None, *,
                     max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport | None:
    """The supplier catalogue / vendor list into ``raw_suppliers``; ``None`` when not provided.

    An absent catalogue still (re)creates an empty ``raw_suppliers`` so that checks can tell.
    """
    return _optional(con, "suppliers", path, max_bad_share)


def ingest_inventory(con: duckdb.DuckDBPyConnection, path: Path | Sequence[Path] | None, *,
                     max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport | None:
    """Stock on hand into ``raw_inventory``; ``None`` (and an empty table) when not provided."""
    return _optional(con, "inventory", path, max_bad_share)


def ingest_emission_factors(con: duckdb.DuckDBPyConnection, path: Path | Sequence[Path], *,
                            max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> LoadReport:
    """Freight emission factors (g CO2e per tonne-km by mode) into ``raw_emission_factors``."""
    return load_feed(con, "emission_factors", _files(path), max_bad_share=max_bad_share)


def weather_stats(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Stations, store-keyed series, trace-precipitation days and days without a temperature in ``raw_weather``."""
    row = con.execute(
        "SELECT count(DISTINCT station), count(DISTINCT store_id), coalesce(sum(prcp_in_trace::INT), 0), "
        "count(*) FILTER (WHERE tmax_f IS NULL AND tavg_f IS NULL) FROM raw_weather").fetchall()[0]
    return {"stations": int(row[0]), "stores_with_own_weather": int(row[1]), "trace_precip_days": int(row[2]),
            "days_without_temperature": int(row[3])}
