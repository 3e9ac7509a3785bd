"""``supplycast``: run the pipeline in process, with the same Definitions the Dagster UI loads.

Examples:
    supplycast run                                  # embedded real sample (M5 store CA_1)
    supplycast run --data ../shared/data/m5         # all 30,490 M5 series
    supplycast run --as-of 2016-05-08 --horizon 14 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]

SUMMARY_TABLES = (
    "raw_pos", "raw_prices", "raw_calendar", "raw_weather", "raw_shipments", "raw_emission_factors",
    "demand_history", "weather_daily", "shipment_stats", "forecast", "forecast_backtest", "supplier_scores",
    "supplier_catalogue", "inventory_snapshot", "replenishment_proposals", "purchase_order_proposals",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supplycast", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialise every asset and print a summary",
                         description=_RUN_DESCRIPTION, epilog=_RUN_EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--data", type=Path, default=None, metavar="DIR",
                     help="feed folder: an M5 folder (calendar.parquet, sell_prices.parquet, sales_*.parquet) or a "
                          "folder holding m5/; logistics feeds are looked up beside it, else taken from the sample "
                          "(default: $SUPPLYCAST_DATA or the embedded sample). "
                          "Example: --data ../shared/data/m5")
    run.add_argument("--warehouse", type=Path, default=None, metavar="FILE",
                     help="DuckDB file to write; created if missing, tables replaced on each run "
                          "(default: $SUPPLYCAST_WAREHOUSE or .supplycast/warehouse.duckdb). "
                          "Example: --warehouse /tmp/wh.duckdb")
    run.add_argument("--as-of", default="", type=_iso_date, metavar="YYYY-MM-DD",
                     help="forecast origin: history after it is ignored, the forecast starts the day after "
                          "(default: the last POS date). Example: --as-of 2016-05-08")
    run.add_argument("--horizon", type=_positive_int, default=28, metavar="N",
                     help="days to forecast after the origin (default: 28). Example: --horizon 14")
    run.add_argument("--json", action="store_true",
                     help="print one JSON document on stdout (rows per table, backtest, PO totals, export files, "
                          "seconds); progress still goes to stderr. Example: supplycast run --json | jq .po_status")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar or per-step lines on stderr (errors are still printed). "
                          "Example: supplycast run --quiet --json")
    rp = sub.add_parser("replay", help="replay the stored policy against real demand and write replay_kpis",
                        description="Simulate day by day after the as-of date of the stored proposals against real "
                                    "demand, comparing supplycast, snaive_base_stock and oracle; writes replay_kpis.\n\n"
                                    "Example: supplycast replay --actuals sales_after_as_of.parquet",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    rp.add_argument("--actuals", type=Path, required=True,
                    help="POS file (parquet or CSV): canonical (store_id, item_id, date, units) or M5 long "
                         "(item_id, store_id, date, sales)")
    rp.add_argument("--warehouse", type=Path, default=None,
                    help="DuckDB file (default: $SUPPLYCAST_WAREHOUSE or .supplycast/warehouse.duckdb)")
    rp.add_argument("--seed", type=int, default=2016, help="seed of the lead-time draws (default: 2016)")
    rp.add_argument("--json", action="store_true", help="print the KPIs as JSON")
    from pipelines.review_cli import add_review_parser

    add_review_parser(sub)
    return parser


_RUN_DESCRIPTION = """\
Materialise every asset in process (ingest, quality gates, forecast, supplier scores,
replenishment, purchase orders, exports) with the same Definitions the Dagster UI loads.
Progress (one line per step, with seconds) goes to stderr; the summary to stdout.
Exit 0 on success; 1 if an asset or quality gate fails (the message names it and the bad
file or column); 2 on a bad --data folder."""

_RUN_EXAMPLES = """\
examples:
  supplycast run                                       # embedded real sample (M5 store CA_1)
  supplycast run --data ../shared/data/m5              # all 30,490 M5 series
  supplycast run --as-of 2016-05-08 --horizon 14       # backdated origin, two weeks ahead
  supplycast run --warehouse /tmp/wh.duckdb --quiet --json > summary.json
  DAGSTER_HOME=$PWD/.supplycast/dagster_home supplycast run   # runs show in the Dagster UI"""


