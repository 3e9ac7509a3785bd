"""Drift check on the forecast: recent inputs and forecast error against the training window."""


from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check
from dagster_duckdb import DuckDBResource

from assets._metadata import WRITER_POOL, for_people
from assets.forecast import forecast
from forecasting.drift import drift_report
from warehouse.queries import drift_inputs

__all__ = ["FORECAST_CHECKS", "forecast_drift"]


@asset_check(asset=forecast, name="forecast_drift", pool=WRITER_POOL, blocking=False,
             description="Compares the last 7 days of demand and prices (PSI, level ratio) and the deployed model's "
                         "most recent backtest error with the training window; fails past the thresholds.")
def forecast_drift(duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        history, holdout = drift_inputs(con)
    report = drift_report(history, holdout)
    return AssetCheckResult(
        passed=report.passed,
        severity=AssetCheckSeverity.WARN,
        description="; ".join(report.messages) or "no drift past the thresholds",
        metadata={
            **{k: MetadataValue.float(for_people(float(v), k)) for k, v in report.figures.items()},
            "thresholds": MetadataValue.json(report.thresholds),
        },
    )


FORECAST_CHECKS = [forecast_drift]
