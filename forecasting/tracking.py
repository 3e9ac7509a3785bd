"""Record a forecast run in MLflow (params, backtest metrics, artifacts)."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecasting.lgbm import GlobalLGBM
from forecasting.registry import model_from_text, model_to_text, quiet_mlflow

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from forecasting.forecaster import ForecastRun

__all__ = ["ModelOutcome", "RunRecord", "run_record", "record_to_row", "record_from_row", "log_forecast_run",
           "plot_backtest", "model_mix", "model_mix_text", "data_source_tags"]

# MLflow rejects longer param values.
_MAX_PARAM_CHARS = 6000
_MAX_TAG_CHARS = 5000
# ``ForecastRun.params["chosen_model"]`` is the best statsforecast candidate, one ingredient of the
# per-segment choice; logged under a name that says so, next to ``model`` (the mix actually used).
_PARAM_NAMES = {"chosen_model": "best_statsforecast_model"}


def model_mix(forecast: pd.DataFrame, *, id_cols: Sequence[str] = ("store_id", "item_id"),
              model_col: str = "model", normalize: bool = True) -> dict[str, float]:
    """Share of series forecast by each model, largest first (ties by name): the models a forecast used.

    Args:
        forecast: A forecast frame with one model label per row.
        id_cols: Series identifier columns.
        model_col: Model label column.
        normalize: Shares of series (summing to 1); False gives series counts.

    Returns:
        ``{model: share (or number) of series}``; empty for an empty frame.
    """
    per_series = forecast.drop_duplicates([*id_cols, model_col])[model_col].value_counts()
    total = int(per_series.sum())
    if not total:
        return {}
    ordered = per_series.sort_index().sort_values(ascending=False, kind="stable")
    return {str(m): (float(n) / total if normalize else float(n)) for m, n in ordered.items()}


def model_mix_text(mix: Mapping[str, float]) -> str:
    """``lightgbm 95.1%, blend 4.9%``: a model mix for people (one name when one model did it all)."""
    if len(mix) == 1:
        return next(iter(mix))
    return ", ".join(f"{m} {share:.1%}" for m, share in mix.items()) or "none"


def data_source_tags(data_dir: str | Path, *, feeds: Mapping[str, str] | None = None,
                     fingerprint: Mapping[str, Any] | None = None) -> dict[str, str]:
    """MLflow tags naming the data a run was trained on: folder, feed files and a fingerprint.

    Args:
        data_dir: The feeds folder.
        feeds: Where each feed came from (feed -> files).
        fingerprint: Figures of the data, e.g. series, rows, first and last date.

    Returns:
        ``supplycast.data_dir``, ``supplycast.feed.<feed>`` and ``supplycast.data.<figure>`` tags.
    """
    tags = {"supplycast.data_dir": str(data_dir)}
    tags |= {f"supplycast.feed.{k}": str(v) for k, v in (feeds or {}).items()}
    tags |= {f"supplycast.data.{k}": str(v) for k, v in (fingerprint or {}).items()}
    return {k: v[:_MAX_TAG_CHARS] for k, v in tags.items()}


def _check_tracking_uri(tracking_uri: str) -> None:
    # MLflow 3 refuses plain-directory stores; fail with the fix instead of its migration notice.
    if "://" not in tracking_uri and not tracking_uri.startswith("databricks"):
        raise ValueError(
            f"tracking_uri {tracking_uri!r} is a plain path; use a database URI such as "
            f"'sqlite:///{Path(tracking_uri).resolve() / 'mlflow.db'}'"
        )


def _artifact_location(tracking_uri: str, artifact_root: str | None) -> str | None:
    if artifact_root is not None:
        return artifact_root if "://" in artifact_root else Path(artifact_root).resolve().as_uri()
    if tracking_uri.startswith("sqlite:///"):
        db_path = Path(tracking_uri.removeprefix("sqlite:///"))
        return (db_path.resolve().parent / "mlartifacts").as_uri()
    return None


def _experiment_id(client: MlflowClient, name: str, artifact_location: str | None) -> str:
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(name)
    if exp is None:
        try:
            return client.create_experiment(name, artifact_location=artifact_location)
        except MlflowException:
            # Another process created it between our lookup and create.
            exp = client.get_experiment_by_name(name)
            if exp is None:
                raise
    if exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)
    return exp.experiment_id


def _param_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return str(value)[:_MAX_PARAM_CHARS]


@dataclass(frozen=True)
class ModelOutcome:
    """The run's newly fitted global model and whether it won: what the registry needs.

    Attributes:
        challenger: The challenger refitted on the whole history (None on fallback).
        promote: Whether it won the backtest and becomes the champion.
        source: Model the run used: ``challenger``, ``champion`` or ``seasonal_naive``.
        scores: Backtest MASE of ``challenger``, ``champion`` (if any), ``seasonal_naive``.
        train_end: Last training day of ``challenger``.
    """

    challenger: GlobalLGBM | None
    promote: bool
    source: str
    scores: dict[str, float] = field(default_factory=dict)
    train_end: pd.Timestamp | None = None


@dataclass(frozen=True)
class RunRecord:
    """What MLflow records of a forecast run, without the run's large frames.

    The forecast asset writes it to the warehouse (:func:`record_to_row`) and a separate
    asset logs it, so importing MLflow and writing to its store is not part of the forecast.

    Attributes:
        params: ``ForecastRun.params``.
        metrics: Per-candidate backtest metrics, stage seconds, challenger/champion scores.
        chosen_model: Best statsforecast candidate of the backtest.
        backtest_metrics: The backtest table, one row per candidate.
        daily: Per date, the summed actuals and candidates over the holdout and the summed
            forecast (column ``forecast``) over the horizon: the backtest plot's data.
        segment_choice: Candidate chosen per segment, if the global model ran.
        warnings: Fallbacks and failures of the run.
        outcome: The newly fitted global model and whether it won (None: none was fitted).
    """

    params: dict[str, Any]
    metrics: dict[str, float]
    chosen_model: str
    backtest_metrics: pd.DataFrame
    daily: pd.DataFrame
    segment_choice: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    outcome: ModelOutcome | None = None


def _daily(run: ForecastRun, target_col: str, time_col: str) -> pd.DataFrame:
    preds = run.backtest.predictions
    models = [m for m in run.backtest.metrics.index if m in preds.columns]
    holdout = preds.groupby(time_col)[[target_col, *models]].sum()
    future = run.forecast.groupby(time_col)[["yhat"]].sum().rename(columns={"yhat": "forecast"})
    return pd.concat([holdout, future]).rename_axis(time_col)


def run_record(run: ForecastRun, *, target_col: str = "units", time_col: str = "date") -> RunRecord:
    """The :class:`RunRecord` of a :class:`~forecasting.forecaster.ForecastRun`.

    Args:
        run: A :class:`~forecasting.forecaster.ForecastRun`.
        target_col: Actuals column of the backtest predictions.
        time_col: Date column.
    """
    out = run.global_outcome
    outcome = None if out is None or out.challenger is None else ModelOutcome(
        out.challenger, bool(out.promote), out.source, dict(out.scores), out.train_end)
    return RunRecord(params=dict(run.params), metrics=_run_metrics(run), chosen_model=run.backtest.best_model,
                     backtest_metrics=run.backtest.metrics, daily=_daily(run, target_col, time_col),
                     segment_choice=run.segment_choice, warnings=list(run.warnings), outcome=outcome)


def _frame_json(frame: pd.DataFrame | None) -> str | None:
    # the "table" orient carries the schema: index name, dtypes, dates
    return None if frame is None else frame.to_json(orient="table", date_format="iso")


def _frame_from_json(text: str | None) -> pd.DataFrame | None:
    return None if text is None else pd.read_json(StringIO(text), orient="table")


def record_to_row(record: RunRecord) -> dict[str, str | None]:
    """The record as one warehouse row of text columns (JSON, and LightGBM's model text)."""
    out = record.outcome
    model = out.challenger if out is not None else None
    return {
        "chosen_model": record.chosen_model,
        "params": json.dumps(record.params, default=str),
        "metrics": json.dumps(record.metrics),
        "backtest_metrics": _frame_json(record.backtest_metrics),
        "daily": _frame_json(record.daily),
        "segment_choice": _frame_json(record.segment_choice),
        "warnings": json.dumps(record.warnings),
        "outcome": None if out is None else json.dumps({
            "promote": out.promote, "source": out.source, "scores": out.scores,
            "train_end": out.train_end.date().isoformat() if out.train_end is not None else None,
            "config": model.config() if model is not None else None}),
        "model_text": model_to_text(model),
    }


def record_from_row(row: Mapping[str, Any]) -> RunRecord:
    """Inverse of :func:`record_to_row`."""
    outcome = None
    if row.get("outcome"):
        o = json.loads(row["outcome"])
        model = model_from_text(row["model_text"], o["config"]) if row.get("model_text") and o["config"] else None
        outcome = ModelOutcome(model, bool(o["promote"]), o["source"], o["scores"],
                               pd.Timestamp(o["train_end"]) if o["train_end"] else None)
    return RunRecord(params=json.loads(row["params"]), metrics=json.loads(row["metrics"]),
                     chosen_model=row["chosen_model"], backtest_metrics=_frame_from_json(row["backtest_metrics"]),
                     daily=_frame_from_json(row["daily"]), segment_choice=_frame_from_json(row.get("segment_choice")),
                     warnings=json.loads(row["warnings"]), outcome=outcome)


def _run_metrics(run: ForecastRun) -> dict[str, float]:
    bt = run.backtest
    table = bt.metrics
    metrics: dict[str, float] = {}
    for model, row in table.iterrows():
        metrics[f"mase_{model}"] = float(row["mase"])
        metrics[f"mae_{model}"] = float(row["mae"])
        metrics[f"rmse_{model}"] = float(row["rmse"])
        metrics[f"bias_{model}"] = float(row["bias"])
    best = table.loc[bt.best_model]
    metrics["backtest_mase"] = float(best["mase"])
    metrics["backtest_mae"] = float(best["mae"])
    metrics["improvement_vs_seasonal_naive"] = float(bt.improvement_vs_seasonal_naive)
    coverage_cols = [c for c in table.columns if c.startswith("coverage_")]
    metrics.update({c: float(best[c]) for c in coverage_cols})
    metrics.update(
        {f"per_series_optimistic_{k}": float(v) for k, v in bt.per_series_selection_optimistic.items()}
    )
    metrics.update({f"seconds_{stage}": float(s) for stage, s in run.seconds.items()})
    if run.global_outcome is not None:
        metrics.update({f"holdout_mase_{k}": float(v) for k, v in run.global_outcome.scores.items()})
        metrics["fallback_seasonal_naive"] = float(run.global_outcome.source == "seasonal_naive")
    metrics.update(_long_metrics(run))
    return metrics


def _long_metrics(run: ForecastRun) -> dict[str, float]:
    """The long series' holdout (long model vs the other candidates) and the weather's worth."""
    report = run.long_history
    if report is None:
        return {}
    out = {"long_n_series": float(report.n_series), "long_rmse_long_model": report.rmse_long,
           "long_rmse_previous": report.rmse_previous, "long_rmsse_long_model": report.rmsse_long,
           "long_rmsse_previous": report.rmsse_previous, "long_history_used": float(report.used),
           "weather_on": float(report.weather_on), "weather_stores_on": float(len(report.weather_stores))}
    if report.weather is not None:
        out |= {"weather_rmsse_with": report.weather.with_features,
                "weather_rmsse_without": report.weather.without_features,
                "weather_rmsse_delta": report.weather.delta}
    return out


def plot_backtest(record: RunRecord, path: Path, *, target_col: str = "units") -> Path:
    """Save a PNG of the backtest: total daily actuals vs each candidate, and the forecast.

    Args:
        record: :func:`run_record` of a :class:`~forecasting.forecaster.ForecastRun`.
        path: PNG file to write.
        target_col: Actuals column of the backtest predictions.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    daily = record.daily
    holdout = daily[daily[target_col].notna()]
    future = daily["forecast"].dropna() if "forecast" in daily else pd.Series(dtype=float)
    models = [c for c in daily.columns if c not in (target_col, "forecast")]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(holdout.index, holdout[target_col], color="black", lw=2.2, label="actual (holdout)")
    for m in models:
        ax.plot(holdout.index, holdout[m], lw=1, alpha=0.8, label=m)
    ax.plot(future.index, future.to_numpy(), color="tab:red", lw=2, ls="--", label="forecast (sum of yhat)")
    ax.set_title("Backtest holdout and forecast, all series summed (units/day)")
    ax.legend(fontsize=7, ncol=3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def log_forecast_run(
    run: ForecastRun | RunRecord,
    *,
    forecast: pd.DataFrame | None = None,
    tracking_uri: str,
    experiment: str = "supplycast-forecast",
    artifact_root: str | None = None,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Log a forecast run to MLflow and return its run id.

    Logs ``run.params`` as params (``chosen_model``, the best statsforecast candidate, as
    ``best_statsforecast_model``) and, with a forecast, param and tag ``model``: the mix of
    models the forecast used (:func:`model_mix_text`); per-candidate ``mase_<model>``, ``mae_<model>``,
    ``rmse_<model>``, ``bias_<model>``; for the chosen model ``backtest_mase``,
    ``backtest_mae`` and ``coverage_q10_q90``; ``improvement_vs_seasonal_naive``;
    stage timings as ``seconds_<stage>``; challenger/champion holdout MASE; and the
    artifacts ``backtest/backtest_metrics.csv``, ``backtest/backtest_vs_actual.png``,
    ``backtest/segment_choice.csv`` and ``forecast/forecast.parquet``. The fitted global
    model is logged and registered by :func:`forecasting.registry.log_global_model`.

    Args:
        run: A :class:`~forecasting.forecaster.ForecastRun`, or its :class:`RunRecord`.
        forecast: The forecast frame to log with a record (a ``ForecastRun`` carries its own).
        tracking_uri: Database tracking URI, e.g. ``sqlite:////abs/path/mlflow.db``.
        experiment: Experiment name; created if missing.
        artifact_root: Artifact location for a newly created experiment (URI or
            path). Defaults to ``mlartifacts/`` next to a sqlite database file.
        run_name: Display name of the run.
        tags: Extra run tags.

    Returns:
        The MLflow run id.

    Raises:
        ValueError: If ``tracking_uri`` is a plain directory path.
    """
    _check_tracking_uri(tracking_uri)
    if not isinstance(run, RunRecord):
        run, forecast = run_record(run), run.forecast
    # Imported here: mlflow takes seconds to import, and most callers of the package
    # never log.
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.utils.time import get_current_time_millis

    mix = model_mix_text(model_mix(forecast)) if forecast is not None and "model" in forecast else None
    with quiet_mlflow():
        client = MlflowClient(tracking_uri=tracking_uri)
        exp_id = _experiment_id(client, experiment, _artifact_location(tracking_uri, artifact_root))
        all_tags = {"supplycast.component": "forecasting", **(tags or {})}
        mlrun = client.create_run(exp_id, run_name=run_name, tags=all_tags)
        run_id = mlrun.info.run_id
        try:
            now = get_current_time_millis()
            metrics = [Metric(k, v, now, 0) for k, v in run.metrics.items() if not math.isnan(v)]
            params = [Param(_PARAM_NAMES.get(k, k), _param_value(v)) for k, v in run.params.items()]
            run_tags = [RunTag("best_statsforecast_model", run.chosen_model)]
            if mix is not None:
                params.append(Param("model", _param_value(mix)))
                run_tags.append(RunTag("model", mix[:_MAX_TAG_CHARS]))
            client.log_batch(run_id, metrics=metrics, params=params, tags=run_tags)
            with tempfile.TemporaryDirectory(prefix="supplycast-mlflow-") as tmp:
                # Files laid out as they are logged, then one upload call for the lot.
                (Path(tmp) / "backtest").mkdir()
                (Path(tmp) / "forecast").mkdir()
                run.backtest_metrics.to_csv(Path(tmp) / "backtest" / "backtest_metrics.csv", index=True)
                if forecast is not None:
                    forecast.to_parquet(Path(tmp) / "forecast" / "forecast.parquet", index=False)
                plot_backtest(run, Path(tmp) / "backtest" / "backtest_vs_actual.png")
                if run.segment_choice is not None:
                    run.segment_choice.to_csv(Path(tmp) / "backtest" / "segment_choice.csv", index=False)
                client.log_artifacts(run_id, tmp)
            if run.warnings:
                client.set_tag(run_id, "warning", " | ".join(run.warnings)[:5000])
        except BaseException:
            client.set_terminated(run_id, status="FAILED")
            raise
        client.set_terminated(run_id, status="FINISHED")
    return run_id
