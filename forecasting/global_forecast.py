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

from forecasting.features import Panel, build_panel, panel_until
from forecasting.lgbm import GlobalLGBM
from forecasting.metrics import mase
from forecasting.registry import Champion

__all__ = ["GlobalOutcome", "run_global", "to_wide", "to_long"]


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


def to_wide(long: pd.DataFrame, keys: pd.DataFrame, dates: pd.DatetimeIndex, *, id_cols: Sequence[str],
            time_col: str, value_col: str) -> np.ndarray:
    """Long values -> (len(keys), len(dates)) matrix, NaN where a pair is absent."""
    ids = list(id_cols)
    pos = keys[ids].astype(str).reset_index(drop=True).reset_index().rename(columns={"index": "_row"})
    m = long[[*ids, time_col, value_col]].astype({c: str for c in ids}).merge(pos, on=ids, how="inner")
    col = dates.get_indexer(pd.to_datetime(m[time_col]))
    ok = col >= 0
    out = np.full((len(keys), len(dates)), np.nan)
    out[m["_row"].to_numpy()[ok], col[ok]] = m[value_col].to_numpy(dtype=np.float64)[ok]
    return out


def to_long(values: np.ndarray, keys: pd.DataFrame, dates: pd.DatetimeIndex, *, id_cols: Sequence[str],
            time_col: str, value_col: str) -> pd.DataFrame:
    """(n_series, n_dates) matrix -> long frame, series-major."""
    return pd.DataFrame({**{c: np.repeat(keys[c].to_numpy(), len(dates)) for c in id_cols},
                         time_col: np.tile(dates.to_numpy(), len(keys)),
                         value_col: np.asarray(values, dtype=np.float64).ravel()})


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
    history: pd.DataFrame,
    *,
    cutoff: pd.Timestamp,
    holdout_dates: pd.DatetimeIndex,
    forecast_dates: pd.DatetimeIndex,
    actual_holdout: pd.DataFrame | None,
    seasonal_naive_holdout: pd.DataFrame | None,
    scale: pd.DataFrame | None,
    calendar: pd.DataFrame | None = None,
    prices: pd.DataFrame | None = None,
    series_info: pd.DataFrame | None = None,
    champion: Champion | None = None,
    regression_threshold: float = 0.05,
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
    model_factory: type[GlobalLGBM] = GlobalLGBM,
    cutoffs: Sequence[pd.Timestamp] | None = None,
    panel: Panel | None = None,
    matrices: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> GlobalOutcome:
    """Backtest challenger and champion over rolling origins, pick one, refit, or fall back.

    Args:
        history: Daily history up to the forecast origin (may carry hierarchy columns).
        cutoff: Last training day of the first backtest origin.
        holdout_dates: Days after ``cutoff`` scored in the backtest.
        forecast_dates: Days to forecast after the origin.
        actual_holdout: Long ``id_cols, time_col, target_col`` actuals of the holdout.
        seasonal_naive_holdout: Long ``id_cols, time_col, seasonal_naive`` of the holdout.
        scale: Per series ``id_cols, scale`` (MASE denominator of the backtest train).
        calendar: M5-style calendar (optional).
        prices: ``store_id, item_id, wm_yr_wk, sell_price`` (optional).
        series_info: ``store_id, item_id, hist_rate, hist_scale`` (optional).
        champion: The registry's champion, or None when no registry is used.
        regression_threshold: Largest tolerated excess of the used model's backtest MASE
            over seasonal naive's (0.05 = 5 % worse) before falling back.
        id_cols: Series id columns.
        time_col: Date column.
        target_col: Units column.
        model_factory: Class of the challenger (tests pass a cheaper configuration).
        cutoffs: Last training day of every origin, oldest first (default: ``cutoff``
            alone); origin ``k`` forecasts the holdout days up to the next origin.
        panel: The whole history already as a panel (with ``forecast_dates`` among its
            covariate days); ``history`` is then not read again.
        matrices: Actuals and seasonal naive (panel series x holdout days) and the
            scale per panel series, instead of ``actual_holdout``,
            ``seasonal_naive_holdout`` and ``scale`` (no joins on ids).

    Returns:
        The outcome; see :class:`GlobalOutcome`.
    """
    cols = {"id_cols": list(id_cols), "time_col": time_col, "target_col": target_col}
    cutoffs = [pd.Timestamp(c) for c in (cutoffs if cutoffs is not None else [cutoff])]
    # One panel of the whole history; each origin trains on a slice of it.
    if panel is None:
        panel = build_panel(history, extra_dates=forecast_dates, calendar=calendar, prices=prices,
                            series_info=series_info, **cols)
    keys = panel.keys
    if matrices is not None:
        actual, sn, row_scale = matrices
    else:
        wide = lambda df, c: to_wide(df, keys, holdout_dates, id_cols=id_cols, time_col=time_col,  # noqa: E731
                                     value_col=c)
        actual = wide(actual_holdout, target_col)
        sn = wide(seasonal_naive_holdout, "seasonal_naive")
        key_str = keys[list(id_cols)].astype(str)
        row_scale = key_str.merge(scale.astype({c: str for c in id_cols}), on=list(id_cols), how="left")["scale"]
        row_scale = row_scale.to_numpy(dtype=np.float64)

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
