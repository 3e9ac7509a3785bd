"""Warehouse marts built by SQL in DuckDB (``warehouse/sql/*.sql``)."""


from dagster import MaterializeResult, asset
from dagster_duckdb import DuckDBResource

from assets._metadata import OWNERS, WRITER_POOL, table_metadata
from warehouse.marts import build_mart, mart_stats, shipment_stats_by_mode

__all__ = ["price_periods", "demand_history", "store_weather", "shipment_stats", "WAREHOUSE_ASSETS"]

_COMMON = dict(group_name="warehouse", owners=OWNERS, pool=WRITER_POOL, kinds={"duckdb", "sql"})


@asset(**_COMMON, deps=["raw_prices", "raw_calendar"],
       description="Shelf price per store x item as validity ranges (valid_from..valid_to), whatever the prices feed "
                   "was keyed by: Walmart week (through the calendar), week start or validity range.")
def price_periods(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = build_mart(con, "price_periods")
        stats = mart_stats(con, "price_periods")
    return MaterializeResult(metadata=table_metadata(rows, **stats))


@asset(**_COMMON, deps=["raw_pos", "raw_pos_history", "price_periods", "raw_calendar", "raw_events", "raw_promotions"],
       description="Daily units per store x item over each series' whole history (weeks to years) with sell price, "
                   "price change, events, SNAP and promotion; a day a series lacks is flagged units_imputed "
                   "(count in metadata): 0 units, or where its POS row was quarantined (units_quarantined) the "
                   "mean of the same weekday in the 4 weeks before.")
def demand_history(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = build_mart(con, "demand_history")
        stats = mart_stats(con, "demand_history")
    return MaterializeResult(metadata=table_metadata(rows, **stats))


@asset(**_COMMON, deps=["raw_weather", "raw_pos"],
       description="Daily weather per store (tmax_f, tmin_f, prcp_in, snow_in): its own or its station's (proxy "
                   "flagged); source = observed up to the last POS date, forecast after it.")
def store_weather(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = build_mart(con, "store_weather")
        stats = mart_stats(con, "store_weather")
    return MaterializeResult(metadata=table_metadata(rows, **stats))


@asset(**_COMMON, deps=["raw_shipments"],
       description="Per vendor x freight mode: late rate, lead-time quantiles, freight per kg, cost index (real USAID data).")
def shipment_stats(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = build_mart(con, "shipment_stats")
        by_mode = shipment_stats_by_mode(con)
    return MaterializeResult(metadata=table_metadata(rows, by_mode=by_mode))


WAREHOUSE_ASSETS = [price_periods, demand_history, store_weather, shipment_stats]
