"""The global model in the MLflow registry: log a fitted booster, load and promote the champion.

Only the tracking client is used (no fluent ``mlflow.set_tracking_uri``), so callers with
their own MLflow state are not disturbed. The booster is saved with the ``mlflow.lightgbm``
flavour and explicit pip requirements (inferring them would import the whole
environment and cost seconds).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forecasting.lgbm import GlobalLGBM

__all__ = ["REGISTERED_MODEL", "CHAMPION_ALIAS", "TRAIN_END_TAG", "CONFIG_TAG", "Champion", "load_champion",
           "log_global_model", "log_run_model", "champion_to_row", "champion_from_row", "model_from_text",
           "model_to_text", "registered_model_name", "quiet_mlflow"]

# The name's stem; :func:`registered_model_name` adds the key of the data the model was trained on.
REGISTERED_MODEL = "supplycast-global"
CHAMPION_ALIAS = "champion"
# Model-version tags: the last day the model was trained on, and what it takes to refit it.
TRAIN_END_TAG = "train_end"
CONFIG_TAG = "lgbm_config"


_QUIET_LOGGERS = ("mlflow", "alembic")


@contextmanager
def quiet_mlflow(loggers: tuple[str, ...] = _QUIET_LOGGERS) -> Iterator[None]:
    """MLflow without its chatter: no INFO logs (a new sqlite store logs its schema migrations) and no
    artifact progress bars. The caller's logger levels and environment are restored afterwards."""
    import mlflow  # noqa: F401 - its first import sets its logger's level, which must come before ours

    saved = {name: logging.getLogger(name).level for name in loggers}
    bar = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    for name in loggers:
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
        if bar is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = bar


def registered_model_name(data_dir: str | Path, *, stem: str = REGISTERED_MODEL) -> str:
    """The registered model of the global model trained on ``data_dir``: ``<stem>-<folder>-<hash>``.

    The key is the folder name (readable in the MLflow UI) and a hash of its absolute path, so
    runs on different data never load or replace each other's champion, even on a shared server.

    Args:
        data_dir: The feeds folder the model is trained on.
        stem: Name prefix.
    """
    path = str(Path(data_dir).resolve())
    slug = re.sub(r"[^a-z0-9]+", "-", Path(path).name.lower()).strip("-")[:24] or "data"
    return f"{stem}-{slug}-{hashlib.sha1(path.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class Champion:
    """What the registry holds under the ``champion`` alias.

    Attributes:
        model: The loaded model, or None when there is no champion or it failed to load.
        version: Registered version carrying the alias (None if there is none).
        error: Why loading failed, if it did.
        train_end: Last day the champion was trained on (None: not recorded, assume it
            saw every day so far).
        config: :meth:`GlobalLGBM.config` of the champion, to refit it on other windows
            (from the version tag, else read back from the booster).
    """

    model: GlobalLGBM | None
    version: str | None
    error: str | None = None
    train_end: pd.Timestamp | None = None
    config: dict[str, Any] | None = None


def _config_of(tags: dict[str, str], booster: Any) -> dict[str, Any]:
    if CONFIG_TAG in tags:
        return json.loads(tags[CONFIG_TAG])
    # Versions logged before the tag existed: LightGBM keeps the training parameters in the model.
    base = GlobalLGBM()
    params = {k: v for k, v in booster.params.items() if k in base.params} if getattr(booster, "params", None) else {}
    return {**base.config(), "params": {**base.params, **params}, "num_rounds": int(booster.current_iteration()),
            "features": list(booster.feature_name())}


def _with_booster(config: dict[str, Any], booster: Any) -> GlobalLGBM:
    return GlobalLGBM(params=config["params"], num_rounds=config["num_rounds"],
                      max_train_rows=config["max_train_rows"], features=tuple(booster.feature_name()), booster=booster)


def model_from_text(text: str, config: dict[str, Any]) -> GlobalLGBM:
    """A fitted global model from LightGBM's model text and its :meth:`GlobalLGBM.config`."""
    import lightgbm

    return _with_booster(config, lightgbm.Booster(model_str=text))


def model_to_text(model: GlobalLGBM | None) -> str | None:
    """LightGBM's model text of a fitted global model (None without one); :func:`model_from_text` reads it back."""
    return model.booster.model_to_string() if model is not None and model.booster is not None else None


def champion_to_row(champion: Champion) -> dict[str, Any]:
    """The champion as one warehouse row of plain values (the booster as LightGBM's model text).

    Loading the registry means importing MLflow and checking its store (seconds); an asset
    of its own does that once per run and hands the champion to the forecast as this row.
    """
    return {
        "version": champion.version,
        "error": champion.error,
        "train_end": champion.train_end.date().isoformat() if champion.train_end is not None else None,
        "config": json.dumps(champion.config) if champion.config is not None else None,
        "model_text": model_to_text(champion.model),
    }


