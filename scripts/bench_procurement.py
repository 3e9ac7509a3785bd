"""Benchmark: materialise the pipeline at a chosen as-of date, then time the PO allocation and replay.

Usage: python scripts/bench_procurement.py WAREHOUSE [DATA_DIR] [AS_OF] [HOLDOUT_DAYS]
Prints MILP size and solve time (the allocation runs inside purchase_order_proposals) and the
risk model's AUC. Timings on a shared 2-core machine are inflated by other load.
"""

from __future__ import annotations

import os
import sys
import time


def main(warehouse: str, data: str = "", as_of: str = "2016-05-08", holdout: str = "7") -> None:
    os.environ["SUPPLYCAST_WAREHOUSE"] = warehouse
    if data:
        os.environ["SUPPLYCAST_DATA"] = data
    from dagster import DagsterInstance

    from pipelines.definitions import defs

    started = time.perf_counter()
    job = defs.resolve_job_def("daily_refresh")
    config = {"ops": {"forecast": {"config": {"horizon": 14, "as_of": as_of, "holdout_days": int(holdout)}}}}
    result = job.execute_in_process(run_config=config, instance=DagsterInstance.ephemeral())
    print(f"pipeline: success={result.success} in {time.perf_counter() - started:.1f} s")
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        key = mat.asset_key.to_user_string()
        if key in ("purchase_order_proposals", "supplier_scores"):
            for name, value in mat.metadata.items():
                if name.startswith(("milp", "allocation", "risk_auc", "risk_brier", "risk_ece", "dagster/row_count",
                                    "substitutions", "auto_", "needs_", "rejected")):
                    print(f"  {key}.{name} = {getattr(value, 'value', value)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
