"""Great Expectations Core 1.x suites, one per feed, and a runner that summarises failures.

The suites are declared as data next to the feeds they guard; ``validate_feed`` runs one
suite on a pandas frame with an ephemeral GX context and returns a plain summary that the
Dagster asset checks turn into pass/fail and metadata.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from warehouse.layout import FUTURE_END

__all__ = ["SUITES", "FeedValidation", "validate_feed", "suite_expectations", "suite_columns", "docs_index"]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

DOCS_HISTORY = 20  # validation results kept per suite in the data docs


def _e(kind: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    return kind, kwargs


def _not_null(*cols: str) -> list[tuple[str, dict[str, Any]]]:
    return [_e("ExpectColumnValuesToNotBeNull", column=c) for c in cols]


def _exist(*cols: str) -> list[tuple[str, dict[str, Any]]]:
    return [_e("ExpectColumnToExist", column=c) for c in cols]


def _types(column: str, dtype: str) -> tuple[str, dict[str, Any]]:
    # "of type" checks the column's dtype once; "in type list" tests every value (4.5 s on 853k M5 rows)
    return _e("ExpectColumnValuesToBeOfType", column=column, type_=dtype)


# pandas dtypes of the canonical types as the suites see them: DuckDB hands over INTEGER as int32 and
# DATE as datetime64[us]; :func:`validate_feed` widens them (:func:`_widened`) because GX compares
# ranges vectorised only on int64, float64 and datetime64[ns] columns (else one Python call per value:
# 7.7 s of 10 s on 853k M5 rows)
_STR, _INT, _FLOAT, _DATE = "object", "int64", "float64", "datetime64[ns]"
_TODAY = "__today__"  # replaced by today's date when a suite is built: "dates within the expected window"


def _window(column: str, start: str, end: Any = _TODAY) -> tuple[str, dict[str, Any]]:
    return _e("ExpectColumnValuesToBeBetween", column=column, min_value=pd.Timestamp(start), max_value=end)


# planned and forecast days (calendar, events, promotions, weather forecasts) run past today
_FUTURE = pd.Timestamp(FUTURE_END)


SUITES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "pos": [
        *_exist("store_id", "item_id", "date", "units"),
        _types("store_id", _STR), _types("item_id", _STR), _types("date", _DATE), _types("units", _INT),
        *_not_null("store_id", "item_id", "date", "units"),
        _e("ExpectTableRowCountToBeBetween", min_value=1),
        _e("ExpectColumnValuesToBeBetween", column="units", min_value=0, max_value=1_000_000),
        _e("ExpectCompoundColumnsToBeUnique", column_list=["store_id", "item_id", "date"]),
        _window("date", "2010-01-01"),
    ],
    # optional: no row-count floor
    "pos_history": [
        *_exist("store_id", "item_id", "date", "units"),
        _types("store_id", _STR), _types("item_id", _STR), _types("date", _DATE), _types("units", _INT),
        *_not_null("store_id", "item_id", "date", "units"),
        _e("ExpectColumnValuesToBeBetween", column="units", min_value=0, max_value=1_000_000),
        _e("ExpectCompoundColumnsToBeUnique", column_list=["store_id", "item_id", "date"]),
        _window("date", "2010-01-01"),
    ],
    "prices": [
        *_exist("store_id", "item_id", "wm_yr_wk", "week_start", "valid_from", "valid_to", "sell_price"),
        _types("sell_price", _FLOAT),
        *_not_null("store_id", "item_id", "sell_price"),
        _e("ExpectColumnValuesToBeBetween", column="sell_price", min_value=0, strict_min=True, max_value=10_000),
        _e("ExpectCompoundColumnsToBeUnique", column_list=["store_id", "item_id", "wm_yr_wk", "week_start", "valid_from"],
           ignore_row_if="never"),
        _e("ExpectColumnPairValuesAToBeGreaterThanB", column_A="valid_to", column_B="valid_from", or_equal=True,
           ignore_row_if="either_value_is_missing"),
    ],
    "calendar": [
        *_exist("date", "wm_yr_wk", "wday", "month", "year"),
        _types("date", _DATE),
        *_not_null("date", "wm_yr_wk", "wday"),
        _e("ExpectColumnValuesToBeUnique", column="date"),
        _e("ExpectColumnValuesToBeBetween", column="wday", min_value=1, max_value=7),
        _e("ExpectColumnValuesToBeBetween", column="month", min_value=1, max_value=12),
        _window("date", "2010-01-01", _FUTURE),
        *[_e("ExpectColumnValuesToBeInSet", column=c, value_set=[0, 1]) for c in ("snap_CA", "snap_TX", "snap_WI")],
    ],
    "events": [
        *_exist("date", "event_name", "event_type", "store_id"),
        _types("date", _DATE),
        *_not_null("date", "event_name"),
        _e("ExpectCompoundColumnsToBeUnique", column_list=["date", "store_id", "event_name"], ignore_row_if="never"),
        _window("date", "2010-01-01", _FUTURE),
    ],
    "promotions": [
        *_exist("store_id", "item_id", "date", "on_promotion", "discount_pct"),
        _types("date", _DATE),
        *_not_null("store_id", "item_id", "date", "on_promotion"),
        _e("ExpectColumnValuesToBeInSet", column="on_promotion", value_set=[0, 1]),
        _e("ExpectColumnValuesToBeBetween", column="discount_pct", min_value=0, max_value=100),
        _e("ExpectCompoundColumnsToBeUnique", column_list=["store_id", "item_id", "date"]),
        _window("date", "2010-01-01", _FUTURE),
    ],
    "weather": [
        *_exist("station", "store_id", "date", "tmax_f", "tmin_f", "prcp_in", "snow_in"),
        _types("date", _DATE), _types("tmax_f", _FLOAT),
        *_not_null("date"),
        _e("ExpectCompoundColumnsToBeUnique", column_list=["station", "store_id", "date"], ignore_row_if="never"),
        # plausible surface observations, degrees Fahrenheit and inches
        _e("ExpectColumnValuesToBeBetween", column="tmax_f", min_value=-60, max_value=135),
        _e("ExpectColumnValuesToBeBetween", column="tmin_f", min_value=-80, max_value=120),
        _e("ExpectColumnValuesToBeBetween", column="tavg_f", min_value=-70, max_value=125),
        _e("ExpectColumnValuesToBeBetween", column="prcp_in", min_value=0, max_value=30),
        _e("ExpectColumnValuesToBeBetween", column="snow_in", min_value=0, max_value=60),
        _e("ExpectColumnPairValuesAToBeGreaterThanB", column_A="tmax_f", column_B="tmin_f", or_equal=True,
           ignore_row_if="either_value_is_missing"),
        # rows after the last POS date are a weather forecast
        _window("date", "2010-01-01", _FUTURE),
    ],
    "weather_stations": [
        *_exist("store_id", "station"),
        *_not_null("store_id", "station"),
        _e("ExpectColumnValuesToBeUnique", column="store_id"),
    ],
    "shipments": [
        *_exist("shipment_id", "vendor", "shipment_mode", "scheduled_date", "delivered_date"),
        _types("scheduled_date", _DATE), _types("delivered_date", _DATE), _types("weight_kg", _FLOAT),
        *_not_null("shipment_id", "vendor", "scheduled_date", "delivered_date"),
        _e("ExpectColumnValuesToBeUnique", column="shipment_id"),
        _e("ExpectColumnValuesToBeInSet", column="shipment_mode", value_set=["Air", "Air Charter", "Truck", "Ocean", "N/A"]),
        _e("ExpectColumnValuesToBeBetween", column="weight_kg", min_value=0, max_value=1_000_000),
        _e("ExpectColumnValuesToBeBetween", column="freight_usd", min_value=0, max_value=10_000_000),
        _e("ExpectColumnValuesToBeBetween", column="line_quantity", min_value=0),
        _window("scheduled_date", "2000-01-01"),
        _window("delivered_date", "2000-01-01"),
    ],
    "suppliers": [
        *_exist("vendor"),
        _e("ExpectColumnValuesToBeUnique", column="vendor"),
    ],
    "inventory": [
        *_exist("store_id", "item_id", "as_of", "on_hand"),
        _e("ExpectCompoundColumnsToBeUnique", column_list=["store_id", "item_id", "as_of"]),
        _e("ExpectColumnValuesToBeBetween", column="on_hand", min_value=0),
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
    """Outcome of one suite: ``success``, one entry per expectation and per failed expectation.

    Attributes:
        feed: The suite's feed.
        success: Every expectation passed.
        evaluated: Expectations run.
        rows: Rows validated.
        failures: The failed entries of ``results``.
        docs_url: ``file://`` URI of the data docs page, when data docs were built.
        results: One entry per expectation: ``expectation``, ``column``, ``success``,
            ``unexpected_count``, ``unexpected_percent``, ``observed_value``, ``examples``, ``exception``.
        docs_page: The data docs page as a path, when data docs were built.
    """

    feed: str
    success: bool
    evaluated: int
    rows: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    docs_url: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    docs_page: Path | None = None

    def expectation_table(self, max_examples: int = 3) -> pd.DataFrame:
        """Every expectation's result, failures first: what the check shows in the UI.

        Returns:
            ``expectation, column, success, unexpected_count, unexpected_percent`` (3 decimals; empty
            for expectations that count no rows),
            ``observed`` (GX's observed value, for expectations on a whole column or table) and
            ``sample_values`` (up to ``max_examples`` unexpected values, or the error).
        """
        cols = ["expectation", "column", "success", "unexpected_count", "unexpected_percent", "observed",
                "sample_values"]
        rows = [{
            "expectation": r["expectation"],
            "column": ", ".join(r["column"]) if isinstance(r["column"], (list, tuple)) else str(r["column"]),
            "success": bool(r["success"]),
            "unexpected_count": "" if r["unexpected_count"] is None else int(r["unexpected_count"]),
            "unexpected_percent": "" if r["unexpected_percent"] is None else round(float(r["unexpected_percent"]), 3),
            "observed": "" if r["observed_value"] is None else str(r["observed_value"])[:40],
            "sample_values": ", ".join(str(x) for x in r["examples"][:max_examples]) or (r["exception"] or ""),
        } for r in self.results]
        table = pd.DataFrame(rows, columns=cols)
        return table.sort_values("success", kind="stable").reset_index(drop=True)

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
    today = pd.Timestamp(dt.datetime.now(dt.UTC).date())
    return [
        getattr(gx.expectations, kind)(**{k: (today if v == _TODAY else v) for k, v in kwargs.items()})
        for kind, kwargs in SUITES[feed]
    ]


def suite_columns(feed: str) -> list[str]:
    """The columns ``feed``'s suite looks at, in suite order: every other column of a table is
    left out of its validation (GX copies and hashes every column of the frame it is given)."""
    if feed not in SUITES:
        raise KeyError(f"no suite for feed {feed!r}; known: {', '.join(SUITES)}")
    named: list[str] = []
    for _, kwargs in SUITES[feed]:
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                named.append(kwargs[key])
        named += list(kwargs.get("column_list", ()))
    return list(dict.fromkeys(named))


@lru_cache(maxsize=4)
def _context(project_dir: str = "") -> Any:
    """An ephemeral GX context, or a file-backed one under ``project_dir`` (which keeps data docs)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if project_dir:
        Path(project_dir).mkdir(parents=True, exist_ok=True)
        ctx = gx.get_context(mode="file", project_root_dir=project_dir)
        _compile_docs_templates_once(ctx)
    else:
        ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _compile_docs_templates_once(ctx: Any) -> None:
    """Render the context's data docs with views that compile their templates once per process.

    GX saves the setting into the project's ``great_expectations.yml`` with the rest of its
    config: building that project's docs outside supplycast needs :mod:`warehouse._gx_views`
    importable (the HTML pages need nothing).
    """
    from warehouse._gx_views import INDEX_VIEW_CONFIG, VIEW_CONFIG

    for site in (ctx.config.data_docs_sites or {}).values():
        site["site_section_builders"] = {
            section: {**(site.get("site_section_builders") or {}).get(section, {}), "view": dict(VIEW_CONFIG)}
            for section in ("expectations", "validations", "profiling")}
        site["site_index_builder"] = {"class_name": "DefaultSiteIndexBuilder",
                                      **(site.get("site_index_builder") or {}), "view": dict(INDEX_VIEW_CONFIG)}


def docs_index(project_dir: str | Path) -> Path:
    """The data docs home page of the GX project in ``project_dir``."""
    return Path(project_dir) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _prune_history(project_dir: str | Path, suite: str, keep: int) -> None:
    """Keep the newest ``keep`` stored results (and pages) of ``suite``: the docs index renders them all."""
    root = Path(project_dir) / "gx" / "uncommitted"
    for base in (root / "validations" / suite / "__none__",
                 root / "data_docs" / "local_site" / "validations" / suite / "__none__"):
        if not base.is_dir():
            continue
        runs = sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: p.name)  # names are UTC timestamps
        for old in runs[: max(len(runs) - keep, 0)]:
            shutil.rmtree(old, ignore_errors=True)


