"""Where supplycast keeps its state, each path overridable by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

from warehouse.feeds import SAMPLE_DIR

__all__ = ["PROJECT_ROOT", "state_dir", "warehouse_path", "data_dir", "mlflow_tracking_uri", "mlflow_artifact_root"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def state_dir() -> Path:
    """``$SUPPLYCAST_HOME`` or ``.supplycast/`` in the project."""
    return Path(os.environ.get("SUPPLYCAST_HOME") or PROJECT_ROOT / ".supplycast").resolve()


def warehouse_path() -> Path:
    """``$SUPPLYCAST_WAREHOUSE`` or ``<state>/warehouse.duckdb``."""
    return Path(os.environ.get("SUPPLYCAST_WAREHOUSE") or state_dir() / "warehouse.duckdb").resolve()


def data_dir() -> Path:
    """``$SUPPLYCAST_DATA`` or the embedded real sample."""
    return Path(os.environ.get("SUPPLYCAST_DATA") or SAMPLE_DIR).resolve()


def mlflow_tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` or a sqlite store in the state folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{state_dir() / 'mlflow.db'}"


def mlflow_artifact_root() -> str:
    return os.environ.get("SUPPLYCAST_MLFLOW_ARTIFACTS") or (state_dir() / "mlartifacts").as_uri()
