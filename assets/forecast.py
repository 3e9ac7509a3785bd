"""Forecast assets: the registry's champion, the forecast itself, and its review (plots, MLflow run).

Three steps so the forecast step does only forecasting: ``forecast_champion`` opens the MLflow
registry (importing MLflow and checking its store take seconds) and hands the champion over as a
warehouse row; ``forecast`` backtests, chooses, forecasts and writes its tables plus a
``forecast_run`` record; ``forecast_review`` draws the plots, logs the MLflow run and registers
(and maybe promotes) the new model. An MLflow outage fails the review, never the forecast.
"""


from concurrent.futures import ThreadPoolExecutor
from time import perf_counter

import pandas as pd
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets._metadata import OWNERS, WRITER_POOL, markdown_table, table_metadata
from assets._plots import forecast_vs_actual, safe_plot, worst_forecast_items
from assets.resources import FeedsResource, ForecastExecutorResource, MlflowTrackingResource
from forecasting import DEFAULT_MODELS, DemandForecaster, LongInputs, backtest_plan, log_forecast_run
from forecasting.distributed import library_seconds, use_executor
from forecasting.long_stage import LongReport
from forecasting.m5 import M5_LAST_DAY, M5_WINDOW_START, load_series_info, series_info_sources
from forecasting.registry import Champion, champion_from_row, champion_to_row, load_champion, log_run_model
from forecasting.tracking import (
    data_source_tags,
    model_mix,
    model_mix_text,
    record_from_row,
    record_to_row,
    run_record,
)
from warehouse.db import read_table, replace_table, replace_tables, table_exists
from warehouse.queries import dataset_fingerprint, read_forecast_inputs

__all__ = ["forecast", "forecast_champion", "forecast_review", "ForecastConfig", "FORECAST_ASSETS"]

# Price weeks read before the origin: the global model's window and week-on-week change.
_PRICE_LOOKBACK_DAYS = 70


class ForecastConfig(Config):
    horizon: int = Field(28, description="Days ahead to forecast")
    as_of: str = Field("", description="Forecast origin YYYY-MM-DD; empty = last POS date")
    holdout_days: int = Field(14, description="Days held out at the end of the history to choose the model "
                                              "(all backtest windows together)")
    backtest_windows: int = Field(2, description="Rolling backtest origins: the holdout is split into this many "
                                                 "windows, each forecast by models refitted up to its origin")
    models: list[str] = Field(list(DEFAULT_MODELS), description="statsforecast models to compare")
    global_model: bool = Field(True, description="Backtest and use the global LightGBM (challenger vs champion)")
    use_champion: bool = Field(True, description="Compete with, and promote to, the MLflow registry's champion")
    regression_threshold: float = Field(
        0.05, description="Fall back to seasonal naive when the global model's holdout MASE exceeds seasonal "
                          "naive's by more than this share")
    long_history_days: int = Field(56, description="Series with at least this many days of history up to the "
                                                   "origin are also forecast by the long-history LightGBM on their "
                                                   "full history; 0 = off")
    weather: bool = Field(True, description="Let the long-history model use the store_weather mart where its "
                                            "backtest says the weather helps")


def _one_row(con, table: str) -> dict | None:
    frame = read_table(con, table)
    if frame.empty:
        return None
    return {k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].items()}


def _row_frame(row: dict) -> pd.DataFrame:
    # text columns: a column of nulls still gets a type
    return pd.DataFrame([row]).astype("string")


def _write_row(con, table: str, row: dict) -> None:
    replace_table(con, table, _row_frame(row))


def _champion_metadata(champion: Champion, registered_model: str) -> dict:
    return {"champion": f"{registered_model}@champion v{champion.version}" if champion.version else "none",
            "train_end": champion.train_end.date().isoformat() if champion.train_end is not None else "unknown",
            "error": champion.error or "none"}


@asset(group_name="forecast", owners=OWNERS, pool=WRITER_POOL, kinds={"duckdb", "mlflow"},
       description="The MLflow registry's `champion` global model, copied into the warehouse (`forecast_champion`: "
                   "version, training end, configuration, LightGBM model text) for the forecast to compete with; "
                   "no champion yet is not an error.")
