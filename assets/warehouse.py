"""Warehouse marts built by SQL in DuckDB (``warehouse/sql/*.sql``)."""


from dagster import MaterializeResult, asset
from dagster_duckdb import DuckDBResource

from assets._metadata import OWNERS, WRITER_POOL, table_metadata
from warehouse.marts import build_mart, demand_history_summary, shipment_stats_by_mode, weather_daily_summary

__all__ = ["demand_history", "weather_daily", "shipment_stats", "WAREHOUSE_ASSETS"]

_COMMON = dict(group_name="warehouse", owners=OWNERS, pool=WRITER_POOL, kinds={"duckdb", "sql"})


@asset(**_COMMON, deps=["raw_pos", "raw_prices", "raw_calendar"],
       description="Daily units per store x item with sell price, price change, events and SNAP; a day whose "
                   "POS row was quarantined is kept as 0 units, flagged units_imputed (count in metadata).")
def demand_history(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = build_mart(con, "demand_history")
        s = demand_history_summary(con)
    return MaterializeResult(
        metadata=table_metadata(rows, series=s.series, zero_share=s.zero_share, missing_price_share=s.missing_price_share,
                                total_units=s.total_units, imputed_days=s.imputed_days)
    )


@asset(**_COMMON, deps=["raw_weather"],
       description="NOAA daily weather per Walmart store via the store->station key. Covers 2012-2014, "
                   "the stormy-weather stores; it does not overlap the M5 dates, so forecasts of M5 do not use it.")
def weather_daily(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = build_mart(con, "weather_daily")
        s = weather_daily_summary(con)
    return MaterializeResult(
        metadata=table_metadata(rows, stores=s.stores, first_date=s.first_date, last_date=s.last_date,
                                rain_day_share=s.rain_day_share)
    )


@asset(**_COMMON, deps=["raw_shipments"],
       description="Per vendor x freight mode: late rate, lead-time quantiles, freight per kg, cost index (real USAID data).")
def shipment_stats(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = build_mart(con, "shipment_stats")
        by_mode = shipment_stats_by_mode(con)
    return MaterializeResult(metadata=table_metadata(rows, by_mode=by_mode))


WAREHOUSE_ASSETS = [demand_history, weather_daily, shipment_stats]
