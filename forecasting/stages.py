"""The stages of :class:`forecasting.forecaster.DemandForecaster`, each a function returning a small dataclass.

After :func:`forecasting.history.prepare_history`:

1. :func:`backtest_holdout` backtests the statsforecast candidates over rolling origins and
   lays the holdout out as (series x day) matrices;
2. :func:`refit_statistical` refits the backtest's best candidate (and seasonal naive, the
   fallback) on the whole history;
3. :func:`fit_global` backtests and fits the global LightGBM, challenger against champion;
4. :func:`choose_models` picks per store x department the statsforecast candidate, the global
   model or their mean;
5. :func:`add_quantiles` adds negative-binomial quantiles with levels calibrated on the backtest.

Every matrix has one row per series in the row order of ``PreparedHistory.keys``: backtest and
forecast rows carry their series code, so no join on string ids is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecasting.backtest import BacktestResult, backtest_nixtla, coverage_column
from forecasting.features import panel_from_codes
from forecasting.frames import DS, UID, Y, series_bounds, to_long
from forecasting.global_forecast import GlobalOutcome, run_global
from forecasting.history import PreparedHistory
from forecasting.lgbm import GlobalLGBM
from forecasting.metrics import per_model_metrics
from forecasting.models import BASELINE_MODEL, forecast_nixtla
from forecasting.quantiles import (
    calibrate_levels,
    estimate_dispersion,
    interval_coverage_negbin,
    level_variance,
    negbin_quantiles,
    quantile_column,
    share_below_quantile,
)
from forecasting.registry import Champion
from forecasting.selection import apply_choice, choose_per_segment

__all__ = [
    "SHORT_HISTORY_MODEL",
    "GLOBAL_MODEL",
    "BLEND_MODEL",
    "MIN_GLOBAL_DAYS",
    "HoldoutBacktest",
    "StatisticalForecast",
    "GlobalFit",
    "ModelChoice",
    "QuantileForecast",
    "backtest_holdout",
    "refit_statistical",
    "series_hierarchy",
    "fit_global",
    "choose_models",
    "add_quantiles",
]

# Label in the ``model`` column for series too short to fit, forecast by their mean.
SHORT_HISTORY_MODEL = "history_mean"
GLOBAL_MODEL = "lightgbm"
BLEND_MODEL = "blend"  # mean of the global model and the best statsforecast candidate
# Training days before the first backtest origin below which the global model is not fitted.
MIN_GLOBAL_DAYS = 7
# Days of history the global model reads (M5's 28). Its features are statistics of a window of
# weeks (forecasting.features) on a dense series x day grid: years of history for a few series
# would grow that grid for all of them (full M5 with 280 five-year series: 6 GB; a 56-day window
# doubled its training time) without a feature that uses them; long series have their own model.
GLOBAL_WINDOW_DAYS = 28

_HIERARCHY = ("dept_id", "cat_id", "state_id")


def _wide(codes: np.ndarray, cols: np.ndarray, values: pd.Series | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Long values -> (series x day) matrix by series code and day position; NaN where absent."""
    out = np.full(shape, np.nan)
    ok = cols >= 0
    out[np.asarray(codes)[ok], cols[ok]] = np.asarray(values, dtype=np.float64)[ok]
    return out


