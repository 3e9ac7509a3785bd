"""Staging -> mart SQL models, one ``.sql`` file each (named CTEs, jaffle-shop style)."""

from __future__ import annotations

from importlib import resources

import duckdb

from warehouse.db import row_count, transaction, valid_table_name

__all__ = ["MARTS", "mart_sql", "build_mart"]

MARTS = ("demand_history", "weather_daily", "shipment_stats")


def mart_sql(name: str) -> str:
    """The SELECT statement of mart ``name``."""
    if name not in MARTS:
        raise KeyError(f"unknown mart {name!r}; known: {', '.join(MARTS)}")
    return resources.files("warehouse").joinpath("sql", f"{name}.sql").read_text()


def build_mart(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """(Re)build mart ``name`` in one transaction and return its row count."""
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE {valid_table_name(name)} AS {mart_sql(name)}")
    return row_count(con, name)
