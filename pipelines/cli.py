"""``supplycast``: run the pipeline in process, with the same Definitions the Dagster UI loads.

Examples:
    supplycast run                                  # embedded real sample (M5 store CA_1)
    supplycast run --data ../shared/data/m5         # all 30,490 M5 series
    supplycast run --as-of 2016-05-08 --horizon 14 --json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

__all__ = ["main", "build_parser", "dagster_home", "quiet_libraries"]

if TYPE_CHECKING:
    from warehouse.feeds import FeedPaths


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supplycast", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialise every asset and print a summary",
                         description=_RUN_DESCRIPTION, epilog=_RUN_EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--data", type=Path, default=None, metavar="DIR",
                     help="feed folder: the canonical layout (pos/, prices/, calendar/, ...), an M5 folder "
                          "(calendar.parquet, sell_prices.parquet, sales_*.parquet) or a folder holding m5/; "
                          "logistics feeds are looked up beside an M5 folder (see --sample-logistics) "
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
    run.add_argument("--approval-threshold", type=_usd, default=None, metavar="USD",
                     help="POs worth up to this are auto-approved by the policy, dearer ones wait for a buyer "
                          "(default: 75,000, the Launchpad's approval_threshold_usd). Example: "
                          "--approval-threshold 10000 (on the sample, 4 of its 8 POs then wait)")
    run.add_argument("--json", action="store_true",
                     help="print one JSON document on stdout (feeds and where they came from, quarantined rows, "
                          "warnings, rows per table, forecast models, backtest, PO totals, export files, seconds); "
                          "progress still goes to stderr. Example: supplycast run --json | jq .quarantine")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar or per-step lines on stderr (errors are still printed). "
                          "Example: supplycast run --quiet --json")
    run.add_argument("--sample-logistics", action="store_true",
                     help="when --data lacks a logistics feed (weather, weather stations, shipments, emission "
                          "factors), take it from the embedded sample (M5 store CA_1's region) and say so in the "
                          "summary; without this flag such a run stops before loading anything. "
                          "Example: supplycast run --data ../shared/data/m5 --sample-logistics")
    run.add_argument("--ephemeral", action="store_true",
                     help="record the run in a throw-away Dagster instance instead of the state folder's "
                          "dagster_home ($DAGSTER_HOME when set), so `make dev` does not show it. "
                          "Example: supplycast run --ephemeral --warehouse /tmp/wh.duckdb")
    rp = sub.add_parser("replay", help="replay the stored policy against real demand and write replay_kpis",
                        description="Simulate day by day after the as-of date of the stored proposals against real "
                                    "demand, comparing supplycast, snaive_base_stock and oracle; writes replay_kpis. "
                                    "With --frontier, sweeps the service level instead and writes replay_frontier "
                                    "and a plot.\n\n"
                                    "Example: supplycast replay --actuals sales_after_as_of.parquet\n"
                                    "         supplycast replay --actuals sales_after_as_of.parquet --frontier",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    rp.add_argument("--actuals", type=Path, required=True,
                    help="POS file (parquet or CSV): canonical (store_id, item_id, date, units) or M5 long "
                         "(item_id, store_id, date, sales)")
    rp.add_argument("--warehouse", type=Path, default=None,
                    help="DuckDB file (default: $SUPPLYCAST_WAREHOUSE or .supplycast/warehouse.duckdb)")
    rp.add_argument("--seed", type=int, default=2016, help="seed of the lead-time draws (default: 2016)")
    rp.add_argument("--json", action="store_true", help="print the KPIs as JSON")
    rp.add_argument("--frontier", action="store_true",
                    help="sweep the service level for supplycast and seasonal-naive base stock (same demand, "
                         "suppliers, MOQ, packs, lead-time draws and starting stock; re-planned from the stored "
                         "forecasts), write replay_frontier and a PNG plot, and print the on-hand ratio at matched "
                         "fill rate. Example: supplycast replay --actuals sales.parquet --frontier")
    rp.add_argument("--service-levels", "--levels", dest="levels", type=_levels, default=None, metavar="L1,L2,...",
                    help="service levels the frontier sweeps, each in [0.5, 1) "
                         "(default: 0.8,0.85,0.9,0.95,0.975,0.99,0.995). Example: --levels 0.9,0.95,0.99")
    rp.add_argument("--plot", type=Path, default=None, metavar="FILE",
                    help="PNG of the frontier (default: <warehouse stem>_replay_frontier.png beside the warehouse)")
    from pipelines.review_cli import add_review_parser

    add_review_parser(sub)
    return parser


_RUN_DESCRIPTION = """\
Materialise every asset in process (ingest, quality gates, forecast, supplier scores,
replenishment, purchase orders, exports) with the same Definitions the Dagster UI loads.
Progress (one line per step, with seconds) goes to stderr; the summary to stdout.
The run is recorded in the state folder's Dagster instance, so `make dev` shows every asset
it materialised. Exit 0 on success (quarantined rows under the bad-row limit are listed in the
summary, not an error); 1 if an asset or quality gate fails (the message names it and the bad
file or column); 2 on a bad --data folder or a logistics feed missing without --sample-logistics."""

_RUN_EXAMPLES = """\
examples:
  supplycast run                                       # embedded real sample (M5 store CA_1)
  supplycast run --data ../shared/data/m5              # all 30,490 M5 series
  supplycast run --as-of 2016-05-08 --horizon 14       # backdated origin, two weeks ahead
  supplycast run --approval-threshold 10000            # more POs wait for a buyer (supplycast review list)
  supplycast run --warehouse /tmp/wh.duckdb --quiet --json > summary.json
  supplycast run --data my_feeds --sample-logistics    # borrow the sample's weather and shipments"""


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


