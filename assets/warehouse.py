"""Warehouse marts built by SQL in DuckDB (``warehouse/sql/*.sql``)."""


from dagster import MaterializeResult, asset
from dagster_duckdb import DuckDBResource

from assets._metadata import OWNERS, WRITER_POOL, table_metadata
from warehouse.marts import build_mart

__all__ = ["demand_history", "weather_daily", "shipment_stats", "WAREHOUSE_ASSETS"]

_COMMON = dict(group_name="warehouse", owners=OWNERS, pool=WRITER_POOL, kinds={"duckdb", "sql"})


@asset(**_COMMON, deps=["raw_pos", "raw_prices", "raw_calendar"],
       description="Daily units per store x item with sell price, price change, events and SNAP; a day whose "
                   "POS row was quarantined is kept as 0 units, flagged units_imputed (count in metadata).")
def demand_history(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = build_mart(con, "demand_history")
        stats = con.execute(
            "SELECT count(DISTINCT (store_id, item_id)), avg((units = 0)::INT), avg((sell_price IS NULL)::INT), sum(units), "
            "sum(units_imputed::INT) FROM demand_history"
        ).fetchall()[0]
    return MaterializeResult(
        metadata=table_metadata(rows, series=int(stats[0]), zero_share=float(stats[1]),
                                missing_price_share=float(stats[2]), total_units=int(stats[3]),
                                imputed_days=int(stats[4]))
    )


@asset(**_COMMON, deps=["raw_weather"],
       description="NOAA daily weather per Walmart store via the store->station key. Covers 2012-2014, "
                   "the stormy-weather stores; it does not overlap the M5 dates, so forecasts of M5 do not use it.")
def weather_daily(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = build_mart(con, "weather_daily")
        stats = con.execute("SELECT count(DISTINCT store_nbr), min(date)::VARCHAR, max(date)::VARCHAR, avg(rain::INT) FROM weather_daily").fetchall()[0]
    return MaterializeResult(
        metadata=table_metadata(rows, stores=int(stats[0]), first_date=stats[1], last_date=stats[2], rain_day_share=float(stats[3]))
    )


@asset(**_COMMON, deps=["raw_shipments"],
       description="Per vendor x freight mode: late rate, lead-time quantiles, freight per kg, cost index (real USAID data).")
def shipment_stats(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        rows = build_mart(con, "shipment_stats")
        by_mode = con.execute(
            "SELECT mode, sum(n_lines) AS lines, round(sum(late_rate * n_lines) / sum(n_lines), 3) AS late_rate, "
            "median(lead_time_p50) AS lead_time_p50_days, round(median(freight_usd_per_kg), 2) AS freight_usd_per_kg "
            "FROM shipment_stats GROUP BY mode ORDER BY lines DESC"
        ).df()
    return MaterializeResult(metadata=table_metadata(rows, by_mode=by_mode))


WAREHOUSE_ASSETS = [demand_history, weather_daily, shipment_stats]