def _iso_date(value: str) -> str:
    """argparse type: an ISO date, or empty for the default."""
    if not value:
        return value
    try:
        date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None
    return value


def _positive_int(value: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _run_config(args: argparse.Namespace) -> dict[str, Any]:
    return {"ops": {"forecast": {"config": {"horizon": args.horizon, "as_of": args.as_of}}}}


def _summary(warehouse: Path) -> dict[str, Any]:
    from warehouse.db import connect, table_exists

    con = connect(warehouse, read_only=True)
    try:
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in SUMMARY_TABLES if table_exists(con, t)}
        backtest = con.execute("SELECT * FROM forecast_backtest").df() if table_exists(con, "forecast_backtest") else None
        model = con.execute("SELECT any_value(model) FROM forecast").fetchall()[0][0] if "forecast" in rows else None
        status = (
            dict(con.execute("SELECT status, count(*) FROM purchase_order_proposals GROUP BY 1 ORDER BY 1").fetchall())
            if "purchase_order_proposals" in rows else {}
        )
        value = con.execute("SELECT round(sum(order_value), 2), count(DISTINCT po_id) FROM purchase_order_proposals").fetchall()[0]
    finally:
        con.close()
    out: dict[str, Any] = {"warehouse": str(warehouse), "rows": rows, "forecast_model": model, "po_status": status,
                           "po_value_usd": value[0], "purchase_orders": value[1]}
    if backtest is not None:
        out["backtest"] = backtest.to_dict(orient="records")
    return out


def _metadata(result: Any, asset: str) -> dict[str, Any]:
    """An asset's materialisation metadata in this run, as plain values (empty if not materialised)."""
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    return {}


def _exports(result: Any) -> dict[str, str]:
    """Export files the run wrote, by format, from the export asset's metadata."""
    from assets.exports import EXPORT_FORMATS

    meta = _metadata(result, "purchase_order_exports")
    return {fmt: str(meta[fmt]) for fmt in EXPORT_FORMATS if fmt in meta}


def _forecast_cost(result: Any) -> dict[str, Any]:
    """The forecast step's seconds against the bare library calls inside it, measured in this run."""
    meta = _metadata(result, "forecast")
    if "stage_seconds" not in meta:
        return {}
    return {"stage_seconds": meta["stage_seconds"], "library_seconds": meta["library_seconds"],
            "ratio": meta["stage_to_library_ratio"]}


def _print_summary(summary: dict[str, Any], seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"supplycast run finished in {seconds:.1f} s; warehouse {summary['warehouse']}")
    table = Table(title="rows per table")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in summary["rows"].items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    for rec in summary.get("backtest", []):
        console.print(f"  backtest {rec.get('model', rec.get('index'))}: MASE {rec.get('mase', float('nan')):.3f}  "
                      f"MAE {rec.get('mae', float('nan')):.3f}")
    console.print(f"forecast model: {summary['forecast_model']}")
    cost = summary.get("forecast_vs_library")
    if cost:
        lib = cost["library_seconds"]
        console.print(f"forecast step {cost['stage_seconds']:.1f} s = {cost['ratio']:.3f} x its library calls "
                      f"({lib['total']:.1f} s: statsforecast {lib['statsforecast']:.1f}, LightGBM {lib['lightgbm']:.1f})")
    console.print(f"purchase orders: {summary['purchase_orders']} worth {summary['po_value_usd']:,} USD, "
                  f"lines by status {summary['po_status']}")
    for fmt, path in summary.get("exports", {}).items():
        console.print(f"export {fmt}: {path}")


