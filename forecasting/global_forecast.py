"""The global LightGBM inside the production forecast: challenger vs champion, fallback.

Steps (all vectorised over series):

1. fit a challenger on the history up to the backtest cutoff and forecast the holdout;
   the registry's champion (if any) forecasts the same holdout from the same features;
2. the better of the two on holdout MASE is used; a challenger that wins is refitted on
   the whole history (and is to be promoted), a champion that wins forecasts as it is;
3. a champion that fails to load or predict, or a used model whose holdout MASE is worse
   than seasonal naive's by more than ``regression_threshold``, means falling back to
   seasonal naive, with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.features import Panel, build_panel
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
        scores: Holdout MASE of ``challenger``, ``champion`` (if any), ``seasonal_naive``.
        warnings: Human-readable reasons for a fallback or a failed champion.
    """

    keys: pd.DataFrame
    holdout: np.ndarray
    forecast: np.ndarray | None
    model: GlobalLGBM | None
    source: str
    promote: bool
    scores: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


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
    out = keys[list(id_cols)].loc[np.repeat(np.arange(len(keys)), len(dates))].reset_index(drop=True)
    out[time_col] = np.tile(dates.to_numpy(), len(keys))
    out[value_col] = np.asarray(values, dtype=np.float64).ravel()
    return out


def _scaled_mase(actual: np.ndarray, pred: np.ndarray, scale: np.ndarray) -> float:
    ok = np.isfinite(actual)
    return mase(actual[ok], pred[ok], np.broadcast_to(scale[:, None], actual.shape)[ok])


def _panel(history: pd.DataFrame, extra: pd.DatetimeIndex, covariates: dict, cols: dict) -> Panel:
    return build_panel(history, extra_dates=extra, **covariates, **cols)


def run_global(
    history: pd.DataFrame,
    *,
    cutoff: pd.Timestamp,
    holdout_dates: pd.DatetimeIndex,
    forecast_dates: pd.DatetimeIndex,
    actual_holdout: pd.DataFrame,
    seasonal_naive_holdout: pd.DataFrame,
    scale: pd.DataFrame,
    calendar: pd.DataFrame | None = None,
    prices: pd.DataFrame | None = None,
    series_info: pd.DataFrame | None = None,
    champion: Champion | None = None,
    regression_threshold: float = 0.05,
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
    model_factory: type[GlobalLGBM] = GlobalLGBM,
) -> GlobalOutcome:
    """Backtest challenger and champion, pick one, refit if needed, or fall back.

    Args:
        history: Daily history up to the forecast origin (may carry hierarchy columns).
        cutoff: Last training day of the backtest.
        holdout_dates: Days after ``cutoff`` scored in the backtest.
        forecast_dates: Days to forecast after the origin.
        actual_holdout: Long ``id_cols, time_col, target_col`` actuals of the holdout.
        seasonal_naive_holdout: Long ``id_cols, time_col, seasonal_naive`` of the holdout.
        scale: Per series ``id_cols, scale`` (MASE denominator of the backtest train).
        calendar: M5-style calendar (optional).
        prices: ``store_id, item_id, wm_yr_wk, sell_price`` (optional).
        series_info: ``store_id, item_id, hist_rate, hist_scale`` (optional).
        champion: The registry's champion, or None when no registry is used.
        regression_threshold: Largest tolerated excess of the used model's holdout MASE
            over seasonal naive's (0.05 = 5 % worse) before falling back.
        id_cols: Series id columns.
        time_col: Date column.
        target_col: Units column.
        model_factory: Class of the challenger (tests pass a cheaper configuration).

    Returns:
        The outcome; see :class:`GlobalOutcome`.
    """
    cols = {"id_cols": list(id_cols), "time_col": time_col, "target_col": target_col}
    cov = {"calendar": calendar, "prices": prices, "series_info": series_info}
    dates = pd.to_datetime(history[time_col])
    panel_bt = _panel(history[dates <= cutoff], holdout_dates, cov, cols)
    keys = panel_bt.keys
    wide = lambda df, c: to_wide(df, keys, holdout_dates, id_cols=id_cols, time_col=time_col, value_col=c)  # noqa: E731
    actual = wide(actual_holdout, target_col)
    sn = wide(seasonal_naive_holdout, "seasonal_naive")
    key_str = keys[list(id_cols)].astype(str)
    row_scale = key_str.merge(scale.astype({c: str for c in id_cols}), on=list(id_cols), how="left")["scale"]
    row_scale = row_scale.to_numpy(dtype=np.float64)

    challenger = model_factory().fit(panel_bt)
    pred_ch = challenger.predict(panel_bt, holdout_dates)
    scores = {"challenger": _scaled_mase(actual, pred_ch, row_scale), "seasonal_naive": _scaled_mase(actual, sn, row_scale)}
    warnings: list[str] = []
    fallback = lambda msg: GlobalOutcome(keys, sn, None, None, "seasonal_naive", False, scores, [*warnings, msg])  # noqa: E731

    use, source, holdout = challenger, "challenger", pred_ch
    if champion is not None and champion.version is not None:
        if champion.model is None:
            return fallback(f"champion v{champion.version} failed to load ({champion.error}); "
                            "forecasting with seasonal naive")
        try:
            pred_champ = champion.model.predict(panel_bt, holdout_dates)
        except Exception as exc:  # noqa: BLE001 - a champion that cannot predict is a failed champion
            return fallback(f"champion v{champion.version} failed to predict ({type(exc).__name__}: {exc}); "
                            "forecasting with seasonal naive")
        scores["champion"] = _scaled_mase(actual, pred_champ, row_scale)
        if scores["champion"] < scores["challenger"]:
            use, source, holdout = champion.model, "champion", pred_champ
    used = scores[source]
    if not used <= scores["seasonal_naive"] * (1 + regression_threshold):
        return fallback(f"{source} holdout MASE {used:.3f} regressed past seasonal naive "
                        f"{scores['seasonal_naive']:.3f} by more than {100 * regression_threshold:.0f}%; "
                        "forecasting with seasonal naive")
    panel_full = _panel(history, forecast_dates, cov, cols)
    if panel_full.keys[list(id_cols)].astype(str).equals(key_str) is False:
        # New series since the cutoff: realign the holdout rows to the full panel.
        holdout = to_wide(to_long(holdout, keys, holdout_dates, id_cols=id_cols, time_col=time_col, value_col="v"),
                          panel_full.keys, holdout_dates, id_cols=id_cols, time_col=time_col, value_col="v")
    if source == "challenger":
        use = model_factory().fit(panel_full)
    forecast = use.predict(panel_full, forecast_dates)
    return GlobalOutcome(panel_full.keys, holdout, forecast, use, source, source == "challenger", scores, warnings)
