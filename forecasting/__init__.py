"""Demand forecasting for supplycast: statsforecast batch models, a global LightGBM, backtest, quantiles.

The front door is :class:`DemandForecaster`: settings on the object, data to its
:meth:`~DemandForecaster.forecast`, which returns a :class:`ForecastRun`. Pure
pandas/numpy/statsforecast/LightGBM; never imports dagster. MLflow is imported lazily by
:func:`log_forecast_run` and the registry functions only.
"""

from forecasting.backtest import ENSEMBLE, BacktestResult, backtest, coverage_column
from forecasting.drift import DriftReport, drift_report
from forecasting.forecaster import (
    DEFAULT_QUANTILES,
    LONG_HISTORY_MODEL,
    SHORT_HISTORY_MODEL,
    DemandForecaster,
    ForecastRun,
    backtest_plan,
)
from forecasting.history import validate_history
from forecasting.lgbm import GlobalLGBM
from forecasting.long_stage import LongInputs
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
from forecasting.quantiles import estimate_dispersion, level_variance, negbin_quantiles, quantile_column
from forecasting.tracking import log_forecast_run
from forecasting.wrmsse import load_m5_scales, load_m5_weights, wrmsse

__all__ = [
    "DriftReport",
    "GlobalLGBM",
    "LongInputs",
    "LONG_HISTORY_MODEL",
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
    "DemandForecaster",
    "ForecastRun",
    "backtest",
    "backtest_plan",
    "bias",
    "coverage_column",
    "estimate_dispersion",
    "fit_predict",
    "interval_coverage",
    "level_variance",
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
