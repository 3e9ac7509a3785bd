"""Blocking quality gates: one Great Expectations suite per feed, run as a Dagster asset check.

A failed gate fails the run and skips everything downstream of the feed.
"""


from collections.abc import Callable

import pandas as pd
from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, MetadataValue, asset_check
from dagster_duckdb import DuckDBResource

from assets.ingest import raw_calendar, raw_emission_factors, raw_pos, raw_prices, raw_shipments, raw_weather
from warehouse.db import read_table
from warehouse.quality import validate_feed

__all__ = ["GX_CHECKS"]


def _gx_check(asset_def, feed: str, table: str) -> AssetChecksDefinition:
    @asset_check(
        asset=asset_def,
        name=f"gx_{feed}_suite",
        blocking=True,
        description=f"Great Expectations suite '{feed}_suite' on {table}: schema, nulls, keys, ranges.",
    )
    def _check(duckdb: DuckDBResource) -> AssetCheckResult:
        with duckdb.get_connection() as con:
            df: pd.DataFrame = read_table(con, table)
        outcome = validate_feed(feed, df)
        failures = pd.DataFrame(outcome.failures)
        metadata = {
            "rows": MetadataValue.int(outcome.rows),
            "expectations": MetadataValue.int(outcome.evaluated),
            "failed": MetadataValue.int(len(outcome.failures)),
            "summary": MetadataValue.text(outcome.summary()),
        }
        if not failures.empty:
            metadata["failures"] = MetadataValue.md(failures.astype(str).to_markdown(index=False))
        return AssetCheckResult(passed=outcome.success, severity=AssetCheckSeverity.ERROR, metadata=metadata,
                                description=outcome.summary())

    return _check


_GATES: list[tuple[Callable, str, str]] = [
    (raw_pos, "pos", "raw_pos"),
    (raw_prices, "prices", "raw_prices"),
    (raw_calendar, "calendar", "raw_calendar"),
    (raw_weather, "weather", "raw_weather"),
    (raw_shipments, "shipments", "raw_shipments"),
    (raw_emission_factors, "emission_factors", "raw_emission_factors"),
]

GX_CHECKS = [_gx_check(asset_def, feed, table) for asset_def, feed, table in _GATES]
