"""Staging -> mart SQL models, one ``.sql`` file each (named CTEs, jaffle-shop style)."""

from __future__ import annotations

from importlib import resources

import duckdb
import pandas as pd

from warehouse.db import identifier, row_count, transaction

__all__ = ["MARTS", "mart_sql", "build_mart", "mart_stats", "shipment_stats_by_mode"]

# in build order: demand_history reads price_periods
MARTS = ("price_periods", "demand_history", "store_weather", "shipment_stats")

# one summary row per mart, for the asset metadata
_STATS = {
    "price_periods": ("SELECT count(DISTINCT (store_id, item_id)) AS series, min(valid_from)::VARCHAR AS first_day, "
                      "max(valid_to)::VARCHAR AS last_day FROM price_periods"),
    "demand_history": ("SELECT count(DISTINCT (store_id, item_id)) AS series, min(date)::VARCHAR AS first_date, "
                       "max(date)::VARCHAR AS last_date, "
                       "(SELECT max(n) FROM (SELECT count(*) AS n FROM demand_history GROUP BY store_id, item_id)) "
                       "AS longest_series_days, "
                       "(SELECT min(n) FROM (SELECT count(*) AS n FROM demand_history GROUP BY store_id, item_id)) "
                       "AS shortest_series_days, "
                       "avg((units = 0)::INT) AS zero_share, avg((sell_price IS NULL)::INT) AS missing_price_share, "
                       "sum(units)::BIGINT AS total_units, sum(units_imputed::INT)::BIGINT AS imputed_days, "
                       "sum(units_quarantined::INT)::BIGINT AS quarantined_days, "
                       "sum(on_promotion)::BIGINT AS promotion_days, "
                       "(SELECT count(*) FROM raw_pos_history SEMI JOIN raw_pos USING (store_id, item_id, date)) "
                       "AS history_days_taken_from_pos FROM demand_history"),
    "store_weather": ("SELECT count(DISTINCT store_id) AS stores, min(date)::VARCHAR AS first_date, "
                      "max(date)::VARCHAR AS last_date, count(*) FILTER (WHERE source = 'forecast') AS forecast_days, "
                      "count(DISTINCT store_id) FILTER (WHERE station_proxy) AS stores_on_proxy_station "
                      "FROM store_weather"),
}


def mart_sql(name: str) -> str:
    """The SELECT statement of mart ``name``."""
    if name not in MARTS:
        raise KeyError(f"unknown mart {name!r}; known: {', '.join(MARTS)}")
    return resources.files("warehouse").joinpath("sql", f"{name}.sql").read_text()


def build_mart(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """(Re)build mart ``name`` in one transaction and return its row count."""
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE {identifier(name)} AS {mart_sql(name)}")
    return row_count(con, name)


def mart_stats(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, object]:
    """A few summary figures of mart ``name`` (plain Python values; NULL, as for an empty mart, -> "none")."""
    cur = con.execute(_STATS[name])
    row = cur.fetchall()[0]
    return {d[0]: ("none" if v is None else v) for d, v in zip(cur.description, row, strict=True)}


def shipment_stats_by_mode(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Mart ``shipment_stats`` per freight mode, most lines first.

    Returns:
        ``mode, lines``, line-weighted ``late_rate`` (3 decimals), median ``lead_time_p50_days``
        and median ``freight_usd_per_kg`` (2 decimals) over the mode's vendor lanes.
    """
    return con.execute(
        "SELECT mode, sum(n_lines) AS lines, round(sum(late_rate * n_lines) / sum(n_lines), 3) AS late_rate, "
        "median(lead_time_p50) AS lead_time_p50_days, round(median(freight_usd_per_kg), 2) AS freight_usd_per_kg "
        "FROM shipment_stats GROUP BY mode ORDER BY lines DESC"
    ).df()
