"""Resources, chosen in one place: the warehouse, the feeds, MLflow and the forecast executor.

:func:`build_resources` takes the data folder and the warehouse file as values (the CLI's
``--data`` / ``--warehouse``) and picks the rest by environment, ``SUPPLYCAST_ENV``.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets import settings
from forecasting.distributed import ExecutorConfig
from forecasting.registry import registered_model_name
from warehouse.feeds import FeedPaths, discover_feeds

__all__ = ["FeedsResource", "MlflowTrackingResource", "ForecastExecutorResource", "build_resources", "ENVIRONMENTS"]

ENVIRONMENTS = ("local", "ci", "prod")


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
    """The MLflow store of this warehouse's forecast runs, and the registered model of its data.

    ``registered_model`` carries a key of the data source (:func:`forecasting.registry.registered_model_name`),
    so runs on other data never load or replace this data's ``champion``, even on a shared server.
    """

    tracking_uri: str
    registered_model: str
    artifact_root: str = Field(default="", description="Artifact location of a newly created experiment; "
                                                       "empty = the tracking server's default.")
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


@lru_cache(maxsize=1)
def _ci_state() -> Path:
    # one throw-away state folder per process: the Definitions and a CLI run in it share it
    return Path(tempfile.mkdtemp(prefix="supplycast-ci-"))


def _required(names: list[tuple[str, object]], env: str) -> None:
    missing = [name for name, value in names if not value]
    if missing:
        raise ValueError(f"SUPPLYCAST_ENV={env} needs {', '.join(missing)}; set "
                         f"{'it' if len(missing) == 1 else 'them'} or use SUPPLYCAST_ENV=local")


def _forecast_executor(env: str) -> ForecastExecutorResource:
    if env == "ci":
        return ForecastExecutorResource(executor="local")
    if env == "prod":
        return ForecastExecutorResource(executor="dask", scheduler_address=os.environ["DASK_SCHEDULER_ADDRESS"])
    return ForecastExecutorResource(executor=os.environ.get("SUPPLYCAST_EXECUTOR", "local"),
                                    scheduler_address=os.environ.get("DASK_SCHEDULER_ADDRESS", ""))


def build_resources(*, data_dir: str | Path | None = None, warehouse: str | Path | None = None,
                    env: str | None = None) -> dict[str, Any]:
    """The resources of a run on ``data_dir`` into ``warehouse``, for environment ``env``.

    Values given here win over the environment variables, which win over the defaults.
    The MLflow store belongs to the warehouse (``<dir>/<stem>.mlflow.db`` and
    ``<dir>/<stem>.mlartifacts/`` next to the DuckDB file) unless ``MLFLOW_TRACKING_URI`` says
    otherwise, and the registered model is keyed by the data folder.

    Environments (``env``, else ``$SUPPLYCAST_ENV``, else ``local``):

    - ``local``: data = ``$SUPPLYCAST_DATA`` or the embedded sample; warehouse =
      ``$SUPPLYCAST_WAREHOUSE`` or ``<state>/warehouse.duckdb`` (state = ``$SUPPLYCAST_HOME`` or
      ``.supplycast/``); MLflow = ``$MLFLOW_TRACKING_URI`` or the warehouse's own store; forecasts
      on ``$SUPPLYCAST_EXECUTOR`` (``local`` process pool, or ``dask`` on
      ``$DASK_SCHEDULER_ADDRESS``, a LocalCluster when empty); GX data docs in ``<state>/gx``.
    - ``ci``: nothing outside a throw-away temporary folder: the default warehouse lives in it,
      the MLflow store is always the warehouse's own (``MLFLOW_TRACKING_URI`` is ignored, so a CI run
      never writes to a shared server), forecasts run on the local process pool, no GX data docs
      (the checks' metadata holds the results). The Dagster executor is in-process
      (``pipelines.definitions``).
    - ``prod``: nothing is defaulted: the data folder and warehouse (values or ``$SUPPLYCAST_DATA``,
      ``$SUPPLYCAST_WAREHOUSE``), ``$MLFLOW_TRACKING_URI`` and ``$DASK_SCHEDULER_ADDRESS`` are
      required; forecasts run on that Dask cluster; GX data docs in ``gx/`` beside the warehouse.

    Args:
        data_dir: Feeds folder (canonical layout or M5).
        warehouse: DuckDB file; its folder is created.
        env: ``local``, ``ci`` or ``prod``.

    Returns:
        ``duckdb``, ``feeds``, ``forecast_executor`` and ``mlflow_tracking`` resources.

    Raises:
        ValueError: An unknown environment, or ``prod`` without one of its required settings.
    """
    env = env or os.environ.get("SUPPLYCAST_ENV") or "local"
    if env not in ENVIRONMENTS:
        raise ValueError(f"SUPPLYCAST_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    if env == "prod":
        _required([("a data folder ($SUPPLYCAST_DATA)", data_dir or os.environ.get("SUPPLYCAST_DATA")),
                   ("a warehouse file ($SUPPLYCAST_WAREHOUSE)", warehouse or os.environ.get("SUPPLYCAST_WAREHOUSE")),
                   ("$MLFLOW_TRACKING_URI", os.environ.get("MLFLOW_TRACKING_URI")),
                   ("$DASK_SCHEDULER_ADDRESS", os.environ.get("DASK_SCHEDULER_ADDRESS"))], env)
    state = _ci_state() if env == "ci" else settings.state_dir()
    wh = settings.warehouse_path(warehouse, state=state)
    data = settings.data_dir(data_dir)
    # DuckDB creates the file but not its folder; without it every connect attempt is retried and fails
    wh.parent.mkdir(parents=True, exist_ok=True)
    shared_store = env != "ci"
    docs_dir = {"local": str(state / "gx"), "ci": "", "prod": str(wh.parent / "gx")}[env]
    artifacts = (os.environ.get("SUPPLYCAST_MLFLOW_ARTIFACTS", "") if env == "prod"
                 else settings.mlflow_artifact_root(wh, use_env=shared_store))
    return {
        "duckdb": DuckDBResource(database=str(wh)),
        "feeds": FeedsResource(data_dir=str(data),
                               max_bad_share=float(os.environ.get("SUPPLYCAST_MAX_BAD_SHARE", "0.05")),
                               docs_dir=docs_dir),
        "forecast_executor": _forecast_executor(env),
        "mlflow_tracking": MlflowTrackingResource(
            tracking_uri=settings.mlflow_tracking_uri(wh, use_env=shared_store), artifact_root=artifacts,
            registered_model=registered_model_name(data)),
    }
