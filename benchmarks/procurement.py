"""Materialise the pipeline at a chosen as-of date, then print the PO allocation and supplier-risk figures.

    python -m benchmarks.procurement WAREHOUSE [--data DIR] [--as-of YYYY-MM-DD] [--holdout-days N]

Prints the MILP size and solve time (the allocation runs inside ``purchase_order_proposals``)
and the risk model's AUC, Brier score and calibration error. Timings on a shared 2-core machine
are inflated by other load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]

_PREFIXES = ("milp", "allocation", "risk_auc", "risk_brier", "risk_ece", "dagster/row_count", "substitutions",
             "auto_", "needs_", "rejected")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.procurement", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warehouse", help="DuckDB file to write")
    parser.add_argument("--data", default="", help="data folder (default: the embedded sample)")
    parser.add_argument("--as-of", default="2016-05-08", help="forecast origin (default 2016-05-08)")
    parser.add_argument("--holdout-days", type=int, default=7, help="backtest holdout (default 7)")
    args = parser.parse_args(argv)
    os.environ["SUPPLYCAST_WAREHOUSE"] = args.warehouse
    if args.data:
        os.environ["SUPPLYCAST_DATA"] = args.data
    # imported after the environment is set: the resources read it when the Definitions load
    from dagster import DagsterInstance

    from pipelines.definitions import defs

    started = time.perf_counter()
    job = defs.resolve_job_def("daily_refresh")
    config = {"ops": {"forecast": {"config": {"horizon": 14, "as_of": args.as_of, "holdout_days": args.holdout_days}}}}
    result = job.execute_in_process(run_config=config, instance=DagsterInstance.ephemeral())
    print(f"pipeline: success={result.success} in {time.perf_counter() - started:.1f} s")
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        key = mat.asset_key.to_user_string()
        if key in ("purchase_order_proposals", "supplier_scores"):
            for name, value in mat.metadata.items():
                if name.startswith(_PREFIXES):
                    print(f"  {key}.{name} = {getattr(value, 'value', value)}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
