"""Resources, chosen in one place and keyed by environment (``SUPPLYCAST_ENV``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

from forecasting.distributed import ExecutorConfig
from pipelines import settings
from warehouse.feeds import FeedPaths, discover_feeds

__all__ = ["FeedsResource", "MlflowTrackingResource", "ForecastExecutorResource", "build_resources"]


class FeedsResource(ConfigurableResource):
    """The folder the feeds are read from (embedded sample, M5 folder or canonical layout)."""

    data_dir: str
    max_bad_share: float = Field(
        default=0.05, description="Largest share (0..1) of quarantined rows a feed may have and still load; above it "
                                  "the load fails and the warehouse is left as it was ($SUPPLYCAST_MAX_BAD_SHARE).")
    docs_dir: str = Field(default="", description="Folder of the Great Expectations project whose data docs (HTML) "
                                                  "the quality gates build; empty = no data docs.")

    def paths(self) -> FeedPaths:
        return discover_feeds(self.data_dir)


class MlflowTrackingResource(ConfigurableResource):
    """MLflow tracking store (sqlite) and artifact location for forecast experiments."""

    tracking_uri: str
    artifact_root: str
    experiment: str = "supplycast-forecast"


class ForecastExecutorResource(ConfigurableResource):
    """Where the statistical forecasts run: ``local`` (process pool) or ``dask`` (a cluster).

    An empty ``scheduler_address`` with ``dask`` starts a LocalCluster for the run (tests, demos).
    """

    executor: str = "local"
    scheduler_address: str = ""
    n_workers: int = 2

    def config(self) -> ExecutorConfig:
        return ExecutorConfig(kind=self.executor, scheduler_address=self.scheduler_address,  # type: ignore[arg-type]
                              n_workers=self.n_workers)


def build_resources(env: str | None = None, *, data_dir: str | Path | None = None,
                    warehouse: str | Path | None = None) -> dict[str, Any]:
    """Resources for ``env`` (``local`` by default; ``ci`` uses the same local files).

    Args:
        env: ``local``, ``ci`` or ``prod``; default ``$SUPPLYCAST_ENV`` or ``local``.
        data_dir: feed folder; default ``$SUPPLYCAST_DATA`` or the embedded sample.
        warehouse: DuckDB file; default ``$SUPPLYCAST_WAREHOUSE`` or ``<state>/warehouse.duckdb``.
    """
    env = env or os.environ.get("SUPPLYCAST_ENV", "local")
    if env not in {"local", "ci", "prod"}:
        raise ValueError(f"SUPPLYCAST_ENV must be local, ci or prod, got {env!r}")
    warehouse = Path(warehouse).expanduser().resolve() if warehouse is not None else settings.warehouse_path()
    data_dir = Path(data_dir).expanduser().resolve() if data_dir is not None else settings.data_dir()
    # DuckDB creates the file but not its folder; without it every connect attempt is retried and fails
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return {
        "duckdb": DuckDBResource(database=str(warehouse)),
        "feeds": FeedsResource(data_dir=str(data_dir),
                               max_bad_share=float(os.environ.get("SUPPLYCAST_MAX_BAD_SHARE", "0.05")),
                               docs_dir=str(settings.state_dir() / "gx")),
        "forecast_executor": ForecastExecutorResource(
            executor=os.environ.get("SUPPLYCAST_EXECUTOR", "local"),
            scheduler_address=os.environ.get("DASK_SCHEDULER_ADDRESS", ""),
        ),
        "mlflow_tracking": MlflowTrackingResource(
            tracking_uri=settings.mlflow_tracking_uri(), artifact_root=settings.mlflow_artifact_root()
        ),
    }
