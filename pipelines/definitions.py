"""The one Definitions object: loaded by ``dagster dev`` (workspace.yaml) and ``supplycast run``."""

from dagster import Definitions, in_process_executor

from assets import ALL_ASSETS, ALL_CHECKS
from pipelines.jobs import JOBS
from pipelines.resources import build_resources
from pipelines.schedules import SCHEDULES
from pipelines.sensors import SENSORS

# One DuckDB file admits one writer process; running steps in one process serialises the writers.
defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=build_resources(),
    executor=in_process_executor,
)