def _batch_definition(ctx: Any, feed: str) -> Any:
    source = ctx.data_sources.add_or_update_pandas(name=f"supplycast_{feed}")
    try:
        asset = source.get_asset(feed)
    except LookupError:
        asset = source.add_dataframe_asset(name=feed)
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _plain(value: Any) -> Any:
    """numpy scalars (and tuples of them) as plain Python, so messages read ``(40.0, 60.0)``."""
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    return value.item() if hasattr(value, "item") else value


def _widened(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with narrower integer columns as int64 and datetime columns in nanoseconds (same values).

    A datetime column outside the nanosecond range (before 1677 or after 2262) keeps its unit:
    its window and type expectations then fail on it, as they should.
    """
    wide = {}
    for col in df.columns:
        dtype = df[col].dtype
        if not isinstance(dtype, np.dtype):
            continue
        if dtype.kind in "iu" and dtype != np.int64 and dtype.itemsize <= 4:
            wide[col] = df[col].astype(np.int64)
        elif dtype.kind == "M" and dtype != np.dtype("datetime64[ns]"):
            try:
                wide[col] = df[col].astype("datetime64[ns]")
            except (OverflowError, pd.errors.OutOfBoundsDatetime):
                pass
    return df.assign(**wide) if wide else df


def validate_feed(feed: str, df: pd.DataFrame, docs_dir: str | Path | None = None) -> FeedValidation:
    """Run ``feed``'s suite on ``df``.

    Args:
        feed: a key of ``SUITES``.
        df: the loaded rows.
        docs_dir: a folder for a file-backed GX project; when given, the validation result is
            stored and rendered into its data docs (HTML) and ``docs_url`` points to the page.

    Returns:
        The outcome with, for every failed expectation, its column, unexpected count and examples.
    """
    import great_expectations as gx

    rows = len(df)
    looked_at = set(suite_columns(feed))
    df = _widened(df[[c for c in df.columns if c in looked_at]])
    ctx = _context(str(docs_dir or ""))
    name = f"{feed}_suite"
    suite = ctx.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=suite_expectations(feed)))
    batch_def = _batch_definition(ctx, feed)
    docs_url = docs_page = None
    if docs_dir:
        validation = ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{feed}_validation", data=batch_def, suite=suite))
        checkpoint = ctx.checkpoints.add_or_update(gx.Checkpoint(
            name=f"{feed}_checkpoint", validation_definitions=[validation],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")]))
        _prune_history(docs_dir, name, keep=DOCS_HISTORY - 1)
        run = checkpoint.run(batch_parameters={"dataframe": df})
        identifier, result = next(iter(run.run_results.items()))
        page = docs_index(docs_dir).parent / "validations" / Path(*identifier.to_tuple()).with_suffix(".html")
        docs_page = page if page.is_file() else docs_index(docs_dir)
        docs_url = docs_page.as_uri()
    else:
        result = batch_def.get_batch(batch_parameters={"dataframe": df}).validate(suite)
    results = []
    for r in result.results:
        cfg = r.expectation_config
        kwargs = dict(cfg.kwargs)
        res = r.result or {}
        results.append(
            {
                "expectation": cfg.type,
                "success": bool(r.success),
                "column": kwargs.get("column") or kwargs.get("column_list") or kwargs.get("column_A") or "(table)",
                "unexpected_count": res.get("unexpected_count"),
                "unexpected_percent": res.get("unexpected_percent"),
                "observed_value": _plain(res.get("observed_value")),
                "examples": [_plain(x) for x in list(res.get("partial_unexpected_list") or [])[:5]],
                "exception": (r.exception_info or {}).get("exception_message") if r.exception_info else None,
            }
        )
    # a failure without row counts (a type, a row count) reports what GX observed instead
    failures = [{"expectation": r["expectation"], "column": r["column"],
                 "unexpected_count": r["observed_value"] if r["unexpected_count"] is None else r["unexpected_count"],
                 "unexpected_percent": r["unexpected_percent"], "examples": r["examples"], "exception": r["exception"]}
                for r in results if not r["success"]]
    return FeedValidation(feed=feed, success=bool(result.success), evaluated=len(result.results), rows=rows,
                          failures=failures, docs_url=docs_url, results=results, docs_page=docs_page)
