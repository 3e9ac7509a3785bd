"""Staging -> mart SQL models, one ``.sql`` file each (named CTEs, jaffle-shop style)."""

from __future__ import annotations

from importlib import resources

import duckdb

from warehouse.db import _ident, row_count, transaction

__all__ = ["MARTS", "mart_sql", "build_mart"]

# in build order: demand_history reads price_periods
MARTS = ("price_periods", "demand_history", "store_weather", "shipment_stats")


def mart_sql(name: str) -> str:
    """The SELECT statement of mart ``name``."""
    if name not in MARTS:
        raise KeyError(f"unknown mart {name!r}; known: {', '.join(MARTS)}")
    return resources.files("warehouse").joinpath("sql", f"{name}.sql").read_text()


def build_mart(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """(Re)build mart ``name`` in one transaction and return its row count."""
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE {_ident(name)} AS {mart_sql(name)}")
    return row_count(con, name)
