"""Named statsforecast models and one batch fit-and-forecast over many series."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    AutoETS,
    CrostonSBA,
    HistoricAverage,
    SeasonalNaive,
    WindowAverage,
)

from forecasting.distributed import run_statsforecast
from forecasting.frames import DS, UID, Y, from_nixtla, series_bounds, sorted_by, to_nixtla

__all__ = ["MODEL_NAMES", "DEFAULT_MODELS", "BASELINE_MODEL", "resolve_models", "forecast_nixtla", "fit_predict"]

# The alias is the friendly name, so statsforecast's output columns need no renaming.
MODEL_NAMES: dict[str, Callable[[], Any]] = {
    "seasonal_naive": partial(SeasonalNaive, season_length=7, alias="seasonal_naive"),
    "croston_sba": partial(CrostonSBA, alias="croston_sba"),
    "tsb": partial(TSB, alpha_d=0.2, alpha_p=0.2, alias="tsb"),
    "adida": partial(ADIDA, alias="adida"),
    "imapa": partial(IMAPA, alias="imapa"),
    "window_average": partial(WindowAverage, window_size=7, alias="window_average"),
    "auto_ets": partial(AutoETS, season_length=7, alias="auto_ets"),
}

# auto_ets is left out: it fits an optimiser per series, far slower than the others.
DEFAULT_MODELS: tuple[str, ...] = (
    "seasonal_naive",
    "croston_sba",
    "tsb",
    "adida",
    "imapa",
    "window_average",
)

BASELINE_MODEL = "seasonal_naive"


def resolve_models(models: Sequence[str]) -> list[str]:
    """Known model names, duplicates dropped, in the order given.

    Args:
        models: Names from :data:`MODEL_NAMES` (one name alone is accepted too).

    Returns:
        The names.

    Raises:
        ValueError: On an unknown name or none at all.
    """
    if isinstance(models, str):
        models = [models]
    names = list(dict.fromkeys(models))
    unknown = [m for m in names if m not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; known: {sorted(MODEL_NAMES)}")
    if not names:
        raise ValueError("at least one model is required")
    return names


def _mean_forecast(frame: pd.DataFrame, names: Sequence[str], horizon: int) -> pd.DataFrame:
    """Flat historical-mean forecast under every model name (for too-short series)."""
    ids, counts, last = series_bounds(frame)
    means = np.add.reduceat(frame[Y].to_numpy(), np.r_[0, np.cumsum(counts)[:-1]]) / counts
    steps = np.tile(np.arange(1, horizon + 1), len(ids)).astype("timedelta64[D]")
    out = pd.DataFrame(
        {
            UID: np.repeat(ids, horizon),
            DS: np.repeat(last, horizon) + steps,
        }
    )
    for name in names:
        out[name] = np.repeat(means, horizon)
    return out


def forecast_nixtla(
    frame: pd.DataFrame,
    *,
    models: Sequence[str],
    horizon: int,
    n_jobs: int,
    min_history: int,
) -> pd.DataFrame:
    """Forecast a sorted ``unique_id, ds, y`` frame; one column per model name.

    Args:
        frame: Coded frame (:func:`forecasting.frames.to_nixtla`), sorted by series then day.
        models: Names from :data:`MODEL_NAMES`.
        horizon: Days after each series' last day.
        n_jobs: Worker processes for statsforecast.
        min_history: Series with fewer rows get their mean from every model.

    Returns:
        ``unique_id, ds`` and one non-negative column per model, sorted by series then day.
    """
    names = resolve_models(models)
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    ids, counts, _ = series_bounds(frame)
    is_short = np.repeat(counts < max(min_history, 1), counts)
    parts = []
    if (~is_short).any():
        sf = StatsForecast(
            models=[MODEL_NAMES[n]() for n in names],
            freq="D",
            n_jobs=n_jobs,
            # A model that raises on one odd series should not sink the whole batch.
            fallback_model=HistoricAverage(),
        )
        parts.append(run_statsforecast(sf, frame[~is_short], horizon))
    if is_short.any():
        parts.append(_mean_forecast(frame[is_short], names, horizon))
    if not parts:
        return pd.DataFrame({UID: [], DS: pd.to_datetime([]), **{n: [] for n in names}})
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out = sorted_by(out, [UID, DS])
    out[DS] = out[DS].astype("datetime64[ns]")
    # Demand cannot be negative; trend/ETS models can dip below zero on sparse series.
    out[names] = np.clip(out[names].to_numpy(dtype=np.float64), 0.0, None)
    return out[[UID, DS, *names]]


def fit_predict(
    history: pd.DataFrame,
    *,
    models: Sequence[str],
    horizon: int,
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
    n_jobs: int = 2,
    min_history: int = 14,
) -> pd.DataFrame:
    """Fit every named model on every series and forecast ``horizon`` days ahead.

    Series with fewer than ``min_history`` observations get their historical mean from
    every model instead of a fit on too little data.

    Args:
        history: Daily demand in long format, one row per series and day, no gaps.
        models: Names from :data:`MODEL_NAMES`.
        horizon: Days to forecast after each series' last date.
        id_cols: Columns that together identify a series.
        time_col: Date column.
        target_col: Demand column.
        n_jobs: Worker processes for statsforecast.
        min_history: Minimum observations for a series to be fitted.

    Returns:
        Long frame ``id_cols + [time_col] + models``, non-negative, sorted by id and date.
    """
    frame, keys = to_nixtla(history, id_cols=id_cols, time_col=time_col, target_col=target_col)
    names = resolve_models(models)
    fc = forecast_nixtla(frame, models=names, horizon=horizon, n_jobs=n_jobs, min_history=min_history)
    return from_nixtla(fc, keys, id_cols=id_cols, time_col=time_col, value_cols=names)
