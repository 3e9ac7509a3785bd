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

from forecasting.distributed import _in_order, _sorted_by, run_statsforecast

__all__ = ["MODEL_NAMES", "DEFAULT_MODELS", "BASELINE_MODEL", "fit_predict"]

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

# auto_ets is left out: it fits an optimiser per series (~20 s per 3k series here).
DEFAULT_MODELS: tuple[str, ...] = (
    "seasonal_naive",
    "croston_sba",
    "tsb",
    "adida",
    "imapa",
    "window_average",
)

BASELINE_MODEL = "seasonal_naive"

_UID, _DS, _Y = "unique_id", "ds", "y"


def _resolve_models(models: Sequence[str]) -> list[str]:
    if isinstance(models, str):
        models = [models]
    names = list(dict.fromkeys(models))
    unknown = [m for m in names if m not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; known: {sorted(MODEL_NAMES)}")
    if not names:
        raise ValueError("at least one model is required")
    return names


def _series_order(history: pd.DataFrame, id_cols: Sequence[str], time_col: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer series codes (in sorted id order), timestamps and the row order by series then day."""
    ds = pd.to_datetime(history[time_col]).to_numpy(dtype="datetime64[ns]")
    codes = _presorted_codes(history, id_cols, ds)
    if codes is not None:
        return codes, ds, np.arange(len(ds))
    codes = history.groupby(list(id_cols), sort=True, dropna=False).ngroup().to_numpy()
    return codes, ds, np.lexsort((ds, codes))


def _presorted_codes(history: pd.DataFrame, id_cols: Sequence[str], ds: np.ndarray) -> np.ndarray | None:
    """The series codes of rows that already come sorted by id then day (a warehouse mart's order), else None.

    Two comparisons of neighbouring rows replace grouping and sorting 10^5-10^6 rows; the codes
    are the ones ``groupby(sort=True).ngroup()`` gives, and the identity is the order ``lexsort`` gives.
    """
    n = len(ds)
    if n < 2:
        return None
    values = [history[c].to_numpy() for c in id_cols]
    changed = np.zeros(n, dtype=bool)
    changed[0] = True
    for v in values:
        changed[1:] |= v[1:] != v[:-1]
    starts = np.flatnonzero(changed)
    try:
        # each series' key strictly above the previous one: no series comes back later
        keys_in_order = _in_order([v[starts] for v in values], strict=True)
    except TypeError:  # ids of mixed types have no order here; grouping decides
        return None
    if not keys_in_order or (np.diff(ds)[~changed[1:]] < np.timedelta64(0, "ns")).any():
        return None
    return np.cumsum(changed) - 1


def _to_nixtla(
    history: pd.DataFrame,
    *,
    id_cols: Sequence[str],
    time_col: str,
    target_col: str,
    order: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long frame with integer ``unique_id`` plus the table that maps codes back to ids.

    ``order`` is :func:`_series_order` of ``history`` when the caller already has it.
    """
    id_cols = list(id_cols)
    # Integer codes instead of joined strings: cheaper to hash, sort and ship to workers,
    # and no separator can collide with an id value.
    codes, ds, order_ = order if order is not None else _series_order(history, id_cols, time_col)
    frame = pd.DataFrame(
        {
            _UID: codes[order_],
            _DS: ds[order_],
            _Y: history[target_col].to_numpy(dtype=np.float64)[order_],
        }
    )
    first_rows = order_[np.r_[True, frame[_UID].to_numpy()[1:] != frame[_UID].to_numpy()[:-1]]]
    keys = history[id_cols].iloc[first_rows].reset_index(drop=True)
    return frame, keys


def _decode_ids(codes: np.ndarray, keys: pd.DataFrame) -> pd.DataFrame:
    """Original id columns for integer ``unique_id`` codes (a positional take)."""
    return keys.iloc[np.asarray(codes)].reset_index(drop=True)


def _from_nixtla(
    frame: pd.DataFrame,
    keys: pd.DataFrame,
    *,
    id_cols: Sequence[str],
    time_col: str,
    value_cols: Sequence[str],
) -> pd.DataFrame:
    codes = frame[_UID].to_numpy()
    # one frame built from arrays: no renamed copy, no concat, no reordering copy
    return pd.DataFrame({**{c: keys[c].to_numpy()[codes] for c in id_cols}, time_col: frame[_DS].to_numpy(),
                         **{c: frame[c].to_numpy() for c in value_cols}})


def _series_bounds(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique ids, row counts and last timestamps of a frame sorted by ``unique_id, ds``."""
    uid = frame[_UID].to_numpy()
    starts = np.flatnonzero(np.r_[True, uid[1:] != uid[:-1]])
    ends = np.r_[starts[1:], len(uid)] - 1
    return uid[starts], ends - starts + 1, frame[_DS].to_numpy()[ends]


def _mean_forecast(frame: pd.DataFrame, names: Sequence[str], horizon: int) -> pd.DataFrame:
    """Flat historical-mean forecast under every model name (for too-short series)."""
    ids, counts, last = _series_bounds(frame)
    means = np.add.reduceat(frame[_Y].to_numpy(), np.r_[0, np.cumsum(counts)[:-1]]) / counts
    steps = np.tile(np.arange(1, horizon + 1), len(ids)).astype("timedelta64[D]")
    out = pd.DataFrame(
        {
            _UID: np.repeat(ids, horizon),
            _DS: np.repeat(last, horizon) + steps,
        }
    )
    for name in names:
        out[name] = np.repeat(means, horizon)
    return out


def _forecast_nixtla(
    frame: pd.DataFrame,
    *,
    models: Sequence[str],
    horizon: int,
    n_jobs: int,
    min_history: int,
) -> pd.DataFrame:
    """Forecast a sorted ``unique_id, ds, y`` frame; one column per model name."""
    names = _resolve_models(models)
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    ids, counts, _ = _series_bounds(frame)
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
        return pd.DataFrame({_UID: [], _DS: pd.to_datetime([]), **{n: [] for n in names}})
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out = _sorted_by(out, [_UID, _DS])
    out[_DS] = out[_DS].astype("datetime64[ns]")
    # Demand cannot be negative; trend/ETS models can dip below zero on sparse series.
    out[names] = np.clip(out[names].to_numpy(dtype=np.float64), 0.0, None)
    return out[[_UID, _DS, *names]]


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
    frame, keys = _to_nixtla(history, id_cols=id_cols, time_col=time_col, target_col=target_col)
    names = _resolve_models(models)
    fc = _forecast_nixtla(frame, models=names, horizon=horizon, n_jobs=n_jobs, min_history=min_history)
    return _from_nixtla(fc, keys, id_cols=id_cols, time_col=time_col, value_cols=names)
