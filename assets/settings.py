"""Where supplycast keeps its state: pure path rules, each overridable by a value or an environment variable.

An explicit value (the CLI's ``--data`` / ``--warehouse``) wins over the environment, which wins over
the default. The MLflow store belongs to the warehouse it serves: it sits next to the warehouse
file, so two warehouses never share runs, registered models or champions by default.
"""

from __future__ import annotations

import os
from pathlib import Path

from warehouse.feeds import SAMPLE_DIR

__all__ = [
    "approvers_file",
    "decisions_inbox",
    "PROJECT_ROOT",
    "state_dir",
    "warehouse_path",
    "data_dir",
    "mlflow_tracking_uri",
    "mlflow_artifact_root",
    "mlflow_store_path",
]

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def state_dir() -> Path:
    """``$SUPPLYCAST_HOME`` or ``.supplycast/`` in the project."""
    return Path(os.environ.get("SUPPLYCAST_HOME") or PROJECT_ROOT / ".supplycast").resolve()


def warehouse_path(warehouse: str | Path | None = None, *, state: Path | None = None) -> Path:
    """``warehouse``, else ``$SUPPLYCAST_WAREHOUSE``, else ``<state>/warehouse.duckdb``.

    Args:
        warehouse: An explicit DuckDB file.
        state: The state folder of the default (default :func:`state_dir`).
    """
    chosen = warehouse or os.environ.get("SUPPLYCAST_WAREHOUSE")
    return Path(chosen).resolve() if chosen else ((state or state_dir()) / "warehouse.duckdb").resolve()


def data_dir(data: str | Path | None = None) -> Path:
    """``data``, else ``$SUPPLYCAST_DATA``, else the embedded real sample."""
    return Path(data or os.environ.get("SUPPLYCAST_DATA") or SAMPLE_DIR).resolve()


def mlflow_store_path(warehouse: str | Path) -> Path:
    """The sqlite MLflow store of ``warehouse``: ``<dir>/<stem>.mlflow.db`` next to the DuckDB file."""
    path = Path(warehouse).resolve()
    return path.with_name(f"{path.stem}.mlflow.db")


def mlflow_tracking_uri(warehouse: str | Path | None = None, *, use_env: bool = True) -> str:
    """``$MLFLOW_TRACKING_URI`` (when ``use_env``), else the sqlite store next to the warehouse.

    Args:
        warehouse: The warehouse the store belongs to (default :func:`warehouse_path`).
        use_env: Honour ``$MLFLOW_TRACKING_URI``.
    """
    env = os.environ.get("MLFLOW_TRACKING_URI") if use_env else None
    return env or f"sqlite:///{mlflow_store_path(warehouse or warehouse_path())}"


def mlflow_artifact_root(warehouse: str | Path | None = None, *, use_env: bool = True) -> str:
    """``$SUPPLYCAST_MLFLOW_ARTIFACTS`` (when ``use_env``), else ``<dir>/<stem>.mlartifacts/`` next to the warehouse."""
    env = os.environ.get("SUPPLYCAST_MLFLOW_ARTIFACTS") if use_env else None
    if env:
        return env
    path = Path(warehouse or warehouse_path()).resolve()
    return path.with_name(f"{path.stem}.mlartifacts").as_uri()


def approvers_file() -> Path:
    """``<state>/approvers.csv``: who may approve, up to which PO value (absent: no one may)."""
    return state_dir() / "approvers.csv"


def decisions_inbox() -> Path:
    """``<state>/inbox/decisions/``, where filled-in proposal sheets are dropped for the sensor."""
    return state_dir() / "inbox" / "decisions"
