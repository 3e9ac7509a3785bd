"""The global LightGBM inside the production forecast: challenger vs champion, fallback.

Steps (all vectorised over series):

1. rolling origins: for every backtest origin a challenger is fitted on the history up to
   it and forecasts the window after it; the registry's champion (if any) forecasts the
   same windows. A champion trained on days inside the backtest would be scored on its
   own training data, so then its configuration is refitted per origin, exactly like the
   challenger (when the configuration is the challenger's own, the refits are the
   challenger's fits and are reused);
2. the better of the two on backtest MASE over all origins is used; the challenger is
   refitted on the whole history either way (logged as the run's model) and is promoted
   only if it won; a champion that wins forecasts as it is;
3. a champion that fails to load, refit or predict, or a used model whose backtest MASE
   is worse than seasonal naive's by more than ``regression_threshold``, means falling
   back to seasonal naive, with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.features import Panel, panel_until
from forecasting.lgbm import GlobalLGBM
from forecasting.metrics import mase
from forecasting.registry import Champion

__all__ = ["GlobalOutcome", "run_global"]


@dataclass
class GlobalOutcome:
    """Result of :func:`run_global`.

    Attributes:
        keys: Series of the panel (``id_cols`` as strings), the row order of every matrix.
        holdout: Holdout forecast of the used model, (n_series, holdout_days).
        forecast: Forecast of the used model, (n_series, horizon); None on fallback.
        model: The used model (refitted challenger or champion); None on fallback.
        source: ``challenger``, ``champion`` or ``seasonal_naive`` (fallback).
        promote: Whether the used model should become the champion.
        scores: Backtest MASE of ``challenger``, ``champion`` (if any), ``seasonal_naive``.
        warnings: Human-readable reasons for a fallback or a failed champion.
        challenger: The challenger refitted on the whole history (logged with the run
            even when the champion wins); None on fallback.
        train_end: Last training day of ``challenger``.
        champion_scoring: How the champion was scored: ``as_is`` (it never saw the
            backtest days), ``refit`` (its configuration refitted per origin),
            ``refit_same_config`` (same configuration as the challenger: the
            challenger's fits stand for it) or ``none``.
    """

    keys: pd.DataFrame
    holdout: np.ndarray
    forecast: np.ndarray | None
    model: GlobalLGBM | None
    source: str
    promote: bool
    scores: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    challenger: GlobalLGBM | None = None
    train_end: pd.Timestamp | None = None
    champion_scoring: str = "none"


def _scaled_mase(actual: np.ndarray, pred: np.ndarray, scale: np.ndarray, ok: np.ndarray) -> float:
    return mase(actual[ok], pred[ok], np.broadcast_to(scale[:, None], actual.shape)[ok])


def _windows(cutoffs: Sequence[pd.Timestamp], holdout_dates: pd.DatetimeIndex) -> list[np.ndarray]:
    """Per origin, the holdout columns it forecasts: the days up to the next origin."""
    ends = [*cutoffs[1:], holdout_dates[-1]]
    return [np.flatnonzero((holdout_dates > c) & (holdout_dates <= e)) for c, e in zip(cutoffs, ends, strict=True)]


def _rolling(fit: Callable[[Panel], GlobalLGBM], panel: Panel, cutoffs: Sequence[pd.Timestamp],
             holdout_dates: pd.DatetimeIndex) -> np.ndarray:
    """Backtest matrix (panel series x holdout days): per origin, fit on the days up to it."""
    out = np.full((len(panel.keys), len(holdout_dates)), np.nan)
    full_rows = pd.MultiIndex.from_frame(panel.keys)
    for cut, cols in zip(cutoffs, _windows(cutoffs, holdout_dates), strict=True):  # a few origins
        part = panel_until(panel, cut)
        pred = fit(part).predict(part, holdout_dates[cols])
        rows = np.arange(len(panel.keys)) if len(part.keys) == len(panel.keys) else \
            full_rows.get_indexer(pd.MultiIndex.from_frame(part.keys))
        out[np.ix_(rows, cols)] = pred
    return out


def _same_config(a: dict, b: dict) -> bool:
    return json.loads(json.dumps(a, sort_keys=True)) == json.loads(json.dumps(b, sort_keys=True))


def run_global(
    panel: Panel,
    *,
    cutoffs: Sequence[pd.Timestamp],
    holdout_dates: pd.DatetimeIndex,
    forecast_dates: pd.DatetimeIndex,
    actual: np.ndarray,
    seasonal_naive: np.ndarray,
    scale: np.ndarray,
    champion: Champion | None = None,
    regression_threshold: float = 0.05,
    model_factory: type[GlobalLGBM] = GlobalLGBM,
) -> GlobalOutcome:
    """Backtest challenger and champion over rolling origins, pick one, refit, or fall back.

    Args:
        panel: The whole history as a panel, with ``forecast_dates`` among its covariate days.
        cutoffs: Last training day of every origin, oldest first; origin ``k`` forecasts the
            holdout days up to the next origin.
        holdout_dates: Days after ``cutoffs[0]`` scored in the backtest.
        forecast_dates: Days to forecast after the origin.
        actual: Holdout actuals, (panel series x holdout days), NaN where unseen.
        seasonal_naive: Seasonal naive's backtest forecast of the same cells.
        scale: Per panel series, the MASE denominator of the backtest's training days.
        champion: The registry's champion, or None when no registry is used.
        regression_threshold: Largest tolerated excess of the used model's backtest MASE
            over seasonal naive's (0.05 = 5 % worse) before falling back.
        model_factory: Class of the challenger (tests pass a cheaper configuration).

    Returns:
        The outcome; see :class:`GlobalOutcome`.
    """
    cutoffs = [pd.Timestamp(c) for c in cutoffs]
    keys = panel.keys
    sn, row_scale = seasonal_naive, np.asarray(scale, dtype=np.float64)
    pred_ch = _rolling(lambda p: model_factory().fit(p), panel, cutoffs, holdout_dates)
    # Every candidate is scored on the same cells: those all of them forecast.
    ok = np.isfinite(actual) & np.isfinite(pred_ch) & np.isfinite(sn)
    scores = {"challenger": _scaled_mase(actual, pred_ch, row_scale, ok),
              "seasonal_naive": _scaled_mase(actual, sn, row_scale, ok)}
    warnings: list[str] = []
    scoring = "none"
    fallback = lambda msg: GlobalOutcome(keys, sn, None, None, "seasonal_naive", False, scores,  # noqa: E731
                                         [*warnings, msg], champion_scoring=scoring)

    source, holdout = "challenger", pred_ch
    if champion is not None and champion.version is not None:
        if champion.model is None:
            return fallback(f"champion v{champion.version} failed to load ({champion.error}); "
                            "forecasting with seasonal naive")
        saw_backtest = champion.train_end is None or champion.train_end > cutoffs[0]
        try:
            if not saw_backtest:
                scoring = "as_is"
                pred_champ = _rolling(lambda p: champion.model, panel, cutoffs, holdout_dates)
            elif champion.config is not None and _same_config(champion.config, model_factory().config()):
                scoring = "refit_same_config"
                pred_champ = pred_ch
            else:
                scoring = "refit"
                config = champion.config or champion.model.config()
                pred_champ = _rolling(lambda p: GlobalLGBM.from_config(config).fit(p), panel, cutoffs, holdout_dates)
        except Exception as exc:  # noqa: BLE001 - a champion that cannot refit or predict is a failed champion
            return fallback(f"champion v{champion.version} failed to predict ({type(exc).__name__}: {exc}); "
                            "forecasting with seasonal naive")
        scores["champion"] = _scaled_mase(actual, pred_champ, row_scale, ok)
        if scores["champion"] < scores["challenger"]:
            source, holdout = "champion", pred_champ
    used = scores[source]
    if not used <= scores["seasonal_naive"] * (1 + regression_threshold):
        return fallback(f"{source} backtest MASE {used:.3f} regressed past seasonal naive "
                        f"{scores['seasonal_naive']:.3f} by more than {100 * regression_threshold:.0f}%; "
                        "forecasting with seasonal naive")
    challenger = model_factory().fit(panel)
    use = challenger if source == "challenger" else champion.model
    forecast = use.predict(panel, forecast_dates)
    return GlobalOutcome(keys, holdout, forecast, use, source, source == "challenger", scores, warnings,
                         challenger=challenger, train_end=panel.dates[-1], champion_scoring=scoring)
