"""Forecast asset: statsforecast models chosen by backtest, quantiles, one MLflow run per materialisation."""


import pandas as pd
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets._metadata import OWNERS, markdown_table, table_metadata
from forecasting import DEFAULT_MODELS, forecast_demand, log_forecast_run
from forecasting.distributed import library_seconds, use_executor
from pipelines.resources import ForecastExecutorResource, MlflowTrackingResource
from warehouse.db import replace_table

__all__ = ["forecast", "ForecastConfig", "FORECAST_ASSETS"]


class ForecastConfig(Config):
    horizon: int = Field(28, description="Days ahead to forecast")
    as_of: str = Field("", description="Forecast origin YYYY-MM-DD; empty = last POS date")
    holdout_days: int = Field(14, description="Days held out at the end of the history to choose the model")
    models: list[str] = Field(list(DEFAULT_MODELS), description="statsforecast models to compare")


@asset(group_name="forecast", owners=OWNERS, kinds={"duckdb", "statsforecast", "mlflow"}, deps=["demand_history"],
       description="Daily demand forecast per store x item: mean `yhat` and quantiles `yhat_qNN`; the model is "
                   "chosen by a holdout backtest against seasonal naive; logged to MLflow.")
def forecast(context: AssetExecutionContext, config: ForecastConfig, duckdb: DuckDBResource,
             mlflow_tracking: MlflowTrackingResource, forecast_executor: ForecastExecutorResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        history = con.execute("SELECT store_id, item_id, date, units FROM demand_history").df()
    as_of = pd.Timestamp(config.as_of) if config.as_of else None
    with use_executor(forecast_executor.config()):
        run = forecast_demand(history, horizon=config.horizon, models=config.models,
                              holdout_days=config.holdout_days, as_of=as_of)
        statsforecast_seconds = library_seconds()
    with duckdb.get_connection() as con:
        rows = replace_table(con, "forecast", run.forecast)
        replace_table(con, "forecast_backtest", run.backtest.metrics.reset_index(drop=False))
    run_id = log_forecast_run(run, tracking_uri=mlflow_tracking.tracking_uri, experiment=mlflow_tracking.experiment,
                              artifact_root=mlflow_tracking.artifact_root, run_name=context.run_id[:8])
    bt = run.backtest
    context.log.info("forecast: %s rows, model %s, backtest MASE improvement vs seasonal naive %.1f%%",
                     rows, bt.best_model, 100 * bt.improvement_vs_seasonal_naive)
    return MaterializeResult(
        metadata=table_metadata(
            rows,
            model=bt.best_model,
            backtest_mase=float(bt.metrics.loc[bt.best_model, "mase"]),
            seasonal_naive_mase=float(bt.metrics.loc["seasonal_naive", "mase"]),
            improvement_vs_seasonal_naive=float(bt.improvement_vs_seasonal_naive),
            backtest=markdown_table(bt.metrics.reset_index()),
            seconds=MetadataValue.json({k: round(v, 2) for k, v in run.seconds.items()}),
            executor=forecast_executor.executor,
            statsforecast_seconds=float(statsforecast_seconds),
            mlflow_run_id=run_id,
            mlflow_tracking_uri=mlflow_tracking.tracking_uri,
        )
    )


FORECAST_ASSETS = [forecast]
