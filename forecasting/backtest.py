"""Rolling-origin backtest that scores candidate models and picks the one to deploy.

The last ``holdout_days`` days are split into ``n_windows`` consecutive windows of
``holdout_days / n_windows`` days; each window is forecast from its own origin (the day
before it) by models trained on the history up to that origin, so every day of the
holdout is forecast exactly once and every score pools all origins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.distributed import run_statsforecast_cv
from forecasting.frames import DS, UID, Y, decode_ids, from_nixtla, series_bounds, to_nixtla
from forecasting.metrics import bias, mae, mase, per_model_metrics, rmse, seasonal_scale
from forecasting.models import BASELINE_MODEL, DEFAULT_MODELS, MODEL_NAMES, forecast_nixtla, resolve_models
from forecasting.quantiles import estimate_dispersion, interval_coverage_negbin, quantile_column

__all__ = ["ENSEMBLE", "BacktestResult", "backtest", "backtest_nixtla", "coverage_column"]

ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class BacktestResult:
    """Outcome of a rolling-origin backtest.

    Attributes:
        metrics: One row per candidate, indexed by ``model``, with ``mae, rmse,
            bias, mase`` and the interval coverage (e.g. ``coverage_q10_q90``).
            Fitted models come first in listed order, then ``ensemble``; seasonal
            naive is always present as the baseline.
        best_model: Candidate with the lowest MASE (ties go to the first listed).
        improvement_vs_seasonal_naive: ``1 - MASE(best) / MASE(seasonal_naive)``.
        ensemble_members: Models averaged with equal weight into ``ensemble``
            (every fitted model except seasonal naive); empty if fewer than two.
        per_series: Per series: id columns, ``best_model`` (lowest holdout MAE) and
            its ``mae``.
        per_series_selection_optimistic: mae/rmse/bias/mase of using each series'
            own best model. Optimistic: the choice was made on the very holdout it
            is scored on, so it is for information, not for model selection.
        cutoff: Last training date of the first origin; the holdout is the
            ``holdout_days`` after it.
        holdout_days: Length of the holdout (all windows).
        cutoffs: Last training date of every origin, oldest first; window ``k`` is
            the ``step_days`` after ``cutoffs[k]``.
        step_days: Days per window (the forecast horizon of each origin).
        series_codes: Per row of ``predictions``, the position of its series in the
            key table the backtest was given (for matrix work without joins).
        train_scale: Per series code, the seasonal-naive MAE scale of the first origin's
            training days (the MASE denominator).
        train_dispersion: Per series code, the negative-binomial dispersion of those days.
        n_series: Series scored (those with training data before the cutoff).
        n_series_mase: Of those, series that enter MASE; the rest were flat over
            the training window (no seasonal change), so their scale is zero.
        predictions: Holdout actuals and every candidate's predictions, long format,
            with the ``cutoff`` (origin) each row was forecast from.
    """

    metrics: pd.DataFrame
    best_model: str
    improvement_vs_seasonal_naive: float
    ensemble_members: tuple[str, ...]
    per_series: pd.DataFrame
    per_series_selection_optimistic: dict[str, float]
    cutoff: pd.Timestamp
    holdout_days: int
    n_series: int
    n_series_mase: int
    predictions: pd.DataFrame
    cutoffs: tuple[pd.Timestamp, ...] = ()
    step_days: int = 0
    series_codes: np.ndarray | None = None
    train_scale: pd.Series | None = None
    train_dispersion: pd.Series | None = None

    @property
    def best_members(self) -> tuple[str, ...]:
        """Models to refit to reproduce ``best_model``."""
        return self.ensemble_members if self.best_model == ENSEMBLE else (self.best_model,)

    @property
    def best_metrics(self) -> dict[str, float]:
        """The metrics row of ``best_model`` as a dict (without the name)."""
        return {k: float(v) for k, v in self.metrics.loc[self.best_model].items()}


def coverage_column(interval: tuple[float, float]) -> str:
    """Metrics column holding the coverage of ``interval``, e.g. ``coverage_q10_q90``.

    Args:
        interval: Lower and upper quantile levels.

    Returns:
        The column name.
    """
    lo, hi = interval
    return f"coverage_{quantile_column(lo, prefix='q')}_{quantile_column(hi, prefix='q')}"


def _candidates(models: Sequence[str]) -> tuple[list[str], tuple[str, ...]]:
    names = resolve_models(models)
    fitted = names if BASELINE_MODEL in names else [BASELINE_MODEL, *names]
    members = tuple(n for n in fitted if n != BASELINE_MODEL)
    return fitted, members if len(members) >= 2 else ()


def _pick_best(metrics: pd.DataFrame) -> str:
    # MASE is undefined when every series was flat in training (tiny inputs); MAE
    # still ranks the candidates then.
    for col in ("mase", "mae"):
        score = metrics[col].to_numpy(dtype=np.float64)
        if np.isfinite(score).any():
            return str(metrics.index[int(np.nanargmin(score))])
    return str(metrics.index[0])


def _coverage(
    scored: pd.DataFrame, candidates: Sequence[str], dispersion: np.ndarray, interval: tuple[float, float]
) -> np.ndarray:
    y = scored[Y].to_numpy()
    return np.array([interval_coverage_negbin(y, scored[name].to_numpy(), dispersion, interval)
                     for name in candidates])


def _per_series_choice(
    scored: pd.DataFrame, candidates: Sequence[str], row_scale: np.ndarray
) -> tuple[pd.DataFrame, dict[str, float]]:
    preds = scored[list(candidates)].to_numpy(dtype=np.float64)
    y = scored[Y].to_numpy()
    abs_err = pd.DataFrame(np.abs(preds - y[:, None]), columns=list(candidates))
    series_mae = abs_err.groupby(scored[UID].to_numpy(), sort=True).mean()
    # argmin takes the first of equal errors, i.e. the earlier listed model.
    best_pos = np.argmin(series_mae.to_numpy(), axis=1)
    choice = pd.DataFrame(
        {
            UID: series_mae.index.to_numpy(),
            "best_model": np.asarray(candidates, dtype=object)[best_pos],
            "mae": series_mae.to_numpy()[np.arange(len(best_pos)), best_pos],
        }
    )
    row_pos = best_pos[np.searchsorted(series_mae.index.to_numpy(), scored[UID].to_numpy())]
    yhat = np.take_along_axis(preds, row_pos[:, None], axis=1)[:, 0]
    score = {
        "mae": mae(y, yhat),
        "rmse": rmse(y, yhat),
        "bias": bias(y, yhat),
        "mase": mase(y, yhat, row_scale),
    }
    return choice, score


def _windows(holdout_days: int, n_windows: int) -> int:
    """Days per window; the holdout must split into whole windows."""
    if holdout_days < 1:
        raise ValueError(f"holdout_days must be at least 1, got {holdout_days}")
    if n_windows < 1 or holdout_days % n_windows:
        raise ValueError(f"holdout_days={holdout_days} must be a positive multiple of n_windows={n_windows}")
    return holdout_days // n_windows


def _cv_nixtla(frame: pd.DataFrame, *, models: Sequence[str], step: int, cutoffs: Sequence[pd.Timestamp],
               n_jobs: int, min_history: int) -> pd.DataFrame:
    """Rolling-origin forecasts ``unique_id, ds, cutoff, y, <models>`` of a sorted frame.

    Series long enough at the first origin go through one ``StatsForecast.cross_validation``
    batch; the few others (new series) are forecast origin by origin, by their mean when
    they are still shorter than ``min_history`` (as :func:`forecast_nixtla` does).
    """
    from statsforecast import StatsForecast
    from statsforecast.models import HistoricAverage

    ids, counts, last = series_bounds(frame)
    n_test = step * len(cutoffs)
    # cross_validation cuts every series at the same offsets from its end: it needs the
    # series to end on the last day and to have min_history days before the first origin
    batch = (counts - n_test >= max(min_history, 1)) & (last == frame[DS].max())
    in_batch = np.repeat(batch, counts)
    parts = []
    if batch.any():
        sf = StatsForecast(models=[MODEL_NAMES[n]() for n in models], freq="D", n_jobs=n_jobs,
                           fallback_model=HistoricAverage())
        parts.append(run_statsforecast_cv(sf, frame[in_batch], step, len(cutoffs)))
    rest = frame[~in_batch]
    for cut in cutoffs if len(rest) else ():  # a handful of origins, not series
        train, test = rest[rest[DS] <= cut], rest[(rest[DS] > cut) & (rest[DS] <= cut + pd.Timedelta(days=step))]
        if len(train):
            fc = forecast_nixtla(train, models=models, horizon=step, n_jobs=n_jobs, min_history=min_history)
            parts.append(test.merge(fc, on=[UID, DS], how="inner").assign(cutoff=cut))
    if not parts:
        return pd.DataFrame(columns=[UID, DS, "cutoff", Y, *models])
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out[list(models)] = np.clip(out[list(models)].to_numpy(dtype=np.float64), 0.0, None)
    out = out[[UID, DS, "cutoff", Y, *models]]
    # the batch alone comes sorted by id, origin and day, which is id and day: windows do not overlap
    return out if len(parts) == 1 and batch.any() else out.sort_values([UID, DS], kind="stable", ignore_index=True)


def backtest_nixtla(
    frame: pd.DataFrame,
    keys: pd.DataFrame,
    *,
    models: Sequence[str],
    holdout_days: int,
    id_cols: Sequence[str],
    time_col: str,
    target_col: str,
    n_jobs: int,
    min_history: int,
    interval: tuple[float, float],
    n_windows: int = 1,
) -> BacktestResult:
    """:func:`backtest` of a coded frame (:func:`forecasting.frames.to_nixtla`) and its key table.

    Args:
        frame: ``unique_id, ds, y`` sorted by series then day.
        keys: One row of ``id_cols`` per series code.
        models: As in :func:`backtest`.
        holdout_days: As in :func:`backtest`.
        id_cols: Id columns of ``keys``, restored in the predictions.
        time_col: Date column of the predictions.
        target_col: Actuals column of the predictions.
        n_jobs: As in :func:`backtest`.
        min_history: As in :func:`backtest`.
        interval: As in :func:`backtest`.
        n_windows: As in :func:`backtest`.

    Returns:
        The scored backtest; see :class:`BacktestResult`.
    """
    step = _windows(holdout_days, n_windows)
    fitted, members = _candidates(models)
    candidates = [*fitted, ENSEMBLE] if members else fitted

    end = frame[DS].max()
    cutoffs = [end - pd.Timedelta(days=holdout_days - k * step) for k in range(n_windows)]
    cutoff = cutoffs[0]
    in_train = (frame[DS] <= cutoff).to_numpy()
    if not in_train.any():
        span = frame[DS].nunique()
        raise ValueError(
            f"column '{time_col}': {span} distinct day(s) of history leave nothing to train on "
            f"with holdout_days={holdout_days}; pass a smaller holdout_days"
        )
    # Scale and dispersion from the first origin's training days: before every window.
    train = frame[in_train]

    scored = _cv_nixtla(frame, models=fitted, step=step, cutoffs=cutoffs, n_jobs=n_jobs, min_history=min_history)
    if members:
        scored[ENSEMBLE] = scored[list(members)].to_numpy().mean(axis=1)

    scale = seasonal_scale(train, season_length=7)
    dispersion = estimate_dispersion(train, min_obs=min_history)
    ids = scored[UID]
    metrics = per_model_metrics(scored, models=candidates, scale=scale)
    metrics[coverage_column(interval)] = _coverage(
        scored, candidates, ids.map(dispersion).to_numpy(), interval
    )

    best = _pick_best(metrics)
    improvement = 1.0 - metrics.at[best, "mase"] / metrics.at[BASELINE_MODEL, "mase"]

    choice, optimistic = _per_series_choice(scored, candidates, ids.map(scale).to_numpy())
    per_series = pd.concat(
        [decode_ids(choice[UID].to_numpy(), keys), choice[["best_model", "mae"]]], axis=1
    )
    predictions = from_nixtla(scored, keys, id_cols=id_cols, time_col=time_col,
                               value_cols=["cutoff", Y, *candidates]).rename(columns={Y: target_col}, copy=False)
    return BacktestResult(
        metrics=metrics,
        best_model=best,
        improvement_vs_seasonal_naive=float(improvement),
        ensemble_members=members,
        per_series=per_series,
        per_series_selection_optimistic=optimistic,
        cutoff=pd.Timestamp(cutoff),
        holdout_days=holdout_days,
        n_series=len(per_series),
        n_series_mase=int(((scale > 0) & scale.index.isin(choice[UID])).sum()),
        predictions=predictions,
        cutoffs=tuple(pd.Timestamp(c) for c in cutoffs),
        step_days=step,
        series_codes=scored[UID].to_numpy(),
        train_scale=scale,
        train_dispersion=dispersion,
    )


def backtest(
    history: pd.DataFrame,
    *,
    models: Sequence[str] = DEFAULT_MODELS,
    holdout_days: int = 14,
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
    n_jobs: int = 2,
    min_history: int = 14,
    interval: tuple[float, float] = (0.1, 0.9),
    n_windows: int = 1,
) -> BacktestResult:
    """Rolling-origin backtest over the last ``holdout_days`` days: forecast and score.

    With ``n_windows`` > 1 the holdout is split into that many windows, each forecast
    from its own origin with every model refitted on the history up to it (one
    ``StatsForecast.cross_validation`` batch).

    Args:
        history: Daily demand in long format, one row per series and day, no gaps.
        models: Candidate names from ``MODEL_NAMES``; seasonal naive is added as the
            baseline if missing, and an equal-weight ``ensemble`` of the other
            models is scored when there are at least two of them.
        holdout_days: Days held out at the end of the history.
        id_cols: Columns that together identify a series.
        time_col: Date column.
        target_col: Demand column.
        n_jobs: Worker processes for statsforecast.
        min_history: Series with fewer training days are forecast by their mean.
        interval: Quantile levels of the negative-binomial interval whose coverage
            is reported.
        n_windows: Origins; ``holdout_days`` must be a multiple of it.

    Returns:
        The scored backtest; see :class:`BacktestResult`.
    """
    frame, keys = to_nixtla(history, id_cols=id_cols, time_col=time_col, target_col=target_col)
    return backtest_nixtla(
        frame,
        keys,
        models=models,
        holdout_days=holdout_days,
        id_cols=id_cols,
        time_col=time_col,
        target_col=target_col,
        n_jobs=n_jobs,
        min_history=min_history,
        interval=interval,
        n_windows=n_windows,
    )
