"""The long-history stage of :class:`forecasting.forecaster.DemandForecaster`.

Series with at least ``min_days`` days of history up to the origin are forecast by a
:class:`~forecasting.long_history.LongHistoryForecaster` fitted on their full history with the
known-ahead inputs the warehouse has (prices, SNAP days, promotions, events, store weather):

1. :func:`long_series_mask` says which series are long;
2. :func:`fit_long_history` backtests the model from the run's first backtest origin over the
   whole holdout, with and without the weather (what the weather is worth on this split),
   keeps the weather only if it lowers the RMSSE, and fits the model on the full history;
3. :func:`choose_long` compares, over the long series, the long model's backtest with the
   forecast the other candidates would deploy, and uses the long model for them if its
   squared error is lower.

Each forecast row gets a :data:`WEATHER_SOURCES` label (:func:`weather_source`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecasting.covariates import Covariates
from forecasting.distributed import thread_map
from forecasting.frames import DS, UID, Y, series_bounds
from forecasting.history import PreparedHistory
from forecasting.long_history import (
    LGBM_PARAMS,
    FeatureValue,
    LongHistoryForecaster,
    compare_backtests,
    rmsse_scale,
)
from forecasting.stages import HoldoutBacktest, ModelChoice, series_hierarchy
from forecasting.weather_features import WEATHER_FEATURES, weather_features

__all__ = [
    "LONG_HISTORY_MODEL",
    "WEATHER_SOURCES",
    "LongInputs",
    "LongFit",
    "LongReport",
    "long_series_mask",
    "weather_source",
    "LongPrep",
    "prepare_long",
    "fit_long_history",
    "choose_long",
    "source_labels",
    "weather_stores",
]

# Label in the ``model`` column of series forecast by the long-history model.
LONG_HISTORY_MODEL = "long_lightgbm"
# ``forecast``: the weather feed's rows after the last POS date; ``climatology``: the store's
# day-of-year normal; ``none``: no weather behind the row (weather off, not chosen, or no station).
WEATHER_SOURCES: tuple[str, ...] = ("forecast", "climatology", "none")
_NONE = "none"


@dataclass(frozen=True)
class LongInputs:
    """Known-ahead feeds of the long series as the warehouse holds them; every frame is optional.

    Attributes:
        known: ``store_id, item_id, date`` over history and horizon with ``sell_price`` and
            numeric known-ahead columns (e.g. ``snap, on_promotion, discount_pct``).
        events: ``store_id, date, event_type``: past and scheduled events of each store.
        store_weather: ``store_id, date, tmax_f, tmin_f, prcp_in, snow_in, source``
            (``observed``/``forecast``).
    """

    known: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    store_weather: pd.DataFrame | None = None


@dataclass(frozen=True)
class LongFit:
    """The long-history model of a run, as (series x day) matrices in ``PreparedHistory.keys`` order.

    Attributes:
        mask: Which series are long.
        holdout: Backtest forecast over the run's holdout days (NaN for other series).
        forecast: Forecast over the horizon (NaN for other series).
        weather_source: :data:`WEATHER_SOURCES` label per series and forecast day.
        scale: Per series, the mean squared day-to-day change of its history up to the first
            backtest origin (NaN for other series); the RMSSE scale.
        weather: What the weather was worth on the backtest (None without a weather feed).
        weather_on: Whether the forecast uses the weather for any store.
        n_rows: History rows the model was fitted on.
        weather_stores: The stores whose series use the weather (their backtest RMSSE is lower with it).
    """

    mask: np.ndarray
    holdout: np.ndarray
    forecast: np.ndarray
    weather_source: np.ndarray
    scale: np.ndarray
    weather: FeatureValue | None
    weather_on: bool
    n_rows: int
    weather_stores: tuple[str, ...] = ()


@dataclass(frozen=True)
class LongReport:
    """The long series' holdout: the long model against the forecast the other candidates deploy.

    Attributes:
        n_series: Long series scored on the holdout.
        rmse_long: Pooled RMSE of the long model.
        rmse_previous: Pooled RMSE of the other candidates' deployed forecast.
        rmsse_long: Mean per-series RMSSE of the long model.
        rmsse_previous: Mean per-series RMSSE of the other candidates' deployed forecast.
        used: Whether the long series are forecast by the long model (``rmse_long < rmse_previous``).
        weather: What the weather was worth (see :class:`LongFit`).
        weather_on: Whether the forecast uses the weather for any store.
        weather_stores: The stores whose series use it.
    """

    n_series: int
    rmse_long: float
    rmse_previous: float
    rmsse_long: float
    rmsse_previous: float
    used: bool
    weather: FeatureValue | None
    weather_on: bool
    weather_stores: tuple[str, ...] = ()

    def weather_table(self) -> pd.DataFrame:
        """One row per store (``all`` first): RMSSE with and without weather, and the decision."""
        if self.weather is None:
            return pd.DataFrame({"segment": ["all"], "rmsse_with_weather": [np.nan],
                                 "rmsse_without_weather": [np.nan], "weather": ["no weather feed"]})
        w = self.weather
        rows = [{"segment": "all", "rmsse_with_weather": w.with_features, "rmsse_without_weather": w.without_features}]
        if w.per_segment is not None:
            rows += [{"segment": str(r.segment), "rmsse_with_weather": r["with"], "rmsse_without_weather": r.without}
                     for _, r in w.per_segment.iterrows()]
        table = pd.DataFrame(rows)
        table["weather"] = np.where(table["rmsse_with_weather"] < table["rmsse_without_weather"], "on", "off")
        n = len(table) - 1
        table.loc[0, "weather"] = (f"on for {len(self.weather_stores)} of {n} stores" if n
                                   else ("on" if self.weather_on else "off"))
        return table


def long_series_mask(history: PreparedHistory, min_days: int) -> np.ndarray:
    """Which series have at least ``min_days`` days of history up to the origin.

    Args:
        history: The prepared history (cut at the origin, padded up to it).
        min_days: Days that make a series long.

    Returns:
        One flag per row of ``history.keys``.
    """
    ids, counts, _ = series_bounds(history.frame)
    mask = np.zeros(history.n_series, dtype=bool)
    mask[ids] = counts >= min_days
    return mask


def weather_source(days: pd.DataFrame, store_weather: pd.DataFrame | None, *, origin: pd.Timestamp | str,
                   use_weather: bool) -> np.ndarray:
    """Where the weather of each forecast day comes from: ``forecast``, ``climatology`` or ``none``.

    A day gets ``forecast`` when the store has a ``source = 'forecast'`` row dated that day and
    after ``origin``; otherwise ``climatology`` when the store has observed weather up to
    ``origin`` (its day-of-year normal); otherwise, or with ``use_weather`` False, ``none``.

    Args:
        days: ``store_id, date``: the forecast days (after ``origin``).
        store_weather: The ``store_weather`` rows (None: no weather feed).
        origin: Last day of history.
        use_weather: Whether the forecast uses the weather.

    Returns:
        One label per row of ``days``.
    """
    if not use_weather or store_weather is None or store_weather.empty:
        return np.full(len(days), _NONE, dtype=object)
    origin = pd.Timestamp(origin)
    source = weather_features(store_weather, days, origin=origin)["weather_source"].to_numpy(dtype=object)
    wx_dates = pd.to_datetime(store_weather["date"])
    observed = store_weather.loc[(store_weather["source"] == "observed") & (wx_dates <= origin), "store_id"]
    has_normal = days["store_id"].isin(set(observed)).to_numpy()
    return np.where((source == "climatology") & ~has_normal, _NONE, source)


def _long_frame(history: PreparedHistory, mask: np.ndarray, series_keys: pd.DataFrame,
                static: Sequence[str]) -> pd.DataFrame:
    """The long series' rows as ``unique_id, ds, y`` plus the static columns as categoricals of text
    (what the model takes; built once here, not per row for every fit)."""
    frame = history.frame
    rows = mask[frame[UID].to_numpy()]
    df = frame.loc[rows, [UID, DS, Y]].reset_index(drop=True)
    ids = df[UID].to_numpy()
    for c in static:
        values = pd.Categorical(series_keys[c].astype(str).to_numpy()[mask])  # categories: the long series' own
        codes = np.full(len(mask), -1, dtype=values.codes.dtype)
        codes[mask] = values.codes
        df[c] = pd.Categorical.from_codes(codes[ids], categories=values.categories)
    return df


def _days(values: pd.Series) -> pd.Series:
    # DuckDB hands dates over in microseconds; the history's days are nanoseconds (as-of joins need one unit)
    return pd.to_datetime(values).astype("datetime64[ns]")


def _covariates(inputs: LongInputs, keys: pd.DataFrame, codes: np.ndarray, id_cols: Sequence[str]) -> Covariates:
    """The warehouse's frames keyed by series code (``unique_id``) and day (``ds``)."""
    id_cols = list(id_cols)
    coded = keys[id_cols].iloc[codes].astype(str).assign(unique_id=codes)
    series = coded if "store_id" in id_cols else coded.assign(store_id="all")
    prices = known = None
    if inputs.known is not None and len(inputs.known):
        k = inputs.known.astype({c: str for c in id_cols}).merge(coded, on=id_cols, how="inner")
        k = k.rename(columns={"date": DS}).assign(ds=lambda f: _days(f[DS]))
        if "sell_price" in k:
            prices = k[[UID, DS, "sell_price"]].rename(columns={"sell_price": "price"})
        extra = [c for c in k.columns if c not in (*id_cols, UID, DS, "sell_price")]
        known = k[[UID, DS, *extra]].astype({c: np.float32 for c in extra}) if extra else None
    events, event_by = None, ()
    if inputs.events is not None and len(inputs.events):
        events = inputs.events.assign(date=_days(inputs.events["date"]))
        if "store_id" in id_cols:
            event_by = ("store_id",)
        else:
            events = events[["date", "event_type"]].drop_duplicates()
    weather = None
    if inputs.store_weather is not None and len(inputs.store_weather) and "store_id" in id_cols:
        weather = inputs.store_weather.assign(date=_days(inputs.store_weather["date"]))
    return Covariates(series=series, prices=prices, known=known, events=events, event_by=event_by,
                      store_weather=weather)


