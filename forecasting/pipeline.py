"""End-to-end demand forecast: validate, backtest to choose a model, refit, add quantiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from forecasting.backtest import BacktestResult, _backtest_nixtla, coverage_column
from forecasting.features import panel_from_codes
from forecasting.global_forecast import GlobalOutcome, run_global, to_long
from forecasting.lgbm import GlobalLGBM
from forecasting.metrics import per_model_metrics
from forecasting.models import (
    _DS,
    _UID,
    _Y,
    DEFAULT_MODELS,
    _forecast_nixtla,
    _resolve_models,
    _series_bounds,
    _series_order,
    _to_nixtla,
)
from forecasting.quantiles import (
    calibrate_levels,
    estimate_dispersion,
    interval_coverage_negbin,
    negbin_quantiles,
    quantile_column,
    share_below_quantile,
)
from forecasting.registry import Champion
from forecasting.selection import apply_choice, choose_per_segment

__all__ = [
    "DEFAULT_QUANTILES",
    "SHORT_HISTORY_MODEL",
    "GLOBAL_MODEL",
    "BLEND_MODEL",
    "ForecastRun",
    "backtest_plan",
    "forecast_demand",
    "validate_history",
]

DEFAULT_QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9, 0.95)

# Label in the ``model`` column for series too short to fit, forecast by their mean.
SHORT_HISTORY_MODEL = "history_mean"

GLOBAL_MODEL = "lightgbm"
BLEND_MODEL = "blend"  # mean of the global model and the best statsforecast candidate

_ONE_DAY = np.timedelta64(1, "D")
_HIERARCHY = ("dept_id", "cat_id", "state_id")


@dataclass(frozen=True)
class ForecastRun:
    """Result of :func:`forecast_demand`.

    Attributes:
        forecast: ``id_cols, time_col, yhat, yhat_qNN..., model``; ``horizon`` rows
            per series dated ``as_of + 1 .. as_of + horizon``.
        backtest: The backtest that chose the model.
        params: Run parameters and sizes, plain Python values.
        seconds: Wall-clock seconds per stage (``prepare``, ``backtest``,
            ``global``, ``refit``, ``quantiles``) plus ``total``.
        global_outcome: Challenger/champion outcome of the global model (None when the
            global model is off or the history is too short for it).
        segment_choice: Per segment (``segment`` label) the candidate the backtest chose.
        warnings: Fallbacks and failures to surface to the user.
    """

    forecast: pd.DataFrame
    backtest: BacktestResult
    params: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    global_outcome: GlobalOutcome | None = None
    segment_choice: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)


def _missing_columns(history: pd.DataFrame, required: Sequence[str]) -> list[str]:
    missing = [c for c in required if c not in history.columns]
    return [f"missing column(s): {', '.join(missing)}"] if missing else []


def _null_rows(counts: pd.Series, *, time_col: str) -> list[str]:
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


def _key_problems(codes: np.ndarray, ds: np.ndarray, order: np.ndarray, key_cols: Sequence[str],
                  time_col: str) -> list[str]:
    """Duplicate ``(series, day)`` keys and rows not one day after their predecessor, from one sort."""
    same_series = codes[order][1:] == codes[order][:-1]
    step = np.diff(ds[order])
    problems = []
    n_dup = int((same_series & (step == np.timedelta64(0, "ns"))).sum())
    if n_dup:
        problems.append(f"columns {', '.join(key_cols)}: {n_dup} duplicate row(s)")
    # A zero step is a duplicate key, reported above.
    n_gap = int((same_series & (step != _ONE_DAY) & (step != np.timedelta64(0, "ns"))).sum())
    if n_gap:
        problems.append(f"column '{time_col}': {n_gap} row(s) not exactly one day after the previous row of their series")
    return problems


def _as_datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
    # ISO8601 parses date objects and ISO strings without pandas' per-element fallback.
    return pd.to_datetime(values, errors="coerce", format="ISO8601")


def _select(history: pd.DataFrame, *, id_cols: Sequence[str], time_col: str, target_col: str) -> pd.DataFrame:
    """The columns the forecast needs, with the time column parsed to datetimes."""
    data = history[[*id_cols, time_col, target_col]]
    times = data[time_col]
    parsed = _as_datetime(times)
    # already datetimes (a warehouse read): the selection is the frame, no second copy
    return data if parsed is times else data.assign(**{time_col: parsed})


def _problems(data: pd.DataFrame, *, id_cols: Sequence[str], time_col: str,
              target_col: str) -> tuple[list[str], tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """Problems of a :func:`_select`-ed history, and its :func:`_series_order` when the keys allow one."""
    key_cols = [*id_cols, time_col]
    # per column: no sub-frame copy of every row just to count nulls
    nulls = pd.Series({c: int(data[c].isna().sum()) for c in [*key_cols, target_col]})
    problems = _null_rows(nulls, time_col=time_col)
    problems += _non_numeric(data, target_col)
    if not problems:
        problems += _negative_values(data, target_col)
    if nulls[key_cols].any():
        # Keys with nulls cannot be grouped or ordered; report what we have so far.
        return problems, None
    order = _series_order(data, id_cols, time_col)
    return problems + _key_problems(*order, key_cols, time_col), order


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
    return _problems(_select(history, **cols), **cols)[0]


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


def backtest_plan(n_days: int, holdout_days: int, n_windows: int) -> tuple[int, int]:
    """Holdout length and origins that fit ``n_days`` of history.

    At most half the history is held out, so every origin still has training days; the
    number of origins is kept where it can be and the windows shortened first (two
    3-day origins say more than one 7-day one about how a model ages).

    Args:
        n_days: Days of history up to the forecast origin.
        holdout_days: Wanted holdout (all windows).
        n_windows: Wanted origins.

    Returns:
        ``(holdout_days, n_windows)`` with the holdout a multiple of the origins.
    """
    budget = max(1, min(holdout_days, n_days // 2))
    windows = max(1, min(n_windows, budget))
    return (budget // windows) * windows, windows


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


def _segments(keys: pd.DataFrame) -> pd.Series:
    """Selection segment per series: store x department when known, else store."""
    store = keys["store_id"].astype(str) if "store_id" in keys else pd.Series("all", index=keys.index)
    if "dept_id" in keys:
        return store + "|" + keys["dept_id"].astype(str)
    if "item_id" in keys:
        # M5 item ids are <DEPT>_<n>: the department is the id without its number.
        return store + "|" + keys["item_id"].astype(str).str.rsplit("_", n=1).str[0]
    return store


def _wide(codes: np.ndarray, cols: np.ndarray, values: pd.Series | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Long values -> (series x day) matrix by series code and day position; NaN where absent."""
    out = np.full(shape, np.nan)
    ok = cols >= 0
    out[np.asarray(codes)[ok], cols[ok]] = np.asarray(values, dtype=np.float64)[ok]
    return out


