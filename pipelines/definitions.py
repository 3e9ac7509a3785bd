"""The one Definitions object: loaded by ``dagster dev`` (workspace.yaml) and ``supplycast run``."""

import os

from dagster import Definitions, in_process_executor, multiprocess_executor

from assets import ALL_ASSETS, ALL_CHECKS
from assets.resources import build_resources
from pipelines.jobs import JOBS
from pipelines.schedules import SCHEDULES
from pipelines.sensors import SENSORS


def _executor():
    """``in_process`` by default: every step opens the one DuckDB file, so steps run one at a time
    anyway and a process per step would only add start-up time. ``SUPPLYCAST_DAGSTER_EXECUTOR=multiprocess``
    runs independent steps in parallel processes (e.g. on Kubernetes); give the ``duckdb_writer``
    pool a limit of 1 in ``dagster.yaml`` so only one of them holds the warehouse at a time.
    ``SUPPLYCAST_ENV=ci`` always runs in process."""
    kind = os.environ.get("SUPPLYCAST_DAGSTER_EXECUTOR", "in_process")
    if kind not in ("in_process", "multiprocess"):
        raise ValueError(f"SUPPLYCAST_DAGSTER_EXECUTOR must be in_process or multiprocess, got {kind!r}")
    if os.environ.get("SUPPLYCAST_ENV") == "ci":
        return in_process_executor
    return multiprocess_executor if kind == "multiprocess" else in_process_executor


defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=build_resources(),
    executor=_executor(),
)
