"""Great Expectations Core 1.x suites, one per feed, and a runner that summarises failures.

The suites are declared as data next to the feeds they guard; ``validate_feed`` runs one
suite on a pandas frame with an ephemeral GX context and returns a plain summary that the
Dagster asset checks turn into pass/fail and metadata.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

__all__ = ["SUITES", "FeedValidation", "validate_feed", "suite_expectations"]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def _e(kind: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    return kind, kwargs


def _not_null(*cols: str) -> list[tuple[str, dict[str, Any]]]:
    return [_e("ExpectColumnValuesToNotBeNull", column=c) for c in cols]


def _exist(*cols: str) -> list[tuple[str, dict[str, Any]]]:
    return [_e("ExpectColumnToExist", column=c) for c in cols]


SUITES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "pos": [
        *_exist("store_id", "item_id", "date", "units"),
        *_not_null("store_id", "item_id", "date", "units"),
        _e("ExpectTableRowCountToBeBetween", min_value=1),
        _e("ExpectColumnValuesToBeBetween", column="units", min_value=0, max_value=100_000),
        _e("ExpectCompoundColumnsToBeUnique", column_list=["store_id", "item_id", "date"]),
        _e("ExpectColumnValuesToBeBetween", column="date", min_value=pd.Timestamp("2011-01-29"), max_value=pd.Timestamp("2016-06-19")),
    ],
    "prices": [
        *_exist("store_id", "item_id", "wm_yr_wk", "sell_price"),
        *_not_null("store_id", "item_id", "wm_yr_wk", "sell_price"),
        _e("ExpectColumnValuesToBeBetween", column="sell_price", min_value=0, strict_min=True, max_value=10_000),
        _e("ExpectCompoundColumnsToBeUnique", column_list=["store_id", "item_id", "wm_yr_wk"]),
    ],
    "calendar": [
        *_exist("date", "wm_yr_wk", "wday", "d"),
        *_not_null("date", "wm_yr_wk", "wday", "d"),
        _e("ExpectColumnValuesToBeUnique", column="date"),
        _e("ExpectColumnValuesToBeBetween", column="wday", min_value=1, max_value=7),
        *[_e("ExpectColumnValuesToBeInSet", column=c, value_set=[0, 1]) for c in ("snap_CA", "snap_TX", "snap_WI")],
    ],
    "weather": [
        *_exist("station_nbr", "date", "tmax", "tmin", "preciptotal"),
        *_not_null("station_nbr", "date"),
        _e("ExpectCompoundColumnsToBeUnique", column_list=["station_nbr", "date"]),
        # plausible US surface observations, degrees Fahrenheit and inches
        _e("ExpectColumnValuesToBeBetween", column="tmax", min_value=-60, max_value=135),
        _e("ExpectColumnValuesToBeBetween", column="tmin", min_value=-80, max_value=120),
        _e("ExpectColumnValuesToBeBetween", column="preciptotal", min_value=0, max_value=30),
        _e("ExpectColumnValuesToBeBetween", column="snowfall", min_value=0, max_value=60),
        _e("ExpectColumnPairValuesAToBeGreaterThanB", column_A="tmax", column_B="tmin", or_equal=True,
           ignore_row_if="either_value_is_missing"),
    ],
    "shipments": [
        *_exist("shipment_id", "vendor", "shipment_mode", "scheduled_date", "delivered_date"),
        *_not_null("shipment_id", "vendor", "scheduled_date", "delivered_date"),
        _e("ExpectColumnValuesToBeUnique", column="shipment_id"),
        _e("ExpectColumnValuesToBeInSet", column="shipment_mode", value_set=["Air", "Air Charter", "Truck", "Ocean", "N/A"]),
        _e("ExpectColumnValuesToBeBetween", column="weight_kg", min_value=0, max_value=1_000_000),
        _e("ExpectColumnValuesToBeBetween", column="freight_usd", min_value=0, max_value=10_000_000),
        _e("ExpectColumnValuesToBeBetween", column="line_quantity", min_value=0),
    ],
    "emission_factors": [
        *_exist("mode", "g_co2e_per_tonne_km"),
        *_not_null("mode", "g_co2e_per_tonne_km"),
        _e("ExpectColumnValuesToBeUnique", column="mode"),
        _e("ExpectColumnValuesToBeBetween", column="g_co2e_per_tonne_km", min_value=0, strict_min=True, max_value=5_000),
        _e("ExpectColumnDistinctValuesToContainSet", column="mode", value_set=["road", "sea", "air"]),
    ],
}


@dataclass
class FeedValidation:
    """Outcome of one suite: ``success`` and one entry per failed expectation."""

    feed: str
    success: bool
    evaluated: int
    rows: int
    failures: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        if self.success:
            return f"{self.feed}: all {self.evaluated} expectations passed on {self.rows:,} rows"
        parts = [
            f"{f['expectation']}({f['column']}): {f['unexpected_count']} bad rows, e.g. {f['examples']}"
            for f in self.failures
        ]
        return f"{self.feed}: {len(self.failures)} of {self.evaluated} expectations failed on {self.rows:,} rows: " + "; ".join(parts)


def suite_expectations(feed: str) -> list[Any]:
    """GX expectation objects of ``feed``'s suite."""
    import great_expectations as gx

    if feed not in SUITES:
        raise KeyError(f"no suite for feed {feed!r}; known: {', '.join(SUITES)}")
    return [getattr(gx.expectations, kind)(**kwargs) for kind, kwargs in SUITES[feed]]


@lru_cache(maxsize=1)
def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def validate_feed(feed: str, df: pd.DataFrame) -> FeedValidation:
    """Run ``feed``'s suite on ``df``.

    Args:
        feed: a key of ``SUITES``.
        df: the loaded rows.

    Returns:
        The outcome with, for every failed expectation, its column, unexpected count and examples.
    """
    import great_expectations as gx

    ctx = _context()
    name = f"{feed}_suite"
    for existing in list(ctx.suites.all()):
        if existing.name == name:
            ctx.suites.delete(name)
    suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=suite_expectations(feed)))
    source_name = f"supplycast_{feed}"
    try:
        source = ctx.data_sources.get(source_name)
    except (KeyError, ValueError):
        source = ctx.data_sources.add_pandas(name=source_name)
    try:
        asset = source.get_asset(feed)
    except LookupError:
        asset = source.add_dataframe_asset(name=feed)
    try:
        batch_def = asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        batch_def = asset.add_batch_definition_whole_dataframe("whole")
    result = batch_def.get_batch(batch_parameters={"dataframe": df}).validate(suite)
    failures = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        kwargs = dict(cfg.kwargs)
        res = r.result or {}
        failures.append(
            {
                "expectation": cfg.type,
                "column": kwargs.get("column") or kwargs.get("column_list") or kwargs.get("column_A") or "(table)",
                "unexpected_count": res.get("unexpected_count", res.get("observed_value")),
                "unexpected_percent": res.get("unexpected_percent"),
                "examples": list(res.get("partial_unexpected_list") or [])[:5],
                "exception": (r.exception_info or {}).get("exception_message") if r.exception_info else None,
            }
        )
    return FeedValidation(feed=feed, success=bool(result.success), evaluated=len(result.results), rows=len(df), failures=failures)
