"""Blocking quality gates: a Great Expectations suite per feed and cross-feed checks, as Dagster asset checks.

A failed gate fails the run and skips everything downstream of the feed. Each GX gate builds the
GX data docs (HTML, in the state folder) and links its validation page in the check metadata.

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

from assets._metadata import WRITER_POOL
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
from pipelines.resources import FeedsResource
from warehouse import crossfeed
from warehouse.db import table_exists
from warehouse.quality import validate_feed

__all__ = ["GX_CHECKS", "CROSS_FEED_CHECKS"]

# the rows each gate validates: the whole table, except for the two big feeds (see module docstring)
_SCOPE_SQL = {
    "raw_pos": "SELECT * FROM raw_pos WHERE date BETWEEN ? AND ?",
    "raw_prices": "SELECT * FROM raw_prices WHERE wm_yr_wk IN (SELECT wm_yr_wk FROM raw_calendar WHERE date BETWEEN ? AND ?)",
}


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
    found = _run_range(context)
    if found:
        return found
    lo, hi = con.execute("SELECT min(date)::VARCHAR, max(date)::VARCHAR FROM raw_pos").fetchall()[0]
    return lo or "1900-01-01", hi or "2999-01-01"


def _gx_check(asset_def, feed: str, table: str) -> AssetChecksDefinition:
    @asset_check(
        pool=WRITER_POOL,
        asset=asset_def,
        name=f"gx_{feed}_suite",
        blocking=True,
        additional_deps=["raw_calendar"] if table == "raw_prices" else None,
        description=f"Great Expectations suite '{feed}_suite' on {table}: schema, types, non-null and unique keys, "
                    "ranges, dates in the expected window. Links the GX data docs page.",
    )
    def _check(context: AssetCheckExecutionContext, duckdb: DuckDBResource, feeds: FeedsResource) -> AssetCheckResult:
        with duckdb.get_connection() as con:
            in_range = _run_range(context) if table == "raw_prices" else None
            if table == "raw_pos" or (in_range and table_exists(con, "raw_calendar")):
                lo, hi = in_range or _pos_range(context, con)
                df: pd.DataFrame = con.execute(_SCOPE_SQL[table], [lo, hi]).df()
                scope = f"{lo}..{hi}" + (" (price weeks of the POS days loaded)" if table == "raw_prices" else "")
            else:
                df = con.execute(f"SELECT * FROM {table}").df()
                scope = "all rows"
            quarantined = (con.execute(f"SELECT count(*) FROM quarantine_{feed}").fetchall()[0][0]
                           if table_exists(con, f"quarantine_{feed}") else 0)
        outcome = validate_feed(feed, df, docs_dir=feeds.docs_dir or None)
        failures = pd.DataFrame(outcome.failures)
        metadata = {
            "rows": MetadataValue.int(outcome.rows),
            "scope": MetadataValue.text(scope),
            "expectations": MetadataValue.int(outcome.evaluated),
            "failed": MetadataValue.int(len(outcome.failures)),
            "quarantined_rows": MetadataValue.int(int(quarantined)),
            "summary": MetadataValue.text(outcome.summary()),
        }
        if outcome.docs_url:
            metadata["gx_data_docs"] = MetadataValue.url(outcome.docs_url)
        if not failures.empty:
            metadata["failures"] = MetadataValue.md(failures.astype(str).to_markdown(index=False))
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