def _usd(value: str) -> float:
    """argparse type: an amount in USD > 0 (thousands separators allowed)."""
    try:
        amount = float(value.replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount in USD like 10000, got {value!r}") from None
    if not amount > 0 or amount == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive amount, got {value!r}")
    return amount


def _levels(value: str) -> tuple[float, ...]:
    """argparse type: comma-separated service levels, each in [0.5, 1)."""
    from procurement.replay import service_levels

    try:
        levels = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 0.9,0.95,0.99, got {value!r}") from None
    try:
        return tuple(service_levels(levels))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (from {value!r})") from None


# A run allocates millions of small objects in its pandas glue: with Python's default thresholds
# (700, 10, 10) the collector scanned the whole heap a dozen times per full-M5 run (2.3-2.7 s of
# the main thread, most of it gen-2 passes); with these, once in the young generations (0.7 s),
# at the same peak memory (2.92-2.93 GB against 2.92-3.00 GB, two runs each).
_RUN_GC_THRESHOLDS = (50_000, 20, 20)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cyclic collector at :data:`_RUN_GC_THRESHOLDS` for the block, as it was after."""
    before = gc.get_threshold()
    gc.set_threshold(*_RUN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _run_config(args: argparse.Namespace) -> dict[str, Any]:
    ops: dict[str, Any] = {"forecast": {"config": {"horizon": args.horizon, "as_of": args.as_of}}}
    if getattr(args, "approval_threshold", None) is not None:
        ops["purchase_order_proposals"] = {"config": {"approval_threshold_usd": args.approval_threshold}}
    return {"ops": ops}


# Library chatter a run's reader has no use for, turned off before the libraries are imported
# (MLflow reads these when it configures its loggers); a caller's own setting wins.
_LIBRARY_ENV = {
    "MLFLOW_LOGGING_LEVEL": "WARNING",  # "Creating initial MLflow database tables..."
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # upload bars on stderr
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_ENABLE_TELEMETRY": "false",
}
_QUIET_LOGGERS = ("alembic", "mlflow", "great_expectations")


def quiet_libraries() -> None:
    """Silence library INFO logs, progress bars and Dagster's API-status warnings at their source."""
    import logging
    import warnings

    for name, value in _LIBRARY_ENV.items():
        os.environ.setdefault(name, value)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # beta/preview/superseded-API notices address the pipeline's authors, not the person running it
    from dagster import BetaWarning, PreviewWarning, SupersessionWarning

    for category in (BetaWarning, PreviewWarning, SupersessionWarning):
        warnings.filterwarnings("ignore", category=category)


DAGSTER_YAML = """\
# written by supplycast (pipelines/cli.py) when missing: one step at a time holds the DuckDB file
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def dagster_home() -> Path:
    """``$DAGSTER_HOME``, else ``<state folder>/dagster_home`` (created, with a ``dagster.yaml``, if missing).

    ``supplycast run`` records its runs here and ``make dev`` serves the UI from here: one state
    folder for both, so the UI shows what the last run materialised.
    """
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]).expanduser().resolve()
    from pipelines import settings

    home = settings.state_dir() / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


def _pos_span(paths: FeedPaths) -> tuple[Any, Any]:
    """First and last POS day in the data (not its ``pos_history``)."""
    import duckdb

    from warehouse.ingest import pos_date_span

    con = duckdb.connect()
    try:
        return pos_date_span(con, paths.pos)
    finally:
        con.close()


def _pos_partition_tags(lo: Any, hi: Any) -> dict[str, str]:
    """Tags making the run load every POS day ``lo..hi`` as one partition range (one step, one transaction)."""
    import datetime as dt

    from assets.ingest import POS_PARTITIONS, partition_range_tags

    first = dt.date.fromisoformat(POS_PARTITIONS.get_first_partition_key())
    last = dt.date.fromisoformat(POS_PARTITIONS.get_last_partition_key())
    return partition_range_tags(max(lo, first), min(hi, last))


def _as_of_problem(as_of: str, lo: Any, hi: Any, *, has_history: bool) -> str:
    """Why ``--as-of`` cannot be forecast from this data ('' when it can, as far as the POS dates tell)."""
    if not as_of:
        return ""
    day = date.fromisoformat(as_of)
    if day > hi:
        return f"--as-of {as_of} is after the last POS day in the data ({hi}); pick a day up to {hi}"
    if day < lo and not has_history:
        return f"--as-of {as_of} is before the first POS day in the data ({lo}); pick a day from {lo} to {hi}"
    return ""


def _feeds(data_dir: str | Path, *, sample_logistics: bool) -> FeedPaths:
    """The feeds in ``data_dir``; a logistics feed borrowed from the sample needs ``sample_logistics``.

    Raises:
        FeedError: no feeds there, or a logistics feed missing without ``sample_logistics``.
    """
    from warehouse.feeds import FeedError, discover_feeds

    paths = discover_feeds(data_dir)
    borrowed = paths.sample_fallbacks()
    if borrowed and not sample_logistics:
        raise FeedError(
            f"{paths.data_dir}: no {', '.join(borrowed)} feed with your data. Add it (canonical layout: one folder "
            "per feed, see README 'Feed layout'; beside an M5 folder: walmart_stormy_weather/, "
            "usaid_scms_shipments/, freight_emission_factors.csv), or pass --sample-logistics to take it from "
            "the embedded sample (the summary then says so)")
    return paths


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


def _allocation_warnings(result: Any) -> list[str]:
    """Item MILPs the time limit cut short: their POs come from HiGHS's incumbent or greedy, and a
    re-run may propose others (and void the buyers' decisions on them)."""
    solved = str(_metadata(result, "purchase_order_proposals").get("milp_items_optimal", ""))
    done, _, total = solved.partition("/")
    if not (done.isdigit() and total.isdigit()) or done == total:
        return []
    return [f"purchase_order_proposals: {int(total) - int(done)} of {total} item MILPs were not solved within "
            "the time limit; their POs keep HiGHS's incumbent or a greedy split, and a re-run may propose "
            "different POs (voiding decisions on them): raise purchase_order_proposals.time_limit_seconds"]


def _forecast_cost(result: Any) -> dict[str, Any]:
    """The forecast step's seconds against the bare library calls inside it, measured in this run."""
    meta = _metadata(result, "forecast")
    if "stage_seconds" not in meta:
        return {}
    return {"stage_seconds": meta["stage_seconds"], "library_seconds": meta["library_seconds"],
            "ratio": meta["stage_to_library_ratio"]}


def run(args: argparse.Namespace) -> int:
    from warehouse.feeds import FeedError

    if args.data is not None:
        # a bad folder fails here, in a second, before Dagster is imported
        try:
            _feeds(args.data, sample_logistics=args.sample_logistics)
        except FeedError as exc:
            print(f"supplycast: {exc}", file=sys.stderr)
            return 2
    started = time.perf_counter()
    quiet_libraries()
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from pipelines.progress import StepProgress, progress_logger_def
    from pipelines.resources import build_resources
    from pipelines.summary import print_summary, run_summary

    # the resources for this run, built from the options: the Definitions' own were built at import
    resources = build_resources(data_dir=args.data, warehouse=args.warehouse)
    warehouse, feeds = Path(resources["duckdb"].database), resources["feeds"]
    try:
        paths = _feeds(feeds.data_dir, sample_logistics=args.sample_logistics)
        lo, hi = _pos_span(paths)
    except FeedError as exc:
        print(f"supplycast: {exc}", file=sys.stderr)
        return 2
    # checked here, in seconds, not after the feeds are loaded (pos_history's days are the forecast's to check)
    problem = _as_of_problem(args.as_of, lo, hi, has_history=bool(paths.files("pos_history")))
    if problem:
        print(f"supplycast: {problem}", file=sys.stderr)
        return 2
    partition_tags = _pos_partition_tags(lo, hi)
    job = defs.resolve_job_def("daily_refresh")
    n_steps = len(job.nodes_in_topological_order) if hasattr(job, "nodes_in_topological_order") else len(job.graph.nodes)
    home = None if args.ephemeral else dagster_home()
    instance = DagsterInstance.ephemeral() if home is None else DagsterInstance.from_config(str(home))
    handler = StepProgress(n_steps, enabled=not args.quiet)
    with instance, handler, _fewer_collections():
        # our logger replaces Dagster's console logger: the terminal shows a progress bar instead
        result = job.with_logger_defs({"progress": progress_logger_def(handler)}).execute_in_process(
            run_config={**_run_config(args), "loggers": {"progress": {}}},
            instance=instance, raise_on_error=False, tags=partition_tags, resources=resources,
        )
    seconds = time.perf_counter() - started
    if not result.success:
        print("supplycast run FAILED", file=sys.stderr)
        for line in handler.check_failures + handler.failures:
            print(f"  {line}", file=sys.stderr)
        if args.json:
            print(json.dumps({"success": False, "errors": handler.check_failures + handler.failures, "seconds": seconds}))
        return 1
    summary = run_summary(warehouse, paths, max_bad_share=feeds.max_bad_share)
    summary.update(success=True, seconds=round(seconds, 2), dagster_home=str(home) if home else None,
                   step_seconds={k: round(v, 2) for k, v in handler.step_seconds.items()})
    summary["exports"] = _exports(result)
    summary["forecast_vs_library"] = _forecast_cost(result)
    summary["warnings"] += _allocation_warnings(result)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print_summary(summary)
    return 0


def replay(args: argparse.Namespace) -> int:
    from pipelines import settings
    from procurement.replay import ActualsError, ReplayParams
    from procurement.replay_io import kpi_tables, run_replay

    warehouse = args.warehouse.resolve() if args.warehouse is not None else settings.warehouse_path()
    if args.frontier:
        return _replay_frontier(args, warehouse)
    if args.levels is not None or args.plot is not None:
        print("supplycast replay: --service-levels and --plot need --frontier", file=sys.stderr)
        return 2
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


def _replay_frontier(args: argparse.Namespace, warehouse: Path) -> int:
    from procurement.replay import DEFAULT_LEVELS, ActualsError, ReplayParams, matched_fill
    from procurement.replay_io import run_frontier

    try:
        frontier, plot = run_frontier(warehouse, args.actuals, levels=args.levels or DEFAULT_LEVELS,
                                      params=ReplayParams(seed=args.seed), plot=args.plot)
    except (ActualsError, FileNotFoundError) as exc:
        print(f"supplycast replay: {exc}", file=sys.stderr)
        return 2
    # all days, and each series' days from the first day an as-of order can land
    ratios = {"all_days": matched_fill(frontier),
              "after_first_arrival": matched_fill(frontier, fill_col="fill_rate_after_first_arrival",
                                                  on_hand_col="avg_on_hand_units_after_first_arrival")}
    if args.json:
        print(json.dumps({"frontier": json.loads(frontier.to_json(orient="records", date_format="iso")),
                          "on_hand_ratio_at_matched_fill": {k: json.loads(v.to_json(orient="records"))
                                                            for k, v in ratios.items()},
                          "plot": str(plot), "warehouse": str(warehouse)}))
        return 0
    cols = ["policy", "service_level", "fill_rate", "fill_rate_after_first_arrival", "avg_on_hand_units",
            "avg_on_hand_units_after_first_arrival", "total_cost"]
    print(frontier[cols].to_string(index=False, float_format="%.3f", na_rep="-"))
    for window, table in ratios.items():
        print(f"on-hand ratio at matched fill ({window.replace('_', ' ')}): supplycast on hand / seasonal-naive "
              "on hand at the same fill rate (interpolated; '-' = outside its range)")
        print(table.to_string(index=False, float_format="%.3f", na_rep="-"))
    print(f"replay_frontier written to {warehouse}; plot {plot}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except BrokenPipeError:
        # the reader went away (`supplycast review list | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _dispatch(args: argparse.Namespace) -> int:
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
