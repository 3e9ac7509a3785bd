"""Ingest assets: each feed's files into its typed ``raw_*`` table, bad rows into ``quarantine_*``.

``raw_pos`` is partitioned by day; one run loads a whole range of days in one step and one
DuckDB transaction (``BackfillPolicy.single_run``), which is how ``supplycast run`` and UI
backfills load it. Every writing asset takes the ``duckdb_writer`` pool: with the instance's
pool limit at 1 only one step writes the warehouse at a time.
"""

import datetime as dt
import warnings

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    BetaWarning,
    DailyPartitionsDefinition,
    MaterializeResult,
    asset,
)
from dagster_duckdb import DuckDBResource

from assets._metadata import OWNERS, WRITER_POOL, quarantine_metadata, table_metadata
from assets.resources import FeedsResource
from warehouse import ingest
from warehouse.loader import LoadReport, table_rows
from warehouse.queries import pos_span

__all__ = [
    "raw_pos", "raw_pos_history", "raw_prices", "raw_calendar", "raw_events", "raw_promotions", "raw_weather", "raw_shipments",
    "raw_suppliers", "raw_inventory", "raw_emission_factors", "INGEST_ASSETS", "POS_PARTITIONS", "WRITER_POOL", "partition_range_tags",
]

# single-run backfills are what make one run load a day range in one transaction; Dagster labels
# the parameter beta, and the warning would otherwise open every `supplycast run`
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)

# from before the oldest public Walmart POS (2010-02-05; M5 long history starts 2011-01-29) to
# yesterday, the last complete day
POS_PARTITIONS = DailyPartitionsDefinition(start_date="2010-01-01")

_COMMON = dict(group_name="ingest", owners=OWNERS, kinds={"duckdb", "python"}, pool=WRITER_POOL)


def partition_range_tags(start: dt.date, end: dt.date) -> dict[str, str]:
    """Run tags that make one run load the day partitions ``start..end`` (single-run backfill)."""
    return {"dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat()}


def _source(report: LoadReport) -> str:
    shown = ", ".join(report.files[:5])
    return shown + (f" (+{len(report.files) - 5} files)" if len(report.files) > 5 else "")


def _report_metadata(report: LoadReport | None, table_total: int, **extra: object) -> dict:
    if report is None:
        return table_metadata(table_total, provided=False, **extra)
    return {**table_metadata(table_total, rows_loaded=report.rows_loaded, source=_source(report), **extra),
            **quarantine_metadata(report)}


@asset(**_COMMON, partitions_def=POS_PARTITIONS, backfill_policy=BackfillPolicy.single_run(),
       description="Daily unit sales per store x item (POS), one partition per day; a run replaces its day range "
                   "atomically (delete + insert in one transaction), bad rows go to quarantine_pos.")
def raw_pos(context: AssetExecutionContext, duckdb: DuckDBResource, feeds: FeedsResource) -> MaterializeResult:
    window = context.partition_time_window
    start, end = window.start.date(), (window.end - dt.timedelta(days=1)).date()
    paths = feeds.paths()
    with duckdb.get_connection() as con:
        report = ingest.ingest_pos(con, paths.pos, (start, end), max_bad_share=feeds.max_bad_share)
        span = pos_span(con, start, end)
        total = table_rows(con, "raw_pos")
    return MaterializeResult(metadata=_report_metadata(
        report, total, partition_range=f"{start}..{end}", rows_in_range=span.rows, first_date=span.first_date,
        last_date=span.last_date, series=span.series))


def _full_load(name: str, description: str, loader, feed: str, deps: list[str] | None = None):
    @asset(**_COMMON, name=name, description=description, deps=deps or [])
    def _asset(duckdb: DuckDBResource, feeds: FeedsResource) -> MaterializeResult:
        files = feeds.paths().files(feed)
        with duckdb.get_connection() as con:
            report = loader(con, files, max_bad_share=feeds.max_bad_share)
            total = table_rows(con, name)
        return MaterializeResult(metadata=_report_metadata(report, total))

    return _asset


raw_pos_history = _full_load("raw_pos_history", "Earlier daily POS, years of it (canonical pos_history/ or "
                             "m5_history/ beside an M5 folder), loaded in bulk rather than as day partitions; "
                             "optional: empty when not provided. demand_history takes a day raw_pos also holds "
                             "from raw_pos.", ingest.ingest_pos_history, "pos_history")
raw_prices = _full_load("raw_prices", "Sell prices per store x item by Walmart week, week start or validity range "
                        "(canonical prices/ or M5 sell_prices; optional: empty when not provided).",
                        ingest.ingest_prices, "prices")
raw_calendar = _full_load("raw_calendar", "Retail calendar: weeks, events and SNAP days (optional: empty when not "
                          "provided; demand_history then takes weekday, month and year from the date).",
                          ingest.ingest_calendar, "calendar")
raw_events = _full_load("raw_events", "Holidays and events per day, for every store or one store (canonical events/; "
                        "optional: empty when not provided); future rows are planned events.",
                        ingest.ingest_events, "events")
raw_promotions = _full_load("raw_promotions", "Promotion days per store x item (canonical promotions/; optional: "
                            "empty when not provided); future rows are planned promotions.",
                            ingest.ingest_promotions, "promotions")


@asset(**_COMMON, description="Daily weather per station or per store (GHCN-Daily, NOAA daily summaries with 'M' "
                               "missing -> NULL and 'T' trace -> 0 + flag, or canonical; optional), and the store -> "
                               "station map (weather_ghcn/m5_store_station.csv, NOAA key, weather_stations/) into "
                               "raw_weather_key. Rows after the last POS date are a weather forecast.")
def raw_weather(duckdb: DuckDBResource, feeds: FeedsResource) -> MaterializeResult:
    paths = feeds.paths()
    with duckdb.get_connection() as con:
        report = ingest.ingest_weather(con, paths.files("weather"), max_bad_share=feeds.max_bad_share)
        stations = ingest.ingest_weather_stations(con, paths.files("weather_stations"), max_bad_share=feeds.max_bad_share)
        stats = ingest.weather_stats(con)
        total = table_rows(con, "raw_weather")
    return MaterializeResult(metadata={
        **_report_metadata(report, total, **stats, store_station_pairs=stations.rows_loaded if stations else 0),
        **(quarantine_metadata(stations, prefix="store_station_") if stations else {})})

raw_shipments = _full_load("raw_shipments", "Shipment lines (real USAID lead times, modes, weights, freight), "
                           "shipment-level references resolved.", ingest.ingest_shipments, "shipments")
raw_suppliers = _full_load("raw_suppliers", "Supplier catalogue / approved vendor list (canonical suppliers/; "
                           "optional: empty when not provided).", ingest.ingest_suppliers, "suppliers")
raw_inventory = _full_load("raw_inventory", "Stock on hand per store x item (canonical inventory/; optional: empty "
                           "when not provided, procurement then uses its labelled synthetic snapshot).",
                           ingest.ingest_inventory, "inventory")
raw_emission_factors = _full_load("raw_emission_factors", "Freight emission factors, g CO2e per tonne-km by mode "
                                  "(DESNZ 2024, GLEC v3.1).", ingest.ingest_emission_factors, "emission_factors")

INGEST_ASSETS = [raw_pos, raw_pos_history, raw_prices, raw_calendar, raw_events, raw_promotions, raw_weather, raw_shipments,
                 raw_suppliers, raw_inventory, raw_emission_factors]
