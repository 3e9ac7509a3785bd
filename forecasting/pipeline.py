"""End-to-end demand forecast: validate, backtest to choose a model, refit, add quantiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from forecasting.backtest import BacktestResult, _backtest_nixtla
from forecasting.models import (
    _DS,
    _UID,
    _Y,
    DEFAULT_MODELS,
    _forecast_nixtla,
    _from_nixtla,
    _resolve_models,
    _series_bounds,
    _to_nixtla,
)
from forecasting.quantiles import estimate_dispersion, negbin_quantiles, quantile_column

__all__ = [
    "DEFAULT_QUANTILES",
    "SHORT_HISTORY_MODEL",
    "ForecastRun",
    "forecast_demand",
    "validate_history",
]

DEFAULT_QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9, 0.95)

# Label in the ``model`` column for series too short to fit, forecast by their mean.
SHORT_HISTORY_MODEL = "history_mean"

_ONE_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class ForecastRun:
    """Result of :func:`forecast_demand`.

    Attributes:
        forecast: ``id_cols, time_col, yhat, yhat_qNN..., model``; ``horizon`` rows
            per series dated ``as_of + 1 .. as_of + horizon``.
        backtest: The backtest that chose the model.
        params: Run parameters and sizes, plain Python values.
        seconds: Wall-clock seconds per stage (``prepare``, ``backtest``,
            ``refit``, ``quantiles``) plus ``total``.
    """

    forecast: pd.DataFrame
    backtest: BacktestResult
    params: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _missing_columns(history: pd.DataFrame, required: Sequence[str]) -> list[str]:
    missing = [c for c in required if c not in history.columns]
    return [f"missing column(s): {', '.join(missing)}"] if missing else []


def _null_rows(data: pd.DataFrame, cols: Sequence[str], *, time_col: str) -> list[str]:
    counts = data[list(cols)].isna().sum()
    return [
        f"column '{c}': {n} {'null or unparseable' if c == time_col else 'null'} row(s)"
        for c, n in counts.items()
        if n
    ]


def _non_numeric(data: pd.DataFrame, col: str) -> list[str]:
    if pd.api.types.is_numeric_dtype(data[col]) and not pd.api.types.is_bool_dtype(data[col]):
        return []
    return [f"column '{col}': dtype {data[col].dtype} is not numeric ({len(data)} row(s))"]


def _negative_values(data: pd.DataFrame, col: str) -> list[str]:
    n = int((data[col] < 0).sum())
    return [f"column '{col}': {n} negative row(s)"] if n else []


def _duplicate_keys(codes: np.ndarray, ds: np.ndarray, key_cols: Sequence[str]) -> list[str]:
    n = int(pd.DataFrame({"id": codes, "ds": ds}).duplicated().sum())
    return [f"columns {', '.join(key_cols)}: {n} duplicate row(s)"] if n else []


def _daily_gaps(codes: np.ndarray, ds: np.ndarray, time_col: str) -> list[str]:
    order = np.lexsort((ds, codes))
    same_series = codes[order][1:] == codes[order][:-1]
    step = np.diff(ds[order])
    # A zero step is a duplicate key, reported on its own.
    n = int((same_series & (step != _ONE_DAY) & (step != np.timedelta64(0, "ns"))).sum())
    if not n:
        return []
    return [f"column '{time_col}': {n} row(s) not exactly one day after the previous row of their series"]


def _as_datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
    # ISO8601 parses date objects and ISO strings without pandas' per-element fallback.
    return pd.to_datetime(values, errors="coerce", format="ISO8601")


def _select(history: pd.DataFrame, *, id_cols: Sequence[str], time_col: str, target_col: str) -> pd.DataFrame:
    """The columns the forecast needs, with the time column parsed to datetimes."""
    data = history[[*id_cols, time_col, target_col]]
    return data.assign(**{time_col: _as_datetime(data[time_col])})


def _problems(data: pd.DataFrame, *, id_cols: Sequence[str], time_col: str, target_col: str) -> list[str]:
    key_cols = [*id_cols, time_col]
    problems = _null_rows(data, [*key_cols, target_col], time_col=time_col)
    problems += _non_numeric(data, target_col)
    if not problems:
        problems += _negative_values(data, target_col)
    if data[key_cols].isna().any().any():
        # Keys with nulls cannot be grouped or ordered; report what we have so far.
        return problems
    codes = data.groupby(list(id_cols), sort=False).ngroup().to_numpy()
    ds = data[time_col].to_numpy(dtype="datetime64[ns]")
    problems += _duplicate_keys(codes, ds, key_cols)
    problems += _daily_gaps(codes, ds, time_col)
    return problems


def validate_history(
    history: pd.DataFrame,
    *,
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
) -> list[str]:
    """Everything wrong with a demand history, as readable messages.

    Checks required columns, nulls (including unparseable dates), a numeric and
    non-negative target, duplicate ``(id, date)`` keys and gaps within a series.

    Args:
        history: Daily demand in long format.
        id_cols: Columns that together identify a series.
        time_col: Date column.
        target_col: Demand column.

    Returns:
        One message per problem, naming the column and the number of bad rows; empty
        when the history is usable.
    """
    missing = _missing_columns(history, [*id_cols, time_col, target_col])
    if missing:
        return missing
    cols = {"id_cols": id_cols, "time_col": time_col, "target_col": target_col}
    return _problems(_select(history, **cols), **cols)


def _resolve_as_of(frame: pd.DataFrame, as_of: pd.Timestamp | str | None, time_col: str) -> pd.Timestamp:
    first, last = frame[_DS].min(), frame[_DS].max()
    if as_of is None:
        return pd.Timestamp(last)
    cut = pd.Timestamp(as_of).tz_localize(None).normalize()
    # Past the data we would have to invent demand; before it there is nothing to fit.
    if not first <= cut <= last:
        raise ValueError(
            f"column '{time_col}': as_of {cut.date()} is outside the history "
            f"{pd.Timestamp(first).date()} .. {pd.Timestamp(last).date()}"
        )
    return cut


def _pad_to(frame: pd.DataFrame, end: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """Extend series that stop before ``end`` with zero demand, so all forecasts align.

    A series without rows up to ``end`` sold nothing on those days (rows are sales
    records), the same convention as Nixtla's ``fill_gaps(end='global')``.
    """
    ids, _, last = _series_bounds(frame)
    missing = ((np.datetime64(end, "ns") - last) // _ONE_DAY).astype(np.int64)
    stale = missing > 0
    if not stale.any():
        return frame, 0
    n = missing[stale]
    steps = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 1
    pad = pd.DataFrame(
        {
            _UID: np.repeat(ids[stale], n),
            _DS: np.repeat(last[stale], n) + steps * _ONE_DAY,
            _Y: 0.0,
        }
    )
    padded = pd.concat([frame, pad], ignore_index=True)
    order = np.lexsort((padded[_DS].to_numpy(), padded[_UID].to_numpy()))
    return padded.iloc[order].reset_index(drop=True), int(stale.sum())


def _raise_on(problems: list[str]) -> None:
    if problems:
        raise ValueError("invalid demand history: " + "; ".join(problems))


def _check_args(horizon: int, models: Sequence[str], quantiles: Sequence[float]) -> list[str]:
    """Fail fast on bad arguments; returns the quantile column names."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    _resolve_models(models)
    names = [quantile_column(q) for q in quantiles]
    if len(set(names)) != len(names):
        raise ValueError(f"quantiles {list(quantiles)} repeat a level")
    return names