def forecast_champion(context: AssetExecutionContext, duckdb: DuckDBResource,
                      mlflow_tracking: MlflowTrackingResource) -> MaterializeResult:
    champion = load_champion(mlflow_tracking.tracking_uri, name=mlflow_tracking.registered_model)
    if champion.error:
        context.log.warning("forecast_champion: champion v%s failed to load: %s", champion.version, champion.error)
    with duckdb.get_connection() as con:
        _write_row(con, "forecast_champion", champion_to_row(champion))
    return MaterializeResult(metadata=table_metadata(
        1, **_champion_metadata(champion, mlflow_tracking.registered_model),
        registered_model=mlflow_tracking.registered_model, mlflow_tracking_uri=mlflow_tracking.tracking_uri))


def _stored_champion(context: AssetExecutionContext, con, mlflow_tracking: MlflowTrackingResource) -> Champion:
    if table_exists(con, "forecast_champion"):
        row = _one_row(con, "forecast_champion")
        return champion_from_row(row) if row else Champion(None, None)
    context.log.info("forecast: no forecast_champion table yet (materialise forecast_champion); "
                     "loading the champion from the MLflow registry")
    return load_champion(mlflow_tracking.tracking_uri, name=mlflow_tracking.registered_model)


@asset(group_name="forecast", owners=OWNERS, pool=WRITER_POOL, kinds={"duckdb", "lightgbm", "statsforecast"},
       deps=["demand_history", "forecast_champion"],
       description="Daily demand forecast per store x item: mean `yhat`, calibrated quantiles `yhat_qNN` "
                   "and the daily variance the plan uses, `yhat_var`; per "
                   "store x department the backtest picks statsforecast, the global LightGBM (MLflow champion) or "
                   "their mean; falls back to seasonal naive with a warning if the champion fails or regresses.")
