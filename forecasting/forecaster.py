"""The forecasting front door: settings on a :class:`DemandForecaster`, data to its :meth:`~DemandForecaster.forecast`.

    forecaster = DemandForecaster(horizon=28, holdout_days=14, n_windows=2)
    run = forecaster.forecast(history, calendar=calendar, prices=prices, champion=champion)
    run.forecast  # store_id, item_id, date, yhat, yhat_q10 ..., model

The forecast runs the named stages of :mod:`forecasting.history` and :mod:`forecasting.stages`
(prepare, backtest, refit, global model, choose, quantiles) and gathers what they return in a
:class:`ForecastRun`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import copy_context
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import pandas as pd

from forecasting.backtest import BacktestResult
from forecasting.global_forecast import GlobalOutcome
from forecasting.history import PreparedHistory, prepare_history
from forecasting.lgbm import GlobalLGBM
from forecasting.long_stage import (
    LONG_HISTORY_MODEL,
    LongInputs,
    LongReport,
    choose_long,
    fit_long_history,
    long_series_mask,
    prepare_long,
    source_labels,
)
from forecasting.models import DEFAULT_MODELS, resolve_models
from forecasting.quantiles import quantile_column
from forecasting.registry import Champion
from forecasting.stages import (
    BLEND_MODEL,
    GLOBAL_MODEL,
    SHORT_HISTORY_MODEL,
    GlobalFit,
    ModelChoice,
    QuantileForecast,
    add_quantiles,
    backtest_holdout,
    choose_models,
    fit_global,
    refit_statistical,
)

__all__ = [
    "DEFAULT_QUANTILES",
    "BACKTEST_INTERVAL",
    "SHORT_HISTORY_MODEL",
    "GLOBAL_MODEL",
    "BLEND_MODEL",
    "LONG_HISTORY_MODEL",
    "DemandForecaster",
    "ForecastRun",
    "backtest_plan",
]

DEFAULT_QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9, 0.95)
# Quantile levels of the interval whose backtest coverage is reported per candidate.
BACKTEST_INTERVAL: tuple[float, float] = (0.1, 0.9)


@dataclass(frozen=True)
class ForecastRun:
    """Result of :meth:`DemandForecaster.forecast`.

    Attributes:
        forecast: ``id_cols, time_col, yhat, yhat_qNN..., model, weather_source``; ``horizon``
            rows per series dated ``as_of + 1 .. as_of + horizon``; ``weather_source`` is
            ``forecast``, ``climatology`` or ``none`` (see :func:`forecasting.long_stage.weather_source`).
        backtest: The backtest that chose the model, with the global model's candidates and
            the deployed backtest forecast (column ``deployed``).
        params: Run parameters and sizes, plain Python values (what MLflow logs).
        seconds: Wall-clock seconds per stage (``prepare``, ``backtest``, ``refit``,
            ``global``, ``choose``, ``quantiles``) plus ``total``.
        global_outcome: Challenger/champion outcome of the global model (None when the
            global model is off or the history is too short for it).
        segment_choice: Per segment (``segment`` label) the candidate the backtest chose.
        warnings: Fallbacks and failures to surface to the user.
        long_history: The long series' holdout comparison and the weather's worth (None when
            no series is long or the long-history model is off).
    """

    forecast: pd.DataFrame
    backtest: BacktestResult
    params: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    global_outcome: GlobalOutcome | None = None
    segment_choice: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    long_history: LongReport | None = None


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


@dataclass(frozen=True)
class DemandForecaster:
    """Daily demand per series from the models that win a rolling-origin backtest.

    The history is cut at the forecast origin and ``models`` (plus seasonal naive and an
    equal-weight ensemble) are backtested on its last ``holdout_days`` days, split into
    ``n_windows`` windows each forecast from its own origin (every model refitted on the
    history up to it). With ``global_model`` a global LightGBM (challenger, and the
    registry's champion if given) is backtested on the same origins; then per store x
    department the backtest, pooled over all origins, picks the best statsforecast
    candidate, the global model or their mean. Quantiles are negative binomial around the
    mean with a per-series dispersion, their levels recalibrated on the backtest. Series
    with fewer than ``min_history`` days are forecast by their mean; series that stop before
    the origin are padded with zero demand. A failed or regressed champion means seasonal
    naive for every series, with the reason in the run's ``warnings``.

    Series with at least ``long_history_days`` days of history are also forecast by a
    :class:`~forecasting.long_history.LongHistoryForecaster` fitted on their full history
    with the known-ahead inputs given (prices, events, promotions, weather); it replaces the
    other candidates' forecast for them when its backtest squared error over the long series is
    lower (:mod:`forecasting.long_stage`). The weather stays in only where the same backtest
    says it helps.

    Attributes:
        horizon: Days to forecast after the origin.
        models: Candidate names from ``MODEL_NAMES``.
        quantiles: Quantile levels, each a whole percentage (named ``yhat_qNN``).
        holdout_days: Days held out to choose the model (all windows together); see
            :func:`backtest_plan` to fit it to a short history.
        n_windows: Backtest origins; ``holdout_days`` must be a multiple of it.
        n_jobs: Worker processes for statsforecast, and the LightGBM threads of the long-history
            model's fits (at most the machine's cores; two fits side by side share them).
        min_history: Fewer days than this and a series gets its mean.
        global_model: Backtest and use the global LightGBM.
        regression_threshold: Tolerated excess of the global model's backtest MASE over
            seasonal naive's before falling back to seasonal naive.
        model_factory: Class of the global model.
        long_history_days: Days of history that make a series long (None: no long-history model).
        long_weather: Let the long-history model use the weather (when its backtest says it helps).
        long_max_train_rows: Training rows of the long-history model are sampled above this many.
            It trains on one LightGBM thread: its few long series gain little from a second one,
            and on shared cores waiting OpenMP threads spin (on a loaded 2-core machine the sample's
            long stage took 245 s with two threads and 44 s with one, in runs minutes apart).

    Raises:
        ValueError: On a horizon below 1, an unknown model or a repeated quantile level.
    """

    horizon: int = 28
    models: Sequence[str] = DEFAULT_MODELS
    quantiles: Sequence[float] = DEFAULT_QUANTILES
    holdout_days: int = 14
    n_windows: int = 2
    n_jobs: int = 2
    min_history: int = 14
    global_model: bool = True
    regression_threshold: float = 0.05
    model_factory: type[GlobalLGBM] = GlobalLGBM
    long_history_days: int | None = 56
    long_weather: bool = True
    long_max_train_rows: int = 200_000

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {self.horizon}")
        resolve_models(self.models)
        names = [quantile_column(q) for q in self.quantiles]
        if len(set(names)) != len(names):
            raise ValueError(f"quantiles {list(self.quantiles)} repeat a level")

    def forecast(
        self,
        history: pd.DataFrame,
        *,
        calendar: pd.DataFrame | None = None,
        prices: pd.DataFrame | None = None,
        series_info: pd.DataFrame | None = None,
        series_attributes: pd.DataFrame | None = None,
        champion: Champion | None = None,
        long_inputs: LongInputs | None = None,
        as_of: pd.Timestamp | str | None = None,
        id_cols: Sequence[str] = ("store_id", "item_id"),
        time_col: str = "date",
        target_col: str = "units",
    ) -> ForecastRun:
        """Forecast every series of ``history``.

        Args:
            history: Daily demand, one row per series and day; extra columns are ignored
                except ``dept_id, cat_id, state_id`` (features of the global model) when
                ``series_attributes`` is not given.
            calendar: M5-style calendar covering the horizon (events, SNAP, ``wm_yr_wk``).
            prices: ``store_id, item_id, wm_yr_wk, sell_price`` covering the horizon.
            series_info: Pre-window ``store_id, item_id, hist_rate, hist_scale`` (optional).
            series_attributes: One row per series: ``id_cols`` and ``dept_id, cat_id,
                state_id`` (features of the global model); None takes them from ``history``.
            champion: Registry champion to compete with the challenger (None: no registry).
            long_inputs: Known-ahead feeds of the long series (see :class:`LongInputs`).
            as_of: Last day of history to use (inclusive); defaults to the last date.
            id_cols: Columns that together identify a series.
            time_col: Date column.
            target_col: Demand column.

        Returns:
            The forecast, the backtest, the parameters and per-stage timings.

        Raises:
            ValueError: If the history is invalid (the message names each bad column and
                its number of bad rows) or ``as_of`` or ``holdout_days`` do not fit it.
        """
        started = perf_counter()
        seconds: dict[str, float] = {}
        id_cols = list(id_cols)
        cols = {"id_cols": id_cols, "time_col": time_col, "target_col": target_col}
        with _timed(seconds, "prepare"):
            prepared = prepare_history(history, as_of=as_of, **cols)
        attributes = history if series_attributes is None else series_attributes
        long_mask = long_series_mask(prepared, self.long_history_days) if self.long_history_days is not None else None
        with _timed(seconds, "backtest"), ThreadPoolExecutor(max_workers=1, thread_name_prefix="backtest") as pool:
            # statsforecast backtests in its worker processes while this thread builds the long
            # series' inputs (pandas): the two overlap instead of taking turns
            pending = pool.submit(copy_context().run, backtest_holdout, prepared, models=self.models,
                                  holdout_days=self.holdout_days, n_windows=self.n_windows, n_jobs=self.n_jobs,
                                  min_history=self.min_history, interval=BACKTEST_INTERVAL, **cols)
            long_prep = prepare_long(prepared, mask=long_mask, inputs=long_inputs, attributes=attributes,
                                     id_cols=id_cols, weather=self.long_weather,
                                     origin=prepared.as_of - pd.Timedelta(days=self.holdout_days)) \
                if long_mask is not None and long_mask.any() else None
            holdout = pending.result()
        with _timed(seconds, "refit"):
            statistical = refit_statistical(prepared, holdout.result, horizon=self.horizon, n_jobs=self.n_jobs,
                                            min_history=self.min_history)
        global_fit = None
        with _timed(seconds, "global"):
            if self.global_model:
                global_fit = fit_global(
                    prepared, holdout, statistical.dates, id_cols=id_cols,
                    attributes=attributes,
                    calendar=calendar, prices=prices, series_info=series_info, champion=champion,
                    regression_threshold=self.regression_threshold, model_factory=self.model_factory)
        long_fit = None
        with _timed(seconds, "long_history"):
            if self.long_history_days is not None:
                long_fit = fit_long_history(
                    prepared, holdout, statistical.dates, mask=long_mask, inputs=long_inputs, attributes=attributes,
                    id_cols=id_cols, weather=self.long_weather, n_jobs=self.n_jobs,
                    max_train_rows=self.long_max_train_rows, prep=long_prep)
        with _timed(seconds, "choose"):
            choice = choose_models(holdout, statistical, global_fit, interval=BACKTEST_INTERVAL,
                                   target_col=target_col)
            report = None
            if long_fit is not None:
                choice, report = choose_long(choice, holdout, long_fit)
        with _timed(seconds, "quantiles"):
            quantiles = add_quantiles(prepared, statistical, choice, holdout, quantiles=self.quantiles,
                                      min_history=self.min_history, id_cols=id_cols, time_col=time_col)
        forecast = quantiles.forecast
        forecast["weather_source"] = source_labels(choice, long_fit, len(statistical.dates)).ravel()
        # the long-history model's series are planned on its calibrated quantiles' spread: on
        # validation replays it plans them as well as level_variance does (benchmarks.frontier_validation
        # --long), and it is what the 280-series frontier measures
        forecast.loc[(forecast["model"] == LONG_HISTORY_MODEL).to_numpy(), "yhat_var"] = float("nan")
        seconds["total"] = perf_counter() - started
        outcome = global_fit.outcome if global_fit is not None else None
        params = self._params(prepared, choice, quantiles, global_fit)
        if long_fit is not None:
            params |= {"long_history_days": int(self.long_history_days), "long_n_series": int(long_fit.mask.sum()),
                       "long_n_rows": long_fit.n_rows, "long_history_used": report.used,
                       "long_weather_on": report.weather_on}
        return ForecastRun(forecast=forecast, backtest=choice.backtest, params=params,
                           seconds=seconds, global_outcome=outcome, segment_choice=choice.segment_choice,
                           warnings=list(outcome.warnings) if outcome is not None else [], long_history=report)

    def _params(self, prepared: PreparedHistory, choice: ModelChoice, quantiles: QuantileForecast,
                global_fit: GlobalFit | None) -> dict[str, Any]:
        """The run's parameters and sizes as plain values (MLflow params, the run record)."""
        bt = choice.backtest
        outcome = global_fit.outcome if global_fit is not None else None
        levels = quantiles.levels
        model_counts = pd.Series(choice.labels).value_counts().to_dict()
        params = {
            "horizon": int(self.horizon),
            "models": list(self.models),
            "quantiles": [float(q) for q in self.quantiles],
            "quantile_levels_calibrated": [round(levels[float(q)], 4) for q in self.quantiles],
            "holdout_days": int(self.holdout_days),
            "backtest_windows": len(bt.cutoffs),
            "backtest_step_days": int(bt.step_days),
            "backtest_cutoffs": [c.date().isoformat() for c in bt.cutoffs],
            "as_of": prepared.as_of.date().isoformat(),
            "backtest_cutoff": bt.cutoff.date().isoformat(),
            "min_history": int(self.min_history),
            "n_jobs": int(self.n_jobs),
            "chosen_model": bt.best_model,
            "ensemble_members": list(bt.ensemble_members),
            "global_model": bool(self.global_model),
            "global_source": outcome.source if outcome else "off",
            "regression_threshold": float(self.regression_threshold),
            "models_used": {str(k): int(v) for k, v in model_counts.items()},
            "n_series": prepared.n_series,
            "n_history_rows": len(prepared.frame),
            "n_series_short_history": quantiles.n_short,
            "n_series_zero_padded": prepared.n_padded,
            "backtest_n_series": bt.n_series,
            "backtest_n_series_mase": bt.n_series_mase,
            "pooled_dispersion_median": (float(quantiles.dispersion.median()) if len(quantiles.dispersion)
                                         else float("nan")),
            **{f"holdout_below_{name}": share for name, share in quantiles.share_below.items()},
        }
        if outcome is not None:
            params.update({f"holdout_mase_{k}": float(v) for k, v in outcome.scores.items()})
            params["champion_scoring"] = outcome.champion_scoring
        return params


@contextmanager
def _timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    started = perf_counter()
    try:
        yield
    finally:
        seconds[stage] = perf_counter() - started