def _pos_partition_tags() -> dict[str, str]:
    """Tags making the run load every POS day in the data as one partition range (one step, one transaction)."""
    import datetime as dt

    import duckdb

    from assets.ingest import POS_PARTITIONS, partition_range_tags
    from pipelines import settings
    from warehouse.feeds import discover_feeds
    from warehouse.ingest import pos_date_span

    con = duckdb.connect()
    try:
        lo, hi = pos_date_span(con, discover_feeds(settings.data_dir()).pos)
    finally:
        con.close()
    first = dt.date.fromisoformat(POS_PARTITIONS.get_first_partition_key())
    last = dt.date.fromisoformat(POS_PARTITIONS.get_last_partition_key())
    return partition_range_tags(max(lo, first), min(hi, last))


def run(args: argparse.Namespace) -> int:
    from warehouse.feeds import FeedError, discover_feeds

    if args.data is not None:
        try:
            discover_feeds(args.data)
        except FeedError as exc:
            print(f"supplycast: {exc}", file=sys.stderr)
            return 2
        os.environ["SUPPLYCAST_DATA"] = str(args.data.resolve())
    if args.warehouse is not None:
        os.environ["SUPPLYCAST_WAREHOUSE"] = str(args.warehouse.resolve())
    started = time.perf_counter()
    from dagster import DagsterInstance

    from pipelines import settings
    from pipelines.definitions import defs
    from pipelines.progress import StepProgress, progress_logger_def
    from pipelines.resources import build_resources

    job = defs.resolve_job_def("daily_refresh")
    try:
        partition_tags = _pos_partition_tags()
    except FeedError as exc:
        print(f"supplycast: {exc}", file=sys.stderr)
        return 2
    n_steps = len(job.nodes_in_topological_order) if hasattr(job, "nodes_in_topological_order") else len(job.graph.nodes)
    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    handler = StepProgress(n_steps, enabled=not args.quiet)
    with handler:
        # our logger replaces Dagster's console logger: the terminal shows a progress bar instead
        result = job.with_logger_defs({"progress": progress_logger_def(handler)}).execute_in_process(
            run_config={**_run_config(args), "loggers": {"progress": {}}},
            instance=instance, raise_on_error=False, tags=partition_tags,
            # resources built now, from the environment set above: the Definitions may have been
            # imported earlier (tests, a second call) with another warehouse
            resources=build_resources(),
        )
    seconds = time.perf_counter() - started
    if not result.success:
        print("supplycast run FAILED", file=sys.stderr)
        for line in handler.check_failures + handler.failures:
            print(f"  {line}", file=sys.stderr)
        if args.json:
            print(json.dumps({"success": False, "errors": handler.check_failures + handler.failures, "seconds": seconds}))
        return 1
    summary = _summary(settings.warehouse_path())
    summary.update(success=True, seconds=round(seconds, 2), step_seconds={k: round(v, 2) for k, v in handler.step_seconds.items()})
    summary["exports"] = _exports(result)
    summary["forecast_vs_library"] = _forecast_cost(result)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        _print_summary(summary, seconds)
    return 0


def replay(args: argparse.Namespace) -> int:
    from pipelines import settings
    from procurement.replay import ActualsError, ReplayParams
    from procurement.replay_io import kpi_tables, run_replay

    warehouse = args.warehouse.resolve() if args.warehouse is not None else settings.warehouse_path()
    try:
        kpis = run_replay(warehouse, args.actuals, params=ReplayParams(seed=args.seed))
    except (ActualsError, FileNotFoundError) as exc:
        print(f"supplycast replay: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(kpis.to_json(orient="records", date_format="iso"))
    else:
        all_days, after = kpi_tables(kpis)
        print(all_days.to_string(index=False, float_format="%.3f"))
        # the same KPIs over each series' days from the first day an as-of order can land
        print("after the first possible arrival:")
        print(after.to_string(index=False, float_format="%.3f"))
        print(f"replay_kpis written to {warehouse}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run(args)
    if args.command == "replay":
        return replay(args)
    if args.command == "review":
        from pipelines.review_cli import review

        return review(args)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