def forecast(context: AssetExecutionContext, config: ForecastConfig, duckdb: DuckDBResource,
             mlflow_tracking: MlflowTrackingResource, feeds: FeedsResource,
             forecast_executor: ForecastExecutorResource) -> MaterializeResult:
    started = perf_counter()
    folder = feeds.paths().calendar.parent
    with duckdb.get_connection() as con, ThreadPoolExecutor(max_workers=1, thread_name_prefix="m5-files") as pool:
        # the long-history files load while DuckDB reads the warehouse
        sources = pool.submit(series_info_sources, folder) if config.global_model else None
        frames = read_forecast_inputs(con, as_of=config.as_of, horizon=config.horizon, global_model=config.global_model,
                                      window=(M5_WINDOW_START.date(), M5_LAST_DAY.date()),
                                      price_lookback_days=_PRICE_LOOKBACK_DAYS,
                                      long_history_days=config.long_history_days or None, weather=config.weather)
        champion = _stored_champion(context, con, mlflow_tracking) if (
            config.global_model and config.use_champion) else None
    history = frames["history"]
    totals = frames.get("totals")
    info = load_series_info(folder, (totals[["store_id", "item_id", "window_units"]],
                                     int(totals["window_days"].max()) if len(totals) else 0),
                            sources=sources.result()) if sources is not None else None
    as_of = pd.Timestamp(config.as_of) if config.as_of else None
    # an early as-of or mostly new series leave a short history: hold out at most half of the median
    # series' history, so the backtest can still train on most series
    n_days = int(frames["n_days"]["n"].iloc[0])
    holdout_days, n_windows = backtest_plan(n_days, config.holdout_days, config.backtest_windows)
    if (holdout_days, n_windows) != (config.holdout_days, config.backtest_windows):
        context.log.warning("forecast: the median series has %s days of history up to as-of; backtest shortened "
                            "from %s days in %s windows "
                            "to %s days in %s windows", n_days, config.holdout_days, config.backtest_windows,
                            holdout_days, n_windows)
    with use_executor(forecast_executor.config()):
        forecaster = DemandForecaster(horizon=config.horizon, models=config.models, holdout_days=holdout_days,
                                      n_windows=n_windows, global_model=config.global_model,
                                      regression_threshold=config.regression_threshold,
                                      long_history_days=config.long_history_days or None, long_weather=config.weather)
        long_inputs = LongInputs(known=frames.get("long_known"), events=frames.get("long_events"),
                                 store_weather=frames.get("long_weather"))
        run = forecaster.forecast(history, calendar=frames.get("calendar"), prices=frames.get("prices"),
                                  series_info=info, series_attributes=frames.get("attributes"), champion=champion,
                                  long_inputs=long_inputs, as_of=as_of)
        statsforecast_seconds = library_seconds("statsforecast")
        lightgbm_seconds = library_seconds("lightgbm")
        # the long-history model's feature building and recursive forecast (its LightGBM fits count as lightgbm)
        mlforecast_seconds = library_seconds("mlforecast")
        # calls on parallel threads (the long model's two backtests) count once
        lib_seconds = library_seconds()
    bt = run.backtest
    # The deployed forecast's backtest next to seasonal naive's: the drift check and the review's plots.
    holdout = bt.predictions[["store_id", "item_id", "date", "units"]].assign(
        yhat=bt.predictions["deployed"].to_numpy(), seasonal_naive=bt.predictions["seasonal_naive"].to_numpy())
    record = {"dagster_run_id": context.run_id, "use_champion": str(config.use_champion),
              **record_to_row(run_record(run))}
    with duckdb.get_connection() as con:
        rows = replace_tables(con, {"forecast": run.forecast, "forecast_holdout": holdout,
                                    "forecast_backtest": bt.metrics.reset_index(drop=False),
                                    "forecast_run": _row_frame(record)})["forecast"]
    outcome = run.global_outcome
    # the models the forecast rows carry, by share of series: the one model name shown everywhere
    series_per_model = model_mix(run.forecast, normalize=False)
    mix = {m: n / sum(series_per_model.values()) for m, n in series_per_model.items()}
    for w in run.warnings:
        context.log.warning("forecast: %s", w)
    context.log.info("forecast: %s rows, model %s, global model %s", rows, model_mix_text(mix),
                     outcome.source if outcome else "off")
    warning_md = "\n".join(f"- **WARNING** {w}" for w in run.warnings) or "none"
    # The whole step against the bare library calls inside it (statsforecast forecast and
    # cross_validation, LightGBM train and predict): what the pipeline costs on top.
    stage_seconds = perf_counter() - started
    return MaterializeResult(
        metadata=table_metadata(
            rows,
            model=model_mix_text(mix),
            model_mix=MetadataValue.json({m: round(share, 3) for m, share in mix.items()}),
            series_per_model=MetadataValue.json({m: int(n) for m, n in series_per_model.items()}),
            best_statsforecast_model=bt.best_model,
            global_model_source=outcome.source if outcome else "off",
            fallback_seasonal_naive=bool(outcome is not None and outcome.source == "seasonal_naive"),
            warnings=MetadataValue.md(warning_md),
            holdout_days=holdout_days,
            champion=_champion_metadata(champion, mlflow_tracking.registered_model)["champion"] if champion
            else "not used",
            promote_new_model=bool(outcome is not None and outcome.promote and config.use_champion),
            backtest_mase=float(bt.metrics.loc[bt.best_model, "mase"]),
            seasonal_naive_mase=float(bt.metrics.loc["seasonal_naive", "mase"]),
            improvement_vs_seasonal_naive=float(bt.improvement_vs_seasonal_naive),
            holdout_mase=MetadataValue.json({k: round(v, 4) for k, v in (outcome.scores if outcome else {}).items()}),
            quantile_holdout_share_below=MetadataValue.json(
                {k.removeprefix("holdout_below_"): round(v, 3) for k, v in run.params.items()
                 if k.startswith("holdout_below_")}),
            backtest=markdown_table(bt.metrics.reset_index()),
            seconds=MetadataValue.json({k: round(v, 2) for k, v in run.seconds.items()}),
            executor=forecast_executor.executor,
            statsforecast_seconds=float(statsforecast_seconds),
            stage_seconds=round(stage_seconds, 2),
            library_seconds=MetadataValue.json({"statsforecast": round(statsforecast_seconds, 2),
                                                "lightgbm": round(lightgbm_seconds, 2),
                                                "mlforecast": round(mlforecast_seconds, 2),
                                                "total": round(lib_seconds, 2)}),
            stage_to_library_ratio=round(stage_seconds / lib_seconds, 3) if lib_seconds > 0 else float("nan"),
            backtest_windows=MetadataValue.json({"origins": run.params["backtest_cutoffs"],
                                                 "days_per_window": run.params["backtest_step_days"]}),
            champion_scoring=outcome.champion_scoring if outcome else "none",
            **_long_metadata(run.long_history, run.forecast),
        )
    )