def _matrix(pred: pd.DataFrame, dates: pd.DatetimeIndex, shape: tuple[int, int], col: str = "yhat") -> np.ndarray:
    out = np.full(shape, np.nan)
    cols = dates.get_indexer(pd.to_datetime(pred[DS]))
    ok = cols >= 0
    out[pred[UID].to_numpy()[ok], cols[ok]] = pred[col].to_numpy(dtype=np.float64)[ok]
    return out


def _scale(df: pd.DataFrame, origin: pd.Timestamp, n_series: int) -> np.ndarray:
    return rmsse_scale(df, origin).reindex(np.arange(n_series)).to_numpy(dtype=np.float64)


@dataclass(frozen=True)
class LongPrep:
    """The long-history stage's inputs, built before its fits (see :func:`prepare_long`).

    Attributes:
        frame: The long series' rows (``unique_id, ds, y`` and the static columns).
        covariates: Their known-ahead inputs: with and without the weather when there is a
            weather feed (two views of one build per set of rows), else one.
        static: Static feature columns.
        series: Series code (``unique_id``) -> id columns and ``store_id``.
        store_weather: The weather feed by store and day (None without one).
    """

    frame: pd.DataFrame
    covariates: tuple[_CovariatesView, ...]
    static: tuple[str, ...]
    series: pd.DataFrame
    store_weather: pd.DataFrame | None

    @property
    def has_weather(self) -> bool:
        return len(self.covariates) == 2