def _at(matrix: np.ndarray, codes: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The matrix cells of long rows (NaN for rows outside its days)."""
    return np.where(cols >= 0, matrix[np.asarray(codes), np.clip(cols, 0, None)], np.nan)


@dataclass(frozen=True)
class HoldoutBacktest:
    """The rolling-origin backtest and its holdout as (series x holdout day) matrices.

    Attributes:
        result: The backtest of the statsforecast candidates.
        dates: Holdout days.
        codes: Series code of each row of ``result.predictions``.
        cols: Holdout day position of each row of ``result.predictions``.
        actual: Actuals, NaN where a series has no holdout row.
        seasonal_naive: Seasonal naive's backtest forecast.
        best: The best candidate's backtest forecast (``result.best_model``).
    """

    result: BacktestResult
    dates: pd.DatetimeIndex
    codes: np.ndarray
    cols: np.ndarray
    actual: np.ndarray
    seasonal_naive: np.ndarray
    best: np.ndarray


def backtest_holdout(
    history: PreparedHistory,
    *,
    models: Sequence[str],
    holdout_days: int,
    n_windows: int,
    n_jobs: int,
    min_history: int,
    interval: tuple[float, float],
    id_cols: Sequence[str],
    time_col: str,
    target_col: str,
) -> HoldoutBacktest:
    """Backtest ``models`` on the last ``holdout_days`` days in ``n_windows`` windows.

    Args:
        history: The prepared history.
        models: Candidate names (seasonal naive and the ensemble are added).
        holdout_days: Days held out (all windows together).
        n_windows: Backtest origins; ``holdout_days`` must be a multiple of it.
        n_jobs: Worker processes for statsforecast.
        min_history: Series with fewer training days are forecast by their mean.
        interval: Quantile levels whose interval coverage is reported.
        id_cols: Id columns of the backtest predictions.
        time_col: Date column of the backtest predictions.
        target_col: Actuals column of the backtest predictions.

    Returns:
        The backtest and its matrices; see :class:`HoldoutBacktest`.
    """
    result = backtest_nixtla(history.frame, history.keys, models=models, holdout_days=holdout_days, n_jobs=n_jobs,
                             min_history=min_history, interval=interval, n_windows=n_windows, id_cols=id_cols,
                             time_col=time_col, target_col=target_col)
    dates = pd.date_range(result.cutoff + pd.Timedelta(days=1), periods=holdout_days, freq="D")
    codes = result.series_codes
    cols = dates.get_indexer(result.predictions[time_col])
    shape = (history.n_series, holdout_days)
    hold = lambda col: _wide(codes, cols, result.predictions[col], shape)  # noqa: E731
    return HoldoutBacktest(result=result, dates=dates, codes=codes, cols=cols, actual=hold(target_col),
                           seasonal_naive=hold(BASELINE_MODEL), best=hold(result.best_model))


@dataclass(frozen=True)
class StatisticalForecast:
    """The backtest's best statsforecast candidate refitted on the whole history.

    Attributes:
        dates: Forecast days (``as_of + 1 .. as_of + horizon``).
        label: Name of the candidate (a model or ``ensemble``).
        mean: Its forecast, (series x horizon).
        seasonal_naive: Seasonal naive's forecast, the fallback, (series x horizon).
    """

    dates: pd.DatetimeIndex
    label: str
    mean: np.ndarray
    seasonal_naive: np.ndarray


def refit_statistical(history: PreparedHistory, backtest: BacktestResult, *, horizon: int, n_jobs: int,
                      min_history: int) -> StatisticalForecast:
    """Refit the members of the backtest's best candidate, and seasonal naive, on the whole history.

    Args:
        history: The prepared history.
        backtest: The backtest that chose the candidate.
        horizon: Days to forecast after ``history.as_of``.
        n_jobs: Worker processes for statsforecast.
        min_history: Series with fewer days get their mean.

    Returns:
        The forecasts; see :class:`StatisticalForecast`.
    """
    members = list(backtest.best_members)
    names = list(dict.fromkeys([*members, BASELINE_MODEL]))
    fc = forecast_nixtla(history.frame, models=names, horizon=horizon, n_jobs=n_jobs, min_history=min_history)
    dates = pd.date_range(history.as_of + pd.Timedelta(days=1), periods=horizon, freq="D")
    codes, cols = fc[UID].to_numpy(), dates.get_indexer(fc[DS])
    shape = (history.n_series, horizon)
    mean = _wide(codes, cols, fc[members].to_numpy().mean(axis=1), shape)
    return StatisticalForecast(dates=dates, label=backtest.best_model, mean=mean,
                               seasonal_naive=_wide(codes, cols, fc[BASELINE_MODEL], shape))


def series_hierarchy(keys: pd.DataFrame, source: pd.DataFrame, id_cols: Sequence[str]) -> pd.DataFrame:
    """``keys`` (as strings) plus the hierarchy columns ``dept_id, cat_id, state_id`` found in ``source``.

    Args:
        keys: One row per series.
        source: One row per series (attributes) or per series and day (a history); the first
            value per series is taken.
        id_cols: Id columns shared by both.

    Returns:
        One row per row of ``keys``, in its order.
    """
    id_cols = list(id_cols)
    extra = [c for c in _HIERARCHY if c in source.columns and c not in id_cols]
    out = keys[id_cols].astype(str).reset_index(drop=True)
    if not extra:
        return out
    firsts = source[[*id_cols, *extra]].drop_duplicates(id_cols).astype(str)
    return out.merge(firsts, on=id_cols, how="left")


@dataclass(frozen=True)
class GlobalFit:
    """The global LightGBM of a run.

    Attributes:
        outcome: Challenger/champion outcome; ``outcome.forecast`` is None on a fallback.
        series_keys: Series ids and hierarchy, the row order of the outcome's matrices.
    """

    outcome: GlobalOutcome
    series_keys: pd.DataFrame


def fit_global(
    history: PreparedHistory,
    holdout: HoldoutBacktest,
    forecast_dates: pd.DatetimeIndex,
    *,
    attributes: pd.DataFrame,
    id_cols: Sequence[str],
    calendar: pd.DataFrame | None = None,
    prices: pd.DataFrame | None = None,
    series_info: pd.DataFrame | None = None,
    champion: Champion | None = None,
    regression_threshold: float = 0.05,
    model_factory: type[GlobalLGBM] = GlobalLGBM,
    window_days: int = GLOBAL_WINDOW_DAYS,
) -> GlobalFit | None:
    """Backtest the global model on the statsforecast origins, then fit it (see :func:`run_global`).

    Args:
        history: The prepared history.
        holdout: The statsforecast backtest (its origins and matrices are reused).
        forecast_dates: Days to forecast.
        attributes: Where the hierarchy columns come from (see :func:`series_hierarchy`).
        id_cols: Series id columns.
        calendar: M5-style calendar covering the horizon (events, SNAP, ``wm_yr_wk``).
        prices: ``store_id, item_id, wm_yr_wk, sell_price`` covering the horizon.
        series_info: Pre-window ``store_id, item_id, hist_rate, hist_scale``.
        champion: Registry champion to compete with the challenger (None: no registry).
        regression_threshold: Tolerated excess of the used model's backtest MASE over
            seasonal naive's before falling back to seasonal naive.
        model_factory: Class of the challenger.
        window_days: Days of history read, up to the origin (see :data:`GLOBAL_WINDOW_DAYS`).

    Returns:
        The fit, or None when fewer than :data:`MIN_GLOBAL_DAYS` days precede the first origin.
    """
    bt, frame = holdout.result, history.frame
    first_day = max(frame[DS].min(), frame[DS].max() - pd.Timedelta(days=window_days - 1))
    if (bt.cutoff - first_day).days + 1 < MIN_GLOBAL_DAYS:
        return None
    if frame[DS].min() < first_day:
        frame = frame[frame[DS] >= first_day]
    series_keys = series_hierarchy(history.keys, attributes, id_cols)
    panel = panel_from_codes(series_keys, frame[UID].to_numpy(), frame[DS].to_numpy(), frame[Y].to_numpy(),
                             calendar=calendar, prices=prices, series_info=series_info, extra_dates=forecast_dates)
    scale = bt.train_scale.reindex(np.arange(history.n_series)).to_numpy(dtype=np.float64)
    outcome = run_global(panel, cutoffs=bt.cutoffs, holdout_dates=holdout.dates, forecast_dates=forecast_dates,
                         actual=holdout.actual, seasonal_naive=holdout.seasonal_naive, scale=scale, champion=champion,
                         regression_threshold=regression_threshold, model_factory=model_factory)
    return GlobalFit(outcome=outcome, series_keys=series_keys)


def _segments(keys: pd.DataFrame) -> pd.Series:
    """Selection segment per series: store x department when known, else store."""
    store = keys["store_id"].astype(str) if "store_id" in keys else pd.Series("all", index=keys.index)
    if "dept_id" in keys:
        return store + "|" + keys["dept_id"].astype(str)
    if "item_id" in keys:
        # M5 item ids are <DEPT>_<n>: the department is the id without its number.
        return store + "|" + keys["item_id"].astype(str).str.rsplit("_", n=1).str[0]
    return store


def _add_candidates(bt: BacktestResult, candidates: dict[str, np.ndarray], *, codes: np.ndarray, cols: np.ndarray,
                    target_col: str, interval: tuple[float, float]) -> BacktestResult:
    """Backtest table and predictions with more candidate (series x day) matrices scored the same way."""
    preds = bt.predictions.copy()
    for name, matrix in candidates.items():
        values = _at(matrix, codes, cols)
        preds[name] = np.where(np.isfinite(values), values, preds[bt.best_model].to_numpy())
    names = list(candidates)
    scored = pd.DataFrame({UID: codes, target_col: preds[target_col].to_numpy(),
                           **{n: preds[n].to_numpy() for n in names}})
    table = per_model_metrics(scored, models=names, target_col=target_col, scale=bt.train_scale)
    disp = bt.train_dispersion.reindex(codes).to_numpy()
    y = scored[target_col].to_numpy()
    table[coverage_column(interval)] = [interval_coverage_negbin(y, scored[n].to_numpy(), disp, interval)
                                        for n in names]
    metrics = pd.concat([bt.metrics, table[bt.metrics.columns]])
    return replace(bt, metrics=metrics, predictions=preds)


@dataclass(frozen=True)
class ModelChoice:
    """The forecast each series deploys and its backtest.

    Attributes:
        mean: Deployed mean forecast, (series x horizon).
        labels: Deployed model per series.
        holdout: The deployed model's backtest forecast, (series x holdout day).
        backtest: The backtest with the global model and the blend scored as candidates (when
            they ran) and the deployed backtest forecast as column ``deployed``.
        segment_choice: Candidate chosen per segment (``segment, model``); None without a
            global model.
    """

    mean: np.ndarray
    labels: np.ndarray
    holdout: np.ndarray
    backtest: BacktestResult
    segment_choice: pd.DataFrame | None


def choose_models(holdout: HoldoutBacktest, statistical: StatisticalForecast, global_fit: GlobalFit | None, *,
                  interval: tuple[float, float], target_col: str) -> ModelChoice:
    """Per store x department, the candidate with the lowest backtest squared error.

    The candidates are the best statsforecast candidate, the global model and their mean. A
    global model that fell back means seasonal naive for every series; without a global model
    the statsforecast candidate stands.

    Args:
        holdout: The statsforecast backtest.
        statistical: The refitted statsforecast forecasts.
        global_fit: The global model, or None.
        interval: Quantile levels whose interval coverage is reported for new candidates.
        target_col: Actuals column of the backtest predictions.

    Returns:
        The deployed forecast; see :class:`ModelChoice`.
    """
    bt, n_series = holdout.result, len(statistical.mean)
    mean, labels, chosen = statistical.mean, np.full(n_series, statistical.label, dtype=object), holdout.best
    table: pd.DataFrame | None = None
    if global_fit is not None and global_fit.outcome.forecast is None:
        mean, chosen = statistical.seasonal_naive, holdout.seasonal_naive
        labels = np.full(n_series, BASELINE_MODEL, dtype=object)
    elif global_fit is not None:
        g_hold, g_fc = global_fit.outcome.holdout, global_fit.outcome.forecast
        g_fc = np.where(np.isfinite(g_fc), g_fc, statistical.mean)
        bt = _add_candidates(bt, {GLOBAL_MODEL: g_hold, BLEND_MODEL: 0.5 * (g_hold + holdout.best)},
                             codes=holdout.codes, cols=holdout.cols, target_col=target_col, interval=interval)
        actual = holdout.actual
        seen = np.isfinite(actual).all(axis=1)
        cands_hold = {statistical.label: holdout.best, GLOBAL_MODEL: g_hold, BLEND_MODEL: 0.5 * (g_hold + holdout.best)}
        cands_fc = {statistical.label: statistical.mean, GLOBAL_MODEL: g_fc,
                    BLEND_MODEL: 0.5 * (g_fc + statistical.mean)}
        segments = _segments(global_fit.series_keys).to_numpy()
        clean = lambda m: np.where(np.isfinite(m), m, 0.0)  # noqa: E731 - unseen series add nothing
        choice = choose_per_segment(clean(actual[seen]), {k: clean(v[seen]) for k, v in cands_hold.items()},
                                    segments[seen])
        mean, labels = apply_choice(choice, cands_fc, segments, default=GLOBAL_MODEL)
        chosen, _ = apply_choice(choice, cands_hold, segments, default=GLOBAL_MODEL)
        table = choice.rename_axis("segment").reset_index()
    # a column added in place: the frame is this run's own (copying 0.4M rows x every candidate costs more)
    bt.predictions["deployed"] = _at(chosen, holdout.codes, holdout.cols)
    return ModelChoice(mean=mean, labels=labels, holdout=chosen, backtest=bt, segment_choice=table)


@dataclass(frozen=True)
class QuantileForecast:
    """The forecast frame with its quantiles.

    Attributes:
        forecast: ``id_cols, time_col, yhat, yhat_qNN..., model``, ``horizon`` rows per series.
        levels: Nominal quantile level -> the calibrated level evaluated.
        share_below: Per quantile column, the share of backtest actuals at or below it.
        n_short: Series shorter than ``min_history`` (forecast by their mean).
        dispersion: Per series code, the negative-binomial dispersion of the whole history.
    """

    forecast: pd.DataFrame
    levels: dict[float, float]
    share_below: dict[str, float]
    n_short: int
    dispersion: pd.Series


def add_quantiles(
    history: PreparedHistory,
    statistical: StatisticalForecast,
    choice: ModelChoice,
    holdout: HoldoutBacktest,
    *,
    quantiles: Sequence[float],
    min_history: int,
    id_cols: Sequence[str],
    time_col: str,
) -> QuantileForecast:
    """Negative-binomial quantiles around the deployed mean, levels recalibrated on the backtest.

    Series shorter than ``min_history`` keep their mean (labelled :data:`SHORT_HISTORY_MODEL`).
    Each row also carries ``yhat_var``, the daily variance a plan uses for the series
    (:func:`forecasting.quantiles.level_variance`: at the series' recent level, not around the
    day's mean as the quantiles are).

    Args:
        history: The prepared history.
        statistical: The refitted statsforecast forecasts (the short series' means).
        choice: The deployed forecast.
        holdout: The backtest (actuals and training dispersion).
        quantiles: Levels, each a whole percentage (named ``yhat_qNN``).
        min_history: Fewer days than this and a series gets its mean.
        id_cols: Id columns of the forecast.
        time_col: Date column of the forecast.

    Returns:
        The forecast frame and the calibration; see :class:`QuantileForecast`.
    """
    n_series, horizon = statistical.mean.shape
    names = [quantile_column(q) for q in quantiles]
    dispersion = estimate_dispersion(history.frame, min_obs=min_history)
    actual, chosen = holdout.actual, choice.holdout
    ok = np.isfinite(actual) & np.isfinite(chosen)
    bt_disp = np.broadcast_to(
        holdout.result.train_dispersion.reindex(np.arange(n_series)).fillna(0.0).to_numpy()[:, None], actual.shape)
    levels = calibrate_levels(actual[ok], chosen[ok], bt_disp[ok], quantiles)
    ids, counts, _ = series_bounds(history.frame)
    is_short = np.zeros(n_series, dtype=bool)
    is_short[ids] = counts < min_history
    # Too short for any model, the global one included: their mean stands.
    mean = np.where(is_short[:, None], statistical.mean, choice.mean)
    disp_rows = np.repeat(dispersion.reindex(np.arange(n_series)).fillna(0.0).to_numpy(), horizon)
    # Integer quantiles barely move when the mean moves by < 0.005, and rounding collapses
    # 30k x 28 distinct global-model means into a few thousand ppf evaluations.
    qs = negbin_quantiles(np.round(mean.ravel(), 2), disp_rows, list(levels.values()))
    out = to_long(mean, history.keys, statistical.dates, id_cols=id_cols, time_col=time_col, value_col="yhat")
    for q, name in zip(quantiles, names, strict=True):
        out[name] = qs[levels[float(q)]]
    variance = level_variance(history.frame).reindex(np.arange(n_series)).fillna(0.0).to_numpy()
    out["yhat_var"] = np.repeat(variance, horizon)
    out["model"] = np.repeat(np.where(is_short, SHORT_HISTORY_MODEL, choice.labels), horizon)
    # Share of backtest actuals at or below each calibrated quantile: one CDF pass, no inversion.
    below = share_below_quantile(actual[ok], chosen[ok], bt_disp[ok], [levels[float(q)] for q in quantiles])
    return QuantileForecast(forecast=out[[*id_cols, time_col, "yhat", *names, "yhat_var", "model"]], levels=levels,
                            share_below={n: below[levels[float(q)]] for q, n in zip(quantiles, names, strict=True)},
                            n_short=int(is_short.sum()), dispersion=dispersion)