def champion_from_row(row: dict[str, Any]) -> Champion:
    """Inverse of :func:`champion_to_row`; a row whose model text does not load is a failed champion."""
    version = row.get("version")
    if version is None or (isinstance(version, float) and version != version):
        return Champion(None, None)
    error, text, config = row.get("error"), row.get("model_text"), row.get("config")
    train_end = pd.Timestamp(row["train_end"]) if row.get("train_end") else None
    if error or not text or not config:
        return Champion(None, str(version), error or "the warehouse copy of the champion has no model")
    try:
        cfg = json.loads(config)
        return Champion(model_from_text(text, cfg), str(version), train_end=train_end, config=cfg)
    except Exception as exc:  # noqa: BLE001 - any failure means: do not trust the champion
        return Champion(None, str(version), f"{type(exc).__name__}: {exc}")


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
    with quiet_mlflow():
        return _load_champion(tracking_uri, name)


def _load_champion(tracking_uri: str, name: str) -> Champion:
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
        tags = dict(mv.tags or {})
        train_end = pd.Timestamp(tags[TRAIN_END_TAG]) if TRAIN_END_TAG in tags else None
        config = _config_of(tags, booster)
        return Champion(_with_booster(config, booster), str(mv.version), train_end=train_end, config=config)
    except Exception as exc:  # noqa: BLE001 - any failure means: do not trust the champion
        return Champion(None, str(mv.version), f"{type(exc).__name__}: {exc}")


def log_global_model(
    tracking_uri: str,
    run_id: str,
    model: GlobalLGBM,
    *,
    promote: bool,
    train_end: pd.Timestamp | None = None,
    name: str = REGISTERED_MODEL,
    tags: dict[str, str] | None = None,
) -> str:
    """Log the booster under ``global_model/`` of the run, register it, maybe promote it.

    The version is tagged with ``train_end`` and the model's configuration, so a later
    run can tell whether the model saw its backtest days and refit it if it did.

    Args:
        tracking_uri: Database tracking URI.
        run_id: Run to attach the model to.
        model: Fitted global model.
        promote: Point the ``champion`` alias at the new version.
        train_end: Last day of the model's training data.
        name: Registered model name (created if missing).
        tags: Tags for the model version (e.g. its backtest score).

    Returns:
        The new version number.
    """
    with quiet_mlflow():
        return _log_global_model(tracking_uri, run_id, model, promote=promote, train_end=train_end, name=name,
                                 tags=tags)


def _log_global_model(tracking_uri: str, run_id: str, model: GlobalLGBM, *, promote: bool,
                      train_end: pd.Timestamp | None, name: str, tags: dict[str, str] | None) -> str:
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
    all_tags = {**(tags or {}), CONFIG_TAG: json.dumps(model.config())}
    if train_end is not None:
        all_tags[TRAIN_END_TAG] = pd.Timestamp(train_end).date().isoformat()
    mv = client.create_model_version(name, source=source, run_id=run_id, tags=all_tags)
    if promote:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, mv.version)
    return str(mv.version)


def log_run_model(tracking_uri: str, run_id: str, outcome: Any, *, use_champion: bool = True,
                  name: str = REGISTERED_MODEL, tags: dict[str, str] | None = None) -> str | None:
    """Log the run's newly fitted global model; promote it only if it won the backtest.

    Every run with a fitted challenger logs it (``global_model/`` artifact and a registered
    version tagged with its backtest MASE, training end and whether it won), also when the
    old champion won, so each run's model can be inspected and reused.

    Args:
        tracking_uri: Database tracking URI.
        run_id: The forecast's MLflow run.
        outcome: :class:`forecasting.global_forecast.GlobalOutcome` of the run (or None).
        use_champion: Whether the registry's alias is managed at all.
        name: Registered model name (see :func:`registered_model_name`).
        tags: More tags for the version (e.g. the data source).

    Returns:
        The new version, or None when the run fitted no global model (off or fallback).
    """
    if outcome is None or outcome.challenger is None:
        return None
    won = bool(outcome.promote)
    return log_global_model(tracking_uri, run_id, outcome.challenger, promote=use_champion and won,
                            train_end=outcome.train_end, name=name,
                            tags={**(tags or {}), "holdout_mase": f"{outcome.scores['challenger']:.4f}",
                                  "outcome": "champion" if won else f"lost to {outcome.source}"})
