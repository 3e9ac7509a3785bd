"""Staging -> mart SQL models, one ``.sql`` file each (named CTEs, jaffle-shop style)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import duckdb
import pandas as pd

from warehouse.db import identifier, row_count, transaction

__all__ = ["MARTS", "mart_sql", "build_mart", "DemandSummary", "demand_history_summary", "WeatherSummary",
           "weather_daily_summary", "shipment_stats_by_mode"]

MARTS = ("demand_history", "weather_daily", "shipment_stats")


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


@dataclass(frozen=True)
class DemandSummary:
    """What ``demand_history`` holds.

    Attributes:
        series: Store x item series.
        zero_share: Share of days with 0 units.
        missing_price_share: Share of days without a sell price.
        total_units: Units sold over all days.
        imputed_days: Days whose POS row was quarantined, kept as 0 units.
    """

    series: int
    zero_share: float
    missing_price_share: float
    total_units: int
    imputed_days: int


def demand_history_summary(con: duckdb.DuckDBPyConnection) -> DemandSummary:
    """The :class:`DemandSummary` of mart ``demand_history``."""
    series, zero, missing, units, imputed = con.execute(
        "SELECT count(DISTINCT (store_id, item_id)), avg((units = 0)::INT), avg((sell_price IS NULL)::INT), "
        "sum(units), sum(units_imputed::INT) FROM demand_history"
    ).fetchall()[0]
    return DemandSummary(int(series), float(zero or 0.0), float(missing or 0.0), int(units or 0), int(imputed or 0))


@dataclass(frozen=True)
class WeatherSummary:
    """What ``weather_daily`` holds: stores covered, first and last date, share of rain days."""

    stores: int
    first_date: str | None
    last_date: str | None
    rain_day_share: float


def weather_daily_summary(con: duckdb.DuckDBPyConnection) -> WeatherSummary:
    """The :class:`WeatherSummary` of mart ``weather_daily``."""
    stores, first, last, rain = con.execute(
        "SELECT count(DISTINCT store_nbr), min(date)::VARCHAR, max(date)::VARCHAR, avg(rain::INT) FROM weather_daily"
    ).fetchall()[0]
    return WeatherSummary(int(stores), first, last, float(rain or 0.0))


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