def _long_metadata(report: LongReport | None, forecast_frame: pd.DataFrame) -> dict:
    """The long series' holdout comparison, the weather's worth and where each row's weather came from."""
    sources = MetadataValue.json({k: int(v) for k, v in forecast_frame["weather_source"].value_counts().items()})
    if report is None:
        return {"weather_value": "no long series", "weather_source_rows": sources}
    return {
        "weather_value": markdown_table(report.weather_table().round(4)),
        "weather_on": report.weather_on,
        "weather_stores": MetadataValue.json(list(report.weather_stores)),
        "weather_source_rows": sources,
        "long_history": MetadataValue.json({
            "series": report.n_series, "used": report.used,
            "holdout_rmse": {"long_model": round(report.rmse_long, 4), "previous": round(report.rmse_previous, 4)},
            "holdout_rmsse": {"long_model": round(report.rmsse_long, 4),
                              "previous": round(report.rmsse_previous, 4)}}),
    }


@asset(group_name="forecast", owners=OWNERS, pool=WRITER_POOL, kinds={"duckdb", "mlflow"}, deps=["forecast"],
       description="Review of the forecast: backtest holdout vs actual for the top-volume and worst series, the worst "
                   "series table, and one MLflow run (params, per-model metrics, backtest table and plot, the "
                   "forecast, the fitted global model, registered; promoted to `champion` only if it won).")
def forecast_review(context: AssetExecutionContext, duckdb: DuckDBResource, feeds: FeedsResource,
                    mlflow_tracking: MlflowTrackingResource) -> MaterializeResult:
    started = perf_counter()
    with duckdb.get_connection() as con:
        row = _one_row(con, "forecast_run")
        holdout = read_table(con, "forecast_holdout")
        forecast_frame = read_table(con, "forecast")
        fingerprint = dataset_fingerprint(con)
    if row is None:
        raise ValueError("forecast_review: table forecast_run is empty; materialise forecast first")
    record = record_from_row(row)
    use_champion = row["use_champion"] == "True"
    drawn = holdout.rename(columns={"yhat": "deployed"})
    vs_actual = safe_plot(lambda: forecast_vs_actual(drawn, "deployed"))
    worst = safe_plot(lambda: markdown_table(worst_forecast_items(drawn, "deployed")))
    source = data_source_tags(feeds.data_dir, feeds=feeds.paths().as_metadata(), fingerprint=fingerprint)
    run_id = log_forecast_run(record, forecast=forecast_frame, tracking_uri=mlflow_tracking.tracking_uri,
                              experiment=mlflow_tracking.experiment, artifact_root=mlflow_tracking.artifact_root or None,
                              run_name=str(row["dagster_run_id"])[:8],
                              tags={**source, "supplycast.registered_model": mlflow_tracking.registered_model})
    # The run's newly fitted model is logged every time; it becomes the champion only if it won.
    new_version = log_run_model(mlflow_tracking.tracking_uri, run_id, record.outcome, use_champion=use_champion,
                                name=mlflow_tracking.registered_model,
                                tags={"supplycast.data_dir": source["supplycast.data_dir"]})
    promoted = bool(new_version and record.outcome is not None and record.outcome.promote and use_champion)
    if promoted:
        champion = Champion(record.outcome.challenger, new_version, train_end=record.outcome.train_end,
                            config=record.outcome.challenger.config())
        # the warehouse copy follows the registry, so a forecast run alone competes with the new champion
        with duckdb.get_connection() as con:
            _write_row(con, "forecast_champion", champion_to_row(champion))
        context.log.info("forecast_review: %s v%s promoted to champion", mlflow_tracking.registered_model,
                         new_version)
    return MaterializeResult(metadata=table_metadata(
        len(holdout),
        mlflow_run_id=run_id,
        mlflow_tracking_uri=mlflow_tracking.tracking_uri,
        new_model_version=f"{mlflow_tracking.registered_model} v{new_version}" if new_version else "none",
        promoted_to_champion=promoted,
        data_source=MetadataValue.json({k.removeprefix("supplycast."): v for k, v in source.items()}),
        forecast_vs_actual=vs_actual,
        worst_forecast_items=worst,
        seconds=round(perf_counter() - started, 2),
    ))

FORECAST_ASSETS = [forecast_champion, forecast, forecast_review]