def forecast_demand(
    history: pd.DataFrame,
    *,
    horizon: int = 28,
    models: Sequence[str] = DEFAULT_MODELS,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    holdout_days: int = 14,
    as_of: pd.Timestamp | None = None,
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
    n_jobs: int = 2,
    min_history: int = 14,
) -> ForecastRun:
    """Forecast daily demand per series with the model that wins a holdout backtest.

    Cuts the history at ``as_of``, backtests ``models`` (plus seasonal naive and an
    equal-weight ensemble) on the last ``holdout_days`` days, refits the winner on
    the whole cut history, and adds negative-binomial quantiles with a per-series
    dispersion. Series with fewer than ``min_history`` days are forecast by their
    mean; series that stop before ``as_of`` are padded with zero demand.

    Args:
        history: Daily demand, one row per series and day; extra columns are ignored.
        horizon: Days to forecast after ``as_of``.
        models: Candidate names from ``MODEL_NAMES``.
        quantiles: Quantile levels, each a whole percentage (named ``yhat_qNN``).
        holdout_days: Days held out to choose the model.
        as_of: Last day of history to use (inclusive); defaults to the last date.
        id_cols: Columns that together identify a series.
        time_col: Date column.
        target_col: Demand column.
        n_jobs: Worker processes for statsforecast.
        min_history: Fewer days than this and a series gets its mean.

    Returns:
        The forecast, the backtest, the parameters and per-stage timings.

    Raises:
        ValueError: If the history is invalid (the message names each bad column and
            its number of bad rows) or an argument is out of range.
    """
    t_start = perf_counter()
    seconds: dict[str, float] = {}
    id_cols = list(id_cols)
    q_names = _check_args(horizon, models, quantiles)

    cols = {"id_cols": id_cols, "time_col": time_col, "target_col": target_col}
    _raise_on(_missing_columns(history, [*id_cols, time_col, target_col]))
    data = _select(history, **cols)
    _raise_on(_problems(data, **cols))
    frame, keys = _to_nixtla(data, id_cols=id_cols, time_col=time_col, target_col=target_col)
    cut = _resolve_as_of(frame, as_of, time_col)
    frame = frame[frame[_DS] <= cut].reset_index(drop=True)
    frame, n_padded = _pad_to(frame, cut)
    seconds["prepare"] = perf_counter() - t_start

    t = perf_counter()
    bt = _backtest_nixtla(
        frame,
        keys,
        models=models,
        holdout_days=holdout_days,
        id_cols=id_cols,
        time_col=time_col,
        target_col=target_col,
        n_jobs=n_jobs,
        min_history=min_history,
        interval=(0.1, 0.9),
    )
    seconds["backtest"] = perf_counter() - t

    t = perf_counter()
    members = list(bt.best_members)
    fc = _forecast_nixtla(frame, models=members, horizon=horizon, n_jobs=n_jobs, min_history=min_history)
    fc["yhat"] = fc[members].to_numpy().mean(axis=1)
    seconds["refit"] = perf_counter() - t

    t = perf_counter()
    dispersion = estimate_dispersion(frame, min_obs=min_history)
    qs = negbin_quantiles(fc["yhat"].to_numpy(), fc[_UID].map(dispersion).to_numpy(), quantiles)
    for q, name in zip(quantiles, q_names, strict=True):
        fc[name] = qs[float(q)]
    ids, counts, _ = _series_bounds(frame)
    is_short = pd.Series(counts < min_history, index=ids)
    fc["model"] = np.where(fc[_UID].map(is_short).to_numpy(), SHORT_HISTORY_MODEL, bt.best_model)
    forecast = _from_nixtla(
        fc, keys, id_cols=id_cols, time_col=time_col, value_cols=["yhat", *q_names, "model"]
    )
    seconds["quantiles"] = perf_counter() - t
    seconds["total"] = perf_counter() - t_start

    params = {
        "horizon": int(horizon),
        "models": list(models),
        "quantiles": [float(q) for q in quantiles],
        "holdout_days": int(holdout_days),
        "as_of": cut.date().isoformat(),
        "backtest_cutoff": bt.cutoff.date().isoformat(),
        "min_history": int(min_history),
        "n_jobs": int(n_jobs),
        "chosen_model": bt.best_model,
        "ensemble_members": list(bt.ensemble_members),
        "n_series": len(ids),
        "n_history_rows": len(frame),
        "n_series_short_history": int(is_short.sum()),
        "n_series_zero_padded": n_padded,
        "backtest_n_series": bt.n_series,
        "backtest_n_series_mase": bt.n_series_mase,
        "pooled_dispersion_median": float(dispersion.median()) if len(dispersion) else float("nan"),
    }
    return ForecastRun(forecast=forecast, backtest=bt, params=params, seconds=seconds)
