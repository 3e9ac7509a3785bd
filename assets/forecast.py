"""Forecast asset: statsforecast models and a global LightGBM chosen by backtest, MLflow champion, quantiles."""


from concurrent.futures import ThreadPoolExecutor
from time import perf_counter

import pandas as pd
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets._metadata import OWNERS, WRITER_POOL, markdown_table, table_metadata
from assets._plots import forecast_vs_actual, safe_plot, worst_forecast_items
from forecasting import DEFAULT_MODELS, forecast_demand, log_forecast_run
from forecasting.distributed import library_seconds, use_executor
from forecasting.m5 import load_series_info
from forecasting.pipeline import backtest_plan
from forecasting.registry import REGISTERED_MODEL, load_champion, log_run_model
from pipelines.resources import FeedsResource, ForecastExecutorResource, MlflowTrackingResource
from warehouse.db import replace_table

__all__ = ["forecast", "ForecastConfig", "FORECAST_ASSETS"]

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


def _covariates(con, as_of: str, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    calendar = con.execute("SELECT * FROM raw_calendar ORDER BY date").df()
    end = con.execute("SELECT max(date) FROM demand_history").fetchall()[0][0]
    origin = pd.Timestamp(as_of) if as_of else pd.Timestamp(end)
    lo = (origin - pd.Timedelta(days=_PRICE_LOOKBACK_DAYS)).date()
    hi = (origin + pd.Timedelta(days=horizon)).date()
    prices = con.execute(
        "SELECT p.store_id, p.item_id, p.wm_yr_wk, p.sell_price FROM raw_prices p "
        "WHERE p.wm_yr_wk IN (SELECT DISTINCT wm_yr_wk FROM raw_calendar WHERE date BETWEEN ? AND ?)",
        [lo, hi],
    ).df()
    return calendar, prices


@asset(group_name="forecast", owners=OWNERS, pool=WRITER_POOL, kinds={"duckdb", "lightgbm", "statsforecast", "mlflow"},
       deps=["demand_history"],
       description="Daily demand forecast per store x item: mean `yhat` and calibrated quantiles `yhat_qNN`; per "
                   "store x department the backtest picks statsforecast, the global LightGBM (MLflow champion) or "
                   "their mean; falls back to seasonal naive with a warning if the champion fails or regresses.")
def forecast(context: AssetExecutionContext, config: ForecastConfig, duckdb: DuckDBResource,
             mlflow_tracking: MlflowTrackingResource, feeds: FeedsResource,
             forecast_executor: ForecastExecutorResource) -> MaterializeResult:
    started = perf_counter()
    # Opening the MLflow store (import, schema check) takes seconds: it runs in a thread while the
    # history loads and the statistical backtest runs; the forecast waits for it only to use the champion.
    loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="champion")
    pending = loader.submit(load_champion, mlflow_tracking.tracking_uri) if (
        config.global_model and config.use_champion) else None
    loader.shutdown(wait=False)
    with duckdb.get_connection() as con:
        history = con.execute(
            "SELECT store_id, item_id, dept_id, cat_id, state_id, date, units FROM demand_history"
        ).df()
        calendar, prices = _covariates(con, config.as_of, config.horizon) if config.global_model else (None, None)
    info = load_series_info(feeds.paths().calendar.parent, history) if config.global_model else None
    as_of = pd.Timestamp(config.as_of) if config.as_of else None
    # an early as-of leaves a short history: hold out at most half of it, so the backtest can still train
    n_days = history.loc[history["date"] <= (as_of or history["date"].max()), "date"].nunique()
    holdout_days, n_windows = backtest_plan(n_days, config.holdout_days, config.backtest_windows)
    if (holdout_days, n_windows) != (config.holdout_days, config.backtest_windows):
        context.log.warning("forecast: %s days of history up to as-of; backtest shortened from %s days in %s windows "
                            "to %s days in %s windows", n_days, config.holdout_days, config.backtest_windows,
                            holdout_days, n_windows)
    with use_executor(forecast_executor.config()):
        run = forecast_demand(history, horizon=config.horizon, models=config.models, holdout_days=holdout_days,
                              n_windows=n_windows, as_of=as_of, global_model=config.global_model, calendar=calendar,
                              prices=prices, series_info=info, champion=pending.result if pending else None,
                              regression_threshold=config.regression_threshold)
        statsforecast_seconds = library_seconds("statsforecast")
        lightgbm_seconds = library_seconds("lightgbm")
    champion = pending.result() if pending else None
    bt = run.backtest
    holdout = bt.predictions[["store_id", "item_id", "date", "units"]].copy()
    with duckdb.get_connection() as con:
        rows = replace_table(con, "forecast", run.forecast)
        replace_table(con, "forecast_backtest", bt.metrics.reset_index(drop=False))
        # The deployed forecast's backtest, for the drift check.
        holdout["yhat"] = bt.predictions["deployed"].to_numpy()
        replace_table(con, "forecast_holdout", holdout)
    run_id = log_forecast_run(run, tracking_uri=mlflow_tracking.tracking_uri, experiment=mlflow_tracking.experiment,
                              artifact_root=mlflow_tracking.artifact_root, run_name=context.run_id[:8])
    outcome = run.global_outcome
    # The run's newly fitted model is logged every time; it becomes the champion only if it won.
    new_version = log_run_model(mlflow_tracking.tracking_uri, run_id, outcome, use_champion=config.use_champion)
    version = new_version if outcome is not None and outcome.promote else None
    champion_version = version if version and config.use_champion else (champion.version if champion else None)
    for w in run.warnings:
        context.log.warning("forecast: %s", w)
    context.log.info("forecast: %s rows, models %s, global model %s", rows, run.params["models_used"],
                     outcome.source if outcome else "off")
    warning_md = "\n".join(f"- **WARNING** {w}" for w in run.warnings) or "none"
    # only the columns the plots read: they index and group the frame (~0.4M rows at full M5)
    drawn = bt.predictions[list(dict.fromkeys(["store_id", "item_id", "date", "units", bt.best_model,
                                               "seasonal_naive"]))]
    vs_actual = safe_plot(lambda: forecast_vs_actual(drawn, bt.best_model))
    worst = safe_plot(lambda: markdown_table(worst_forecast_items(drawn, bt.best_model)))
    # The whole step against the bare library calls inside it (statsforecast forecast and
    # cross_validation, LightGBM train and predict): what the pipeline costs on top.
    stage_seconds = perf_counter() - started
    lib_seconds = statsforecast_seconds + lightgbm_seconds
    return MaterializeResult(
        metadata=table_metadata(
            rows,
            model=bt.best_model,
            models_used=MetadataValue.json(run.params["models_used"]),
            global_model_source=outcome.source if outcome else "off",
            fallback_seasonal_naive=bool(outcome is not None and outcome.source == "seasonal_naive"),
            warnings=MetadataValue.md(warning_md),
            holdout_days=holdout_days,
            champion=f"{REGISTERED_MODEL}@champion v{champion_version}" if champion_version else "none",
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
                                                "total": round(lib_seconds, 2)}),
            stage_to_library_ratio=round(stage_seconds / lib_seconds, 3) if lib_seconds > 0 else float("nan"),
            backtest_windows=MetadataValue.json({"origins": run.params["backtest_cutoffs"],
                                                 "days_per_window": run.params["backtest_step_days"]}),
            champion_scoring=outcome.champion_scoring if outcome else "none",
            new_model_version=f"{REGISTERED_MODEL} v{new_version}" if new_version else "none",
            mlflow_run_id=run_id,
            mlflow_tracking_uri=mlflow_tracking.tracking_uri,
            forecast_vs_actual=vs_actual,
            worst_forecast_items=worst,
        )
    )


FORECAST_ASSETS = [forecast]