def _at(matrix: np.ndarray, codes: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The matrix cells of long rows (NaN for rows outside its days)."""
    return np.where(cols >= 0, matrix[np.asarray(codes), np.clip(cols, 0, None)], np.nan)


def _with_hierarchy(keys: pd.DataFrame, history: pd.DataFrame, id_cols: list[str],
                    attributes: pd.DataFrame | None = None) -> pd.DataFrame:
    """``keys`` plus the hierarchy columns of ``attributes`` (one row per series) or, without
    it, of the history (first value per series)."""
    source = history if attributes is None else attributes
    extra = [c for c in _HIERARCHY if c in source.columns and c not in id_cols]
    out = keys[id_cols].astype(str).reset_index(drop=True)
    if not extra:
        return out
    firsts = source[[*id_cols, *extra]].drop_duplicates(id_cols).astype(str)
    return out.merge(firsts, on=id_cols, how="left")


def _add_candidates(bt: BacktestResult, candidates: dict[str, np.ndarray], *, codes: np.ndarray, cols: np.ndarray,
                    target_col: str, scale: pd.Series, interval: tuple[float, float],
                    dispersion: pd.Series) -> BacktestResult:
    """Backtest table and predictions with more candidate (series x day) matrices scored the same way."""
    preds = bt.predictions.copy()
    for name, matrix in candidates.items():
        values = _at(matrix, codes, cols)
        preds[name] = np.where(np.isfinite(values), values, preds[bt.best_model].to_numpy())
    names = list(candidates)
    scored = pd.DataFrame({_UID: codes, target_col: preds[target_col].to_numpy(),
                           **{n: preds[n].to_numpy() for n in names}})
    table = per_model_metrics(scored, models=names, target_col=target_col, scale=scale)
    disp = dispersion.reindex(codes).to_numpy()
    y = scored[target_col].to_numpy()
    table[coverage_column(interval)] = [interval_coverage_negbin(y, scored[n].to_numpy(), disp, interval)
                                        for n in names]
    metrics = pd.concat([bt.metrics, table[bt.metrics.columns]])
    return replace(bt, metrics=metrics, predictions=preds)


def forecast_demand(
    history: pd.DataFrame,
    *,
    horizon: int = 28,
    models: Sequence[str] = DEFAULT_MODELS,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    holdout_days: int = 14,
    n_windows: int = 2,
    as_of: pd.Timestamp | None = None,
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
    n_jobs: int = 2,
    min_history: int = 14,
    global_model: bool = True,
    calendar: pd.DataFrame | None = None,
    prices: pd.DataFrame | None = None,
    series_info: pd.DataFrame | None = None,
    series_attributes: pd.DataFrame | None = None,
    champion: Champion | None = None,
    regression_threshold: float = 0.05,
    model_factory: type[GlobalLGBM] = GlobalLGBM,
) -> ForecastRun:
    """Forecast daily demand per series with the models that win a rolling-origin backtest.

    Cuts the history at ``as_of`` and backtests ``models`` (plus seasonal naive and an
    equal-weight ensemble) on the last ``holdout_days`` days, split into ``n_windows``
    windows each forecast from its own origin (rolling-origin cross-validation: every
    model refitted on the history up to each origin). With ``global_model`` a global
    LightGBM (challenger, and the registry's ``champion`` if given) is backtested on the
    same origins (see :func:`forecasting.global_forecast.run_global`); then per store x
    department segment the backtest, pooled over all origins, picks the best
    statsforecast candidate, the global model or their mean. Quantiles are negative
    binomial around the mean with a per-series dispersion, their levels recalibrated on
    the backtest of all origins. Series with fewer
    than ``min_history`` days are forecast by their mean; series that stop before
    ``as_of`` are padded with zero demand. A failed or regressed champion means
    seasonal naive for every series, with the reason in ``warnings``.

    Args:
        history: Daily demand, one row per series and day; extra columns are ignored
            except ``dept_id, cat_id, state_id`` (features of the global model) when
            ``series_attributes`` is not given.
        horizon: Days to forecast after ``as_of``.
        models: Candidate names from ``MODEL_NAMES``.
        quantiles: Quantile levels, each a whole percentage (named ``yhat_qNN``).
        holdout_days: Days held out to choose the model (all windows together).
        n_windows: Backtest origins; ``holdout_days`` must be a multiple of it (each
            window is ``holdout_days / n_windows`` days).
        as_of: Last day of history to use (inclusive); defaults to the last date.
        id_cols: Columns that together identify a series.
        time_col: Date column.
        target_col: Demand column.
        n_jobs: Worker processes for statsforecast.
        min_history: Fewer days than this and a series gets its mean.
        global_model: Backtest and use the global LightGBM.
        calendar: M5-style calendar covering the horizon (events, SNAP, ``wm_yr_wk``).
        prices: ``store_id, item_id, wm_yr_wk, sell_price`` covering the horizon.
        series_info: Pre-window ``store_id, item_id, hist_rate, hist_scale`` (optional).
        series_attributes: One row per series: ``id_cols`` and ``dept_id, cat_id, state_id``
            (features of the global model); None takes them from ``history``.
        champion: Registry champion to compete with the challenger (None: no registry).
        regression_threshold: Tolerated excess of the global model's holdout MASE over
            seasonal naive before falling back to seasonal naive.
        model_factory: Class of the global model.

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
    problems, order = _problems(data, **cols)
    _raise_on(problems)
    frame, keys = _to_nixtla(data, id_cols=id_cols, time_col=time_col, target_col=target_col, order=order)
    cut = _resolve_as_of(frame, as_of, time_col)
    kept = (frame[_DS] <= cut).to_numpy()
    if not kept.all():  # an as-of inside the history; at its end there is nothing to drop (or copy)
        frame = frame[kept].reset_index(drop=True)
    frame, n_padded = _pad_to(frame, cut)
    seconds["prepare"] = perf_counter() - t_start

    t = perf_counter()
    interval = (0.1, 0.9)
    bt = _backtest_nixtla(frame, keys, models=models, holdout_days=holdout_days, n_jobs=n_jobs, min_history=min_history,
                          interval=interval, n_windows=n_windows, **cols)
    seconds["backtest"] = perf_counter() - t

    t = perf_counter()
    members = list(bt.best_members)
    stat_names = list(dict.fromkeys([*members, "seasonal_naive"]))
    fc = _forecast_nixtla(frame, models=stat_names, horizon=horizon, n_jobs=n_jobs, min_history=min_history)
    fc["yhat"] = fc[members].to_numpy().mean(axis=1)
    seconds["refit"] = perf_counter() - t

    forecast_dates = pd.date_range(cut + pd.Timedelta(days=1), periods=horizon, freq="D")
    holdout_dates = pd.date_range(bt.cutoff + pd.Timedelta(days=1), periods=holdout_days, freq="D")
    bt_dispersion = bt.train_dispersion
    n_series = len(keys)
    # Everything below works on (series x day) matrices in the row order of ``keys``: the
    # backtest rows carry their series code, so no join on string ids is needed.
    bt_codes = bt.series_codes
    bt_cols = holdout_dates.get_indexer(bt.predictions[time_col])
    hold = lambda col: _wide(bt_codes, bt_cols, bt.predictions[col], (n_series, holdout_days))  # noqa: E731
    fc_codes, fc_cols = fc[_UID].to_numpy(), forecast_dates.get_indexer(fc[_DS])
    outcome: GlobalOutcome | None = None
    warnings: list[str] = []
    choice_table: pd.DataFrame | None = None
    stat_label = bt.best_model
    stat_fc = _wide(fc_codes, fc_cols, fc["yhat"], (n_series, horizon))
    yhat, labels = stat_fc, np.full(n_series, stat_label, dtype=object)
    holdout_sel = hold(bt.best_model)
    actual = hold(target_col)
    t = perf_counter()
    if global_model and (bt.cutoff - frame[_DS].min()).days + 1 >= 7:
        series_keys = _with_hierarchy(keys, history, id_cols, series_attributes)
        scale = bt.train_scale
        outcome = run_global(
            None,
            cutoff=bt.cutoff,
            holdout_dates=holdout_dates,
            forecast_dates=forecast_dates,
            actual_holdout=None,
            seasonal_naive_holdout=None,
            scale=None,
            champion=champion,
            regression_threshold=regression_threshold,
            model_factory=model_factory,
            cutoffs=bt.cutoffs,
            panel=panel_from_codes(series_keys, frame[_UID].to_numpy(), frame[_DS].to_numpy(), frame[_Y].to_numpy(),
                                   calendar=calendar, prices=prices, series_info=series_info,
                                   extra_dates=forecast_dates),
            matrices=(actual, hold("seasonal_naive"), scale.reindex(np.arange(n_series)).to_numpy(dtype=np.float64)),
            **cols,
        )
        warnings += outcome.warnings
        if outcome.forecast is None:
            # Fallback: seasonal naive everywhere.
            yhat = _wide(fc_codes, fc_cols, fc["seasonal_naive"], (n_series, horizon))
            labels = np.full(n_series, "seasonal_naive", dtype=object)
            holdout_sel = hold("seasonal_naive")
        else:
            g_hold, g_fc = outcome.holdout, outcome.forecast
            g_fc = np.where(np.isfinite(g_fc), g_fc, stat_fc)
            bt = _add_candidates(bt, {GLOBAL_MODEL: g_hold, BLEND_MODEL: 0.5 * (g_hold + holdout_sel)},
                                 codes=bt_codes, cols=bt_cols, target_col=target_col, scale=scale,
                                 interval=interval,
                                 dispersion=bt_dispersion)
            seen = np.isfinite(actual).all(axis=1)
            cands_hold = {stat_label: holdout_sel, GLOBAL_MODEL: g_hold, BLEND_MODEL: 0.5 * (g_hold + holdout_sel)}
            cands_fc = {stat_label: stat_fc, GLOBAL_MODEL: g_fc, BLEND_MODEL: 0.5 * (g_fc + stat_fc)}
            segments = _segments(series_keys)
            clean = lambda m: np.where(np.isfinite(m), m, 0.0)  # noqa: E731 - unseen series add nothing
            choice = choose_per_segment(clean(actual[seen]), {k: clean(v[seen]) for k, v in cands_hold.items()},
                                        segments[seen].to_numpy())
            yhat, labels = apply_choice(choice, cands_fc, segments.to_numpy(), default=GLOBAL_MODEL)
            holdout_sel, _ = apply_choice(choice, cands_hold, segments.to_numpy(), default=GLOBAL_MODEL)
            choice_table = choice.rename_axis("segment").reset_index()
    seconds["global"] = perf_counter() - t

    t = perf_counter()
    dispersion = estimate_dispersion(frame, min_obs=min_history)
    ok = np.isfinite(actual) & np.isfinite(holdout_sel)
    bt_disp = np.broadcast_to(bt_dispersion.reindex(np.arange(n_series)).fillna(0.0).to_numpy()[:, None],
                              actual.shape)
    levels = calibrate_levels(actual[ok], holdout_sel[ok], bt_disp[ok], quantiles)
    ids, counts, _ = _series_bounds(frame)
    is_short = np.zeros(n_series, dtype=bool)
    is_short[ids] = counts < min_history
    # Too short for any model, the global one included: their mean stands.
    yhat = np.where(is_short[:, None], stat_fc, yhat)
    disp_rows = np.repeat(dispersion.reindex(np.arange(n_series)).fillna(0.0).to_numpy(), horizon)
    # Integer quantiles barely move when the mean moves by < 0.005, and rounding collapses
    # 30k x 28 distinct global-model means into a few thousand ppf evaluations.
    qs = negbin_quantiles(np.round(yhat.ravel(), 2), disp_rows, list(levels.values()))
    out = to_long(yhat, keys, forecast_dates, id_cols=id_cols, time_col=time_col, value_col="yhat")
    for q, name in zip(quantiles, q_names, strict=True):
        out[name] = qs[levels[float(q)]]
    out["model"] = np.repeat(np.where(is_short, SHORT_HISTORY_MODEL, labels), horizon)
    forecast = out[[*id_cols, time_col, "yhat", *q_names, "model"]]
    # Share of backtest actuals at or below each calibrated quantile: one CDF pass, no inversion.
    below = share_below_quantile(actual[ok], holdout_sel[ok], bt_disp[ok], [levels[float(q)] for q in quantiles])
    held = {f"holdout_below_{n}": below[levels[float(q)]] for q, n in zip(quantiles, q_names, strict=True)}
    # a column added in place: the frame is this run's own (copying 0.4M rows x every candidate costs more)
    bt.predictions["deployed"] = _at(holdout_sel, bt_codes, bt_cols)
    seconds["quantiles"] = perf_counter() - t
    seconds["total"] = perf_counter() - t_start

    model_counts = pd.Series(labels).value_counts().to_dict()
    params = {
        "horizon": int(horizon),
        "models": list(models),
        "quantiles": [float(q) for q in quantiles],
        "quantile_levels_calibrated": [round(levels[float(q)], 4) for q in quantiles],
        "holdout_days": int(holdout_days),
        "backtest_windows": len(bt.cutoffs),
        "backtest_step_days": int(bt.step_days),
        "backtest_cutoffs": [c.date().isoformat() for c in bt.cutoffs],
        "as_of": cut.date().isoformat(),
        "backtest_cutoff": bt.cutoff.date().isoformat(),
        "min_history": int(min_history),
        "n_jobs": int(n_jobs),
        "chosen_model": bt.best_model,
        "ensemble_members": list(bt.ensemble_members),
        "global_model": bool(global_model),
        "global_source": outcome.source if outcome else "off",
        "regression_threshold": float(regression_threshold),
        "models_used": {str(k): int(v) for k, v in model_counts.items()},
        "n_series": len(keys),
        "n_history_rows": len(frame),
        "n_series_short_history": int(is_short.sum()),
        "n_series_zero_padded": n_padded,
        "backtest_n_series": bt.n_series,
        "backtest_n_series_mase": bt.n_series_mase,
        "pooled_dispersion_median": float(dispersion.median()) if len(dispersion) else float("nan"),
        **held,
    }
    if outcome is not None:
        params.update({f"holdout_mase_{k}": float(v) for k, v in outcome.scores.items()})
        params["champion_scoring"] = outcome.champion_scoring
    return ForecastRun(forecast=forecast, backtest=bt, params=params, seconds=seconds, global_outcome=outcome,
                       segment_choice=choice_table, warnings=warnings)
