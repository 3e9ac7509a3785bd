"""Blocking quality gates: a Great Expectations suite per feed and cross-feed checks, as Dagster asset checks.

A failed gate fails the run and skips everything downstream of the feed. Each GX gate puts a
markdown table of every expectation's result in the check's metadata, readable in the UI itself.
The GX data docs (HTML, in the state folder) are an extra: their page is given as a path to
open from a file browser, since a browser refuses ``file://`` links from the Dagster UI.

Speed: keys, nulls, types and ranges are already enforced row by row at load (bad rows are
quarantined), so GX re-checks what this run feeds the forecast: for ``raw_pos`` the partition
range just loaded, for ``raw_prices`` the price weeks of those days (the 6.8M M5 price rows would
cost ~11 s in pandas; an unpartitioned run validates them all), for the small feeds every row.
"""


import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)
from dagster_duckdb import DuckDBResource

from assets._metadata import WRITER_POOL, markdown_table
from assets.ingest import (
    raw_calendar,
    raw_emission_factors,
    raw_events,
    raw_inventory,
    raw_pos,
    raw_pos_history,
    raw_prices,
    raw_promotions,
    raw_shipments,
    raw_suppliers,
    raw_weather,
)
from assets.resources import FeedsResource
from warehouse import crossfeed
from warehouse.quality import suite_columns, validate_feed
from warehouse.queries import gate_rows, pos_day_range, quarantined_rows

__all__ = ["GX_CHECKS", "CROSS_FEED_CHECKS"]


def _run_range(context: AssetCheckExecutionContext) -> tuple[str, str] | None:
    """The POS day range this run loads, from its partition tags (``None`` for an unpartitioned run)."""
    tags = context.op_execution_context.run.tags
    if "dagster/asset_partition_range_start" in tags:
        return tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]
    if "dagster/partition" in tags:
        return tags["dagster/partition"], tags["dagster/partition"]
    return None


def _pos_range(context: AssetCheckExecutionContext, con) -> tuple[str, str]:
    """The day range this run loaded, else every day in ``raw_pos``."""
    return _run_range(context) or pos_day_range(con)


def _gx_check(asset_def, feed: str, table: str) -> AssetChecksDefinition:
    @asset_check(
        pool=WRITER_POOL,
        asset=asset_def,
        name=f"gx_{feed}_suite",
        blocking=True,
        additional_deps=["raw_calendar"] if table == "raw_prices" else None,
        description=f"Great Expectations suite '{feed}_suite' on {table}: schema, types, non-null and unique keys, "
                    "ranges, dates in the expected window. The metadata's `expectations_table` shows every "
                    "expectation's result (column, success, unexpected count and percent, sample values); the "
                    "GX data docs page is given as a path (`gx_data_docs_page`) to open from a file browser, "
                    "because browsers refuse file:// links from the Dagster UI.",
    )
    def _check(context: AssetCheckExecutionContext, duckdb: DuckDBResource, feeds: FeedsResource) -> AssetCheckResult:
        # raw_pos: the days this run loaded (else all); raw_prices: their price weeks (else all)
        days = _run_range(context) if table in ("raw_pos", "raw_prices") else None
        with duckdb.get_connection() as con:
            df, scope = gate_rows(con, table, days, columns=suite_columns(feed))
            quarantined = quarantined_rows(con, feed)
        outcome = validate_feed(feed, df, docs_dir=feeds.docs_dir or None)
        metadata = {
            "rows": MetadataValue.int(outcome.rows),
            "scope": MetadataValue.text(scope),
            "expectations": MetadataValue.int(outcome.evaluated),
            "failed": MetadataValue.int(len(outcome.failures)),
            "quarantined_rows": MetadataValue.int(quarantined),
            "summary": MetadataValue.text(outcome.summary()),
            "expectations_table": markdown_table(outcome.expectation_table(), max_rows=len(outcome.results)),
        }
        if outcome.docs_page is not None:
            metadata["gx_data_docs_page"] = MetadataValue.path(str(outcome.docs_page))
        return AssetCheckResult(passed=outcome.success, severity=AssetCheckSeverity.ERROR, metadata=metadata,
                                description=outcome.summary())

    return _check


_GATES = [
    (raw_pos, "pos", "raw_pos"),
    (raw_pos_history, "pos_history", "raw_pos_history"),
    (raw_prices, "prices", "raw_prices"),
    (raw_calendar, "calendar", "raw_calendar"),
    (raw_events, "events", "raw_events"),
    (raw_promotions, "promotions", "raw_promotions"),
    (raw_weather, "weather", "raw_weather"),
    (raw_weather, "weather_stations", "raw_weather_key"),
    (raw_shipments, "shipments", "raw_shipments"),
    (raw_suppliers, "suppliers", "raw_suppliers"),
    (raw_inventory, "inventory", "raw_inventory"),
    (raw_emission_factors, "emission_factors", "raw_emission_factors"),
]

GX_CHECKS = [_gx_check(asset_def, feed, table) for asset_def, feed, table in _GATES]


def _cross_result(outcome: crossfeed.CrossCheck) -> AssetCheckResult:
    metadata = {
        "offending": MetadataValue.int(outcome.bad),
        "checked": MetadataValue.int(outcome.checked),
        "summary": MetadataValue.text(outcome.description),
    }
    if len(outcome.examples):
        metadata["examples"] = MetadataValue.md(outcome.examples.astype(str).to_markdown(index=False))
    return AssetCheckResult(passed=outcome.passed, severity=AssetCheckSeverity.ERROR, metadata=metadata,
                            description=outcome.description)


@asset_check(asset=raw_pos, name="pos_items_priced_and_dated", pool=WRITER_POOL, blocking=True,
             additional_deps=["raw_prices", "raw_calendar"],
             description="Cross-feed: every POS store x item has a price row (raw_prices) and every POS date a "
                         "calendar row (raw_calendar), for each of the two feeds that is provided.")
def pos_items_priced_and_dated(context: AssetCheckExecutionContext, duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        lo, hi = _pos_range(context, con)
        outcome = crossfeed.pos_items_priced_and_dated(con, (pd.Timestamp(lo).date(), pd.Timestamp(hi).date()))
    return _cross_result(outcome)


@asset_check(asset=raw_shipments, name="shipment_vendors_known", pool=WRITER_POOL, blocking=True, additional_deps=["raw_suppliers"],
             description="Cross-feed: every shipment vendor is in the supplier catalogue (raw_suppliers) or, "
                         "without a catalogue, has a real name (not blank / N/A / Unknown).")
def shipment_vendors_known(duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        outcome = crossfeed.shipment_vendors_known(con)
    return _cross_result(outcome)


CROSS_FEED_CHECKS = [pos_items_priced_and_dated, shipment_vendors_known]
