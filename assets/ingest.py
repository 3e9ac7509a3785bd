"""Ingest assets: each feed file into its typed ``raw_*`` table in DuckDB."""


from dagster import MaterializeResult, asset
from dagster_duckdb import DuckDBResource

from assets._metadata import OWNERS, table_metadata
from pipelines.resources import FeedsResource
from warehouse import ingest

__all__ = ["raw_pos", "raw_prices", "raw_calendar", "raw_weather", "raw_shipments", "raw_emission_factors", "INGEST_ASSETS"]

_COMMON = dict(group_name="ingest", owners=OWNERS, kinds={"duckdb", "python"})


@asset(**_COMMON, description="Daily unit sales per store x item (POS), from the M5 sales files.")
def raw_pos(duckdb: DuckDBResource, feeds: FeedsResource) -> MaterializeResult:
    paths = feeds.paths()
    with duckdb.get_connection() as con:
        rows = ingest.ingest_pos(con, paths.pos)
        span = con.execute("SELECT min(date)::VARCHAR, max(date)::VARCHAR, count(DISTINCT (store_id, item_id)) FROM raw_pos").fetchall()[0]
    return MaterializeResult(
        metadata=table_metadata(rows, first_date=span[0], last_date=span[1], series=int(span[2]),
                                source=", ".join(str(p) for p in paths.pos))
    )


@asset(**_COMMON, description="Weekly sell prices per store x item (M5 sell_prices).")
def raw_prices(duckdb: DuckDBResource, feeds: FeedsResource) -> MaterializeResult:
    paths = feeds.paths()
    with duckdb.get_connection() as con:
        rows = ingest.ingest_prices(con, paths.prices)
    return MaterializeResult(metadata=table_metadata(rows, source=str(paths.prices)))


@asset(**_COMMON, description="Retail calendar: Walmart weeks, events and SNAP days (M5 calendar).")
def raw_calendar(duckdb: DuckDBResource, feeds: FeedsResource) -> MaterializeResult:
    paths = feeds.paths()
    with duckdb.get_connection() as con:
        rows = ingest.ingest_calendar(con, paths.calendar)
    return MaterializeResult(metadata=table_metadata(rows, source=str(paths.calendar)))


@asset(**_COMMON, description="NOAA daily weather per station ('M' missing -> NULL, 'T' trace -> 0 + flag), and the store->station key.")
def raw_weather(duckdb: DuckDBResource, feeds: FeedsResource) -> MaterializeResult:
    paths = feeds.paths()
    with duckdb.get_connection() as con:
        rows = ingest.ingest_weather(con, paths.weather, paths.weather_key)
        stats = con.execute(
            "SELECT count(DISTINCT station_nbr), sum(preciptotal_trace::INT), count(*) - count(tavg) FROM raw_weather"
        ).fetchall()[0]
    return MaterializeResult(
        metadata=table_metadata(rows, stations=int(stats[0]), trace_precip_days=int(stats[1]),
                                missing_tavg=int(stats[2]), source=str(paths.weather))
    )


@asset(**_COMMON, description="USAID SCMS shipment lines (real lead times, modes, weights, freight), shipment-level references resolved.")
def raw_shipments(duckdb: DuckDBResource, feeds: FeedsResource) -> MaterializeResult:
    paths = feeds.paths()
    with duckdb.get_connection() as con:
        rows = ingest.ingest_shipments(con, paths.shipments)
        stats = con.execute("SELECT count(DISTINCT vendor), count(weight_kg), count(freight_usd) FROM raw_shipments").fetchall()[0]
    return MaterializeResult(
        metadata=table_metadata(rows, vendors=int(stats[0]), lines_with_weight=int(stats[1]),
                                lines_with_freight=int(stats[2]), source=str(paths.shipments))
    )


@asset(**_COMMON, description="Freight emission factors, g CO2e per tonne-km by mode (DESNZ 2024, GLEC v3.1).")
def raw_emission_factors(duckdb: DuckDBResource, feeds: FeedsResource) -> MaterializeResult:
    paths = feeds.paths()
    with duckdb.get_connection() as con:
        rows = ingest.ingest_emission_factors(con, paths.emission_factors)
        factors = con.execute("SELECT mode, g_co2e_per_tonne_km FROM raw_emission_factors ORDER BY mode").df()
    return MaterializeResult(metadata=table_metadata(rows, factors=factors, source=str(paths.emission_factors)))


INGEST_ASSETS = [raw_pos, raw_prices, raw_calendar, raw_weather, raw_shipments, raw_emission_factors]
