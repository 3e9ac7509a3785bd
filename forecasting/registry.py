"""The global model in the MLflow registry: log a fitted booster, load and promote the champion.

Only the tracking client is used (no fluent ``mlflow.set_tracking_uri``), so callers with
their own MLflow state are not disturbed. The booster is saved with the ``mlflow.lightgbm``
flavour and explicit pip requirements (inferring them would import the whole
environment and cost seconds).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forecasting.lgbm import GlobalLGBM

__all__ = ["REGISTERED_MODEL", "CHAMPION_ALIAS", "Champion", "load_champion", "log_global_model"]

REGISTERED_MODEL = "supplycast-demand-lightgbm"
CHAMPION_ALIAS = "champion"


@dataclass(frozen=True)
class Champion:
    """What the registry holds under the ``champion`` alias.

    Attributes:
        model: The loaded model, or None when there is no champion or it failed to load.
        version: Registered version carrying the alias (None if there is none).
        error: Why loading failed, if it did.
    """

    model: GlobalLGBM | None
    version: str | None
    error: str | None = None


def _client(tracking_uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def load_champion(tracking_uri: str, *, name: str = REGISTERED_MODEL) -> Champion:
    """Load the champion booster, reporting (not raising) a failure to load it.

    Args:
        tracking_uri: Database tracking URI (also used as the registry).
        name: Registered model name.

    Returns:
        The champion; ``model`` None with ``version`` None means there is none yet.
    """
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    try:
        mv = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException:
        return Champion(None, None)
    try:
        import mlflow.lightgbm

        with tempfile.TemporaryDirectory(prefix="supplycast-champion-") as tmp:
            local = client.download_artifacts(mv.run_id, "global_model", tmp)
            booster = mlflow.lightgbm.load_model(local)
        return Champion(GlobalLGBM(booster=booster, features=tuple(booster.feature_name())), str(mv.version))
    except Exception as exc:  # noqa: BLE001 - any failure means: do not trust the champion
        return Champion(None, str(mv.version), f"{type(exc).__name__}: {exc}")


def log_global_model(
    tracking_uri: str,
    run_id: str,
    model: GlobalLGBM,
    *,
    promote: bool,
    name: str = REGISTERED_MODEL,
    tags: dict[str, str] | None = None,
) -> str:
    """Log the booster under ``global_model/`` of the run, register it, maybe promote it.

    Args:
        tracking_uri: Database tracking URI.
        run_id: Run to attach the model to.
        model: Fitted global model.
        promote: Point the ``champion`` alias at the new version.
        name: Registered model name (created if missing).
        tags: Tags for the model version (e.g. its backtest score).

    Returns:
        The new version number.
    """
    import lightgbm
    import mlflow.lightgbm
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    with tempfile.TemporaryDirectory(prefix="supplycast-model-") as tmp:
        path = Path(tmp) / "global_model"
        mlflow.lightgbm.save_model(model.booster, str(path), pip_requirements=[f"lightgbm=={lightgbm.__version__}"])
        client.log_artifacts(run_id, str(path), artifact_path="global_model")
    try:
        client.create_registered_model(name, description="Global LightGBM daily demand model (supplycast)")
    except MlflowException:
        pass  # already registered
    source = f"{client.get_run(run_id).info.artifact_uri}/global_model"
    mv = client.create_model_version(name, source=source, run_id=run_id, tags=tags or {})
    if promote:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, mv.version)
    return str(mv.version)