def _long_model(static: Sequence[str], horizon: int, n_jobs: int, max_train_rows: int) -> LongHistoryForecaster:
    return LongHistoryForecaster(horizon=horizon, calibrate=False, static_features=tuple(static),
                                 params={**LGBM_PARAMS, "n_jobs": int(n_jobs)}, max_train_rows=max_train_rows)


def _threads_each(n_jobs: int, fits: int) -> int:
    """Each fit's share of ``n_jobs`` LightGBM threads (at most the machine's cores: more busy-wait
    each other, see ``forecasting.lgbm``) when ``fits`` run side by side; at least one."""
    return max(1, min(int(n_jobs), os.cpu_count() or 1) // max(fits, 1))


def prepare_long(
    history: PreparedHistory,
    *,
    mask: np.ndarray,
    inputs: LongInputs | None,
    attributes: pd.DataFrame,
    id_cols: Sequence[str],
    weather: bool = True,
    origin: pd.Timestamp | None = None,
) -> LongPrep:
    """The long series' frame and covariates; with ``origin``, also their backtest inputs.

    Building the inputs of the backtest's training rows is pandas work: done here, it can run
    while the statsforecast backtest runs in its worker processes (see ``DemandForecaster``).

    Args:
        history: The prepared history.
        mask: Which series are long (:func:`long_series_mask`).
        inputs: The warehouse's known-ahead feeds (None: history alone).
        attributes: Where the hierarchy columns come from (see :func:`series_hierarchy`).
        id_cols: Series id columns.
        weather: Allow the weather.
        origin: The backtest's first origin, whose training rows' inputs are built now.

    Returns:
        What :func:`fit_long_history` fits on.
    """
    id_cols = list(id_cols)
    series_keys = series_hierarchy(history.keys, attributes, id_cols)
    static = tuple(c for c in ("store_id", "dept_id") if c in series_keys.columns)
    df = _long_frame(history, mask, series_keys, static)
    cov = _covariates(inputs or LongInputs(), history.keys, np.flatnonzero(mask), id_cols)
    if not weather:
        cov = cov.without_weather()
    shared = _SharedCovariates(cov)
    variants = (shared.view(weather=True), shared.view(weather=False)) if cov.has_weather else (shared.view(weather=True),)
    if origin is not None and len(df):
        origin = pd.Timestamp(origin)
        shared.build(LongHistoryForecaster(static_features=static).training_rows(df, origin), origin=origin)
    return LongPrep(frame=df, covariates=variants, static=static, series=cov.series,
                    store_weather=cov.store_weather if cov.has_weather else None)


def fit_long_history(
    history: PreparedHistory,
    holdout: HoldoutBacktest,
    forecast_dates: pd.DatetimeIndex,
    *,
    mask: np.ndarray,
    inputs: LongInputs | None,
    attributes: pd.DataFrame,
    id_cols: Sequence[str],
    weather: bool = True,
    n_jobs: int = 1,
    max_train_rows: int = 200_000,
    prep: LongPrep | None = None,
) -> LongFit | None:
    """Backtest, weather value and fit of the long-history model on the series in ``mask``.

    The backtest forecasts the whole holdout from the run's first origin (one refit instead of
    one per origin: the later windows are forecast from further away than the other candidates'
    are, which can only flatter them). The weather's worth is the RMSSE of that backtest with
    and without the weather features, per store; the series of a store use the weather only if
    its RMSSE is lower with it (one final fit with and one without the weather when stores differ).

    Args:
        history: The prepared history.
        holdout: The statsforecast backtest (its origins and days are reused).
        forecast_dates: Days to forecast.
        mask: Which series are long (:func:`long_series_mask`).
        inputs: The warehouse's known-ahead feeds (None: history alone).
        attributes: Where the hierarchy columns come from (see :func:`series_hierarchy`).
        id_cols: Series id columns.
        weather: Allow the weather (False: never use it, and do not measure it).
        n_jobs: LightGBM threads in all: fits side by side share them (two fits, one thread each);
            a lone fit takes them all.
        max_train_rows: Training rows are sampled (seeded) above this many.
        prep: :func:`prepare_long` of the same arguments, already built (None: built here).

    Returns:
        The fit, or None when no series is long.
    """
    if not mask.any():
        return None
    if prep is None:
        prep = prepare_long(history, mask=mask, inputs=inputs, attributes=attributes, id_cols=id_cols,
                            weather=weather)
    df, variants = prep.frame, list(prep.covariates)
    horizon = len(forecast_dates)
    origin, n_series = holdout.result.cutoffs[0], history.n_series
    h_days = len(holdout.dates)
    # the two backtests (and below the two final fits) are independent LightGBM fits, which
    # release the GIL: side by side, sharing the threads
    each = _long_model(prep.static, horizon, _threads_each(n_jobs, len(variants)), max_train_rows)
    backtests = thread_map(lambda c: replace(each).backtest(df, origin=origin, covariates=c, h=h_days), variants)
    store = prep.series.set_index(UID)["store_id"].astype(str)
    value, stores = None, ()
    if prep.has_weather:
        value = compare_backtests(backtests[0], backtests[1], df, origin=origin, segments=store)
        stores = weather_stores(value)
    on = store.isin(stores)  # per series code: forecast with the weather
    chosen = _pick(backtests[0], backtests[-1], on)
    finals = [c for c, use in ((variants[0], on.any()), (variants[-1], not on.all())) if use]
    each = _long_model(prep.static, horizon, _threads_each(n_jobs, len(finals)), max_train_rows)
    preds = thread_map(lambda c: replace(each).fit(df, covariates=c).predict(), finals)
    pred = _pick(preds[0], preds[-1], on) if len(preds) == 2 else preds[0]
    shape = (n_series, len(forecast_dates))
    days = pd.DataFrame({"store_id": store.reindex(pred[UID]).to_numpy(), "date": pd.to_datetime(pred[DS]).to_numpy()})
    labels = np.full(shape, _NONE, dtype=object)
    cols = forecast_dates.get_indexer(days["date"])
    ok = cols >= 0
    source = weather_source(days, prep.store_weather, origin=history.as_of, use_weather=bool(stores))
    source = np.where(days["store_id"].isin(stores).to_numpy(), source, _NONE)
    labels[pred[UID].to_numpy()[ok], cols[ok]] = source[ok]
    return LongFit(mask=mask, holdout=_matrix(chosen, holdout.dates, (n_series, h_days)),
                   forecast=_matrix(pred, forecast_dates, shape), weather_source=labels,
                   scale=_scale(df, origin, n_series), weather=value, weather_on=bool(stores), n_rows=len(df),
                   weather_stores=stores)


class _SharedCovariates:
    """One :meth:`Covariates.build` per set of rows and origin for the with- and without-weather fits.

    The two fits of a round run side by side on the same rows and origin; building their inputs
    twice (under the GIL) would cost as much as building them once and then waiting.
    """

    def __init__(self, covariates: Covariates):
        self.covariates = covariates
        self._lock = threading.Lock()
        self._built: dict[tuple, pd.DataFrame] = {}

    def view(self, *, weather: bool) -> _CovariatesView:
        return _CovariatesView(self, weather)

    def build(self, rows: pd.DataFrame, *, origin: pd.Timestamp) -> pd.DataFrame:
        key = (pd.Timestamp(origin), len(rows), int(pd.util.hash_pandas_object(rows[[UID, DS]], index=False).sum()))
        with self._lock:
            if key not in self._built:
                self._built[key] = self.covariates.build(rows, origin=origin)
            # callers add and take off columns (``age``, ``weather_source``), never write into one:
            # each gets its own frame over the shared columns
            return self._built[key].copy(deep=False)


class _CovariatesView:
    """The shared build with or without its weather columns (what ``Covariates.without_weather`` builds)."""

    def __init__(self, shared: _SharedCovariates, weather: bool):
        self.shared, self.weather = shared, weather

    def build(self, rows: pd.DataFrame, *, origin: pd.Timestamp) -> pd.DataFrame:
        x = self.shared.build(rows, origin=origin)
        return x if self.weather else x.drop(columns=[*WEATHER_FEATURES, "weather_source"], errors="ignore")


def weather_stores(value: FeatureValue) -> tuple[str, ...]:
    """The stores (segments of ``value``) whose backtest RMSSE is lower with the weather than without.

    Raises:
        ValueError: ``value`` has no per-store breakdown.
    """
    table = value.per_segment
    if table is None:
        raise ValueError("weather_stores needs the weather's value per store (compare_backtests(segments=...))")
    return tuple(sorted(table.loc[table["with"] < table["without"], "segment"].astype(str)))


def _pick(with_weather: pd.DataFrame, without: pd.DataFrame, on: pd.Series) -> pd.DataFrame:
    """Rows of ``with_weather`` for the series ``on`` says, of ``without`` for the others."""
    use = with_weather[UID].map(on).eq(True).to_numpy()
    keep = ~without[UID].map(on).eq(True).to_numpy()
    return pd.concat([with_weather[use], without[keep]], ignore_index=True)


def _rmsse(pred: np.ndarray, actual: np.ndarray, scale: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        per_series = np.sqrt(np.mean((pred - actual) ** 2, axis=1) / scale)
    return float(np.nanmean(per_series)) if np.isfinite(per_series).any() else float("nan")


def choose_long(choice: ModelChoice, holdout: HoldoutBacktest, long_fit: LongFit) -> tuple[ModelChoice, LongReport]:
    """The long model for the long series if its backtest squared error beats the deployed forecast's.

    One decision for all long series, on their pooled squared error over the holdout (the
    criterion of the per-segment choice).

    Args:
        choice: The forecast the other candidates deploy.
        holdout: The statsforecast backtest (actuals).
        long_fit: The long-history model.

    Returns:
        The (possibly updated) choice and the comparison.
    """
    actual = holdout.actual
    rows = long_fit.mask & np.isfinite(actual).all(axis=1) & np.isfinite(long_fit.holdout).all(axis=1)
    a, new, old = actual[rows], long_fit.holdout[rows], choice.holdout[rows]
    rmse = lambda p: float(np.sqrt(np.mean((p - a) ** 2))) if a.size else float("nan")  # noqa: E731
    rmse_long, rmse_prev = rmse(new), rmse(old)
    used = bool(rows.any() and rmse_long < rmse_prev)
    report = LongReport(n_series=int(rows.sum()), rmse_long=rmse_long, rmse_previous=rmse_prev,
                        rmsse_long=_rmsse(new, a, long_fit.scale[rows]),
                        rmsse_previous=_rmsse(old, a, long_fit.scale[rows]), used=used,
                        weather=long_fit.weather, weather_on=long_fit.weather_on,
                        weather_stores=long_fit.weather_stores)
    if not used:
        return choice, report
    take = long_fit.mask & np.isfinite(long_fit.forecast).all(axis=1)
    mean, labels, chosen = choice.mean.copy(), choice.labels.copy(), choice.holdout.copy()
    mean[take], labels[take] = long_fit.forecast[take], LONG_HISTORY_MODEL
    hold_ok = take & np.isfinite(long_fit.holdout).all(axis=1)
    chosen[hold_ok] = long_fit.holdout[hold_ok]
    bt = choice.backtest
    preds = bt.predictions
    # the deployed backtest column follows the choice (rows are series code x holdout day)
    cells = holdout.cols >= 0
    deployed = preds["deployed"].to_numpy(dtype=np.float64).copy()
    deployed[cells] = chosen[holdout.codes[cells], holdout.cols[cells]]
    preds["deployed"] = deployed
    return replace(choice, mean=mean, labels=labels, holdout=chosen), report


def source_labels(choice: ModelChoice, long_fit: LongFit | None, horizon: int) -> np.ndarray:
    """Per series and forecast day, the weather source of the deployed forecast."""
    n = len(choice.labels)
    if long_fit is None:
        return np.full((n, horizon), _NONE, dtype=object)
    used = (choice.labels == LONG_HISTORY_MODEL)[:, None]
    return np.where(used, long_fit.weather_source, _NONE)
