"""Demand forecasting for supplycast: statsforecast batch models, backtest, quantiles.

Pure pandas/numpy/statsforecast; never imports dagster. MLflow is imported lazily by
:func:`log_forecast_run` only.
"""

from forecasting.backtest import ENSEMBLE, BacktestResult, backtest, coverage_column
from forecasting.drift import DriftReport, drift_report
from forecasting.lgbm import GlobalLGBM
from forecasting.metrics import (
    bias,
    interval_coverage,
    mae,
    mase,
    per_model_metrics,
    rmse,
    seasonal_scale,
    wmae,
)
from forecasting.models import BASELINE_MODEL, DEFAULT_MODELS, MODEL_NAMES, fit_predict
from forecasting.pipeline import (
    DEFAULT_QUANTILES,
    SHORT_HISTORY_MODEL,
    ForecastRun,
    forecast_demand,
    validate_history,
)
from forecasting.quantiles import estimate_dispersion, negbin_quantiles, quantile_column
from forecasting.tracking import log_forecast_run
from forecasting.wrmsse import load_m5_scales, load_m5_weights, wrmsse

__all__ = [
    "DriftReport",
    "GlobalLGBM",
    "drift_report",
    "load_m5_scales",
    "load_m5_weights",
    "wmae",
    "wrmsse",
    "BASELINE_MODEL",
    "DEFAULT_MODELS",
    "DEFAULT_QUANTILES",
    "ENSEMBLE",
    "MODEL_NAMES",
    "SHORT_HISTORY_MODEL",
    "BacktestResult",
    "ForecastRun",
    "backtest",
    "bias",
    "coverage_column",
    "estimate_dispersion",
    "fit_predict",
    "forecast_demand",
    "interval_coverage",
    "log_forecast_run",
    "mae",
    "mase",
    "negbin_quantiles",
    "per_model_metrics",
    "quantile_column",
    "rmse",
    "seasonal_scale",
    "validate_history",
]
