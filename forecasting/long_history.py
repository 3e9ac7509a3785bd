"""A global LightGBM (mlforecast) for daily series of any history length, with calibrated quantiles.

One model serves series with years of history, weeks of it and new ones: every lag and
rolling statistic is computed from what each series has (lags up to 364 days; rolling
means from 7 to 364 days with a minimum of one observation, so a 2-week series gets its
2-week mean in the 28-day slot), and ``age`` (days of history, capped at a year) tells
the trees how far to trust the long windows. Known-ahead inputs come from a
:class:`~forecasting.covariates.Covariates` (price and price change, promotions, days
to/since each event type, weather), built as they were known at each origin.

Quantiles are negative-binomial quantiles around the mean whose levels are calibrated per
history-length group (``long``, ``short``, ``new``) on three windows: the two just before the
origin and the one a year before the forecast window, which saw the season ahead. The model is
refitted at ``origin - horizon``, ``origin - 2 * horizon`` and ``origin - 364 days`` on each series' history
cut to the depth it has at the origin (longer series stand in when a group has no such
history), and the levels that give those windows together their nominal coverage are used.

Example::

    fc = LongHistoryForecaster(horizon=28, quantiles=(0.1, 0.5, 0.9)).fit(df, covariates=cov)
    out = fc.predict()   # unique_id, ds, yhat, yhat_q10, yhat_q50, yhat_q90, group, ...
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from forecasting.calibration import coverage_levels, history_group, mix_weights, seasonal_dispersion
from forecasting.covariates import Covariates
from forecasting.distributed import library_call
from forecasting.frames import sorted_by
from forecasting.quantiles import negbin_quantiles, quantile_column

__all__ = [
    "LGBM_PARAMS",
    "SMALL_DATA_PARAMS",
    "DEFAULT_LAGS",
    "DEFAULT_WINDOWS",
    "LongHistoryForecaster",
    "FeatureValue",
    "compare_backtests",
    "feature_value",
    "weather_value",
    "rmsse_scale",
    "weekday_mean",
]

DEFAULT_LAGS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 14, 21, 28, 35, 42, 49, 56, 364)
DEFAULT_WINDOWS: tuple[int, ...] = (7, 14, 28, 56, 91, 182, 364)

LGBM_PARAMS: dict[str, Any] = {
    "objective": "tweedie",
    "tweedie_variance_power": 1.2,
    "learning_rate": 0.07,
    "n_estimators": 300,
    "num_leaves": 63,
    "min_child_samples": 100,
    "colsample_bytree": 0.8,
    "subsample": 0.7,
    "subsample_freq": 1,
    "reg_lambda": 0.1,
    "max_bin": 127,
    "verbosity": -1,
    "n_jobs": 2,
}

SMALL_DATA_PARAMS: dict[str, Any] = {"num_leaves": 7, "min_child_samples": 50, "n_estimators": 100}

# Missing weather values (a station that never reports tmin) are expected: LightGBM routes them.
# Filtered for the process, not per forecast: ``warnings.catch_warnings`` is not thread-safe, and
# fits run side by side on threads (``forecasting.long_stage``).
warnings.filterwarnings("ignore", message="Found null values", category=UserWarning, module="mlforecast")

_WEEKLY_DATE_FEATURES = ("dayofweek",)
_AGE_CAP = 400
_CAL_SEP = "\x1f"


@dataclass
class LongHistoryForecaster:
    """Global mlforecast LightGBM over series of any depth, with per-group calibrated quantiles.

    Attributes:
        horizon: Days forecast after the origin.
        quantiles: Quantile levels returned (``yhat_qNN`` columns).
        lags: Target lags (a lag a series does not have is missing, not zero).
        windows: Rolling-mean windows on lag ``min_lag`` (minimum one observation).
        min_lag: Shortest lag used; 1 forecasts day by day, each day's forecast feeding
            the next day's features; ``horizon`` needs no forecast as input. 7 (default) feeds
            forecasts back a week at a time: on four validation windows of the 280 long M5
            series it scored 0.7 % better than 1, on three bakery windows 0.6 % worse (MAE),
            and it fits in 0.83-0.94x the time (``python -m benchmarks.tune_long``).
        target_transforms: mlforecast target transforms (e.g. ``LocalStandardScaler()`` with an
            L2 objective), applied before the features and undone after the forecast.
        date_features: pandas date attributes used as features.
        static_features: Columns of the history constant per series, used as categoricals.
        params: ``lightgbm.LGBMRegressor`` parameters.
        max_train_rows: Training rows are sampled (seeded) above this many (None: all of them).
        train_days: Train only on the rows of the last this many days before the origin (None:
            all); lags and rolling statistics still see the whole history.
        small_data_rows: Below this many history rows ``small_data_params`` override
            ``params`` (a few weeks of a few hundred series: smaller trees, fewer rounds).
        small_data_params: Overrides for small training sets.
        min_train_age: Training rows need this many days of history before them.
        max_history_days: Cut every series to its last this many days before each origin
            (None: all of it); measures what depth is worth.
        new_days: Series with fewer days of history are ``new``.
        long_days: Series with at least this many days are ``long``.
        calibrate: Calibrate the blend weight and quantile levels on the window(s) before the origin.
        blend_groups: History-length groups whose forecast is blended with the weekday mean
            (weight calibrated); the others use the model alone.
        calibrate_median: Calibrate the 0.5 level too; otherwise the median is the negative
            binomial's own (its calibrated level moved from window to window and cost MAE).
        calibration_windows: How many consecutive ``horizon``-day windows before the origin
            are pooled for the calibration (each one a refit). One window carries its own
            volatility into the levels; three came closer to the nominal coverage at every
            depth (bakery, six validation origins: 28-day series' q90 0.058 from 0.90 on
            average with one window, 0.031 with three; ``python -m benchmarks.calibration_windows``).
        calibration_year_ago: With two or more ``calibration_windows``, the last is the window a
            year (364 days) before the forecast window instead of the one before the others, so
            the levels also see the volatility of the season ahead. On the validation origins
            (``python -m benchmarks.calibration_windows [bakery|m5] [--mixed] --windows 3
            [--recent-only]``) it lowered 16 of 24 mean coverage errors (groups x interval / q90 x
            four panels) and raised 6: the q10-q90 error of the mixed panels' short and new series
            (m5: 0.017 -> 0.028, 0.021 -> 0.027), both errors of the bakery's 14-day series, m5's 28-day q90.
        min_calibration_series: Below this many series of a group with enough history
            before the calibration origin, longer series stand in for the group.
        dispersion_days: Days of recent history the dispersion is estimated from.
        closed_mean: A zero on a day whose weekday mean (4 weeks) is at least this is a closure
            (a closed store, an empty shelf), not demand: left out of the dispersion
            (:func:`~forecasting.calibration.seasonal_dispersion`) and, with
            ``calibrate_without_closures``, of the coverage the quantile levels are set on.
            None: every day counts.
        calibrate_without_closures: Set the levels on the calibration windows' open days only.
            Counted, the bakery's Christmas closures sat below every q10 and widened the
            intervals of the months after them; left out, the coverage error on six bakery
            validation origins fell from 0.044 / 0.046 to 0.041 / 0.040 (q10-q90, full depth /
            28 days; 14 days 0.058 -> 0.064) and from 0.019 / 0.032 / 0.039 to 0.019 / 0.029 /
            0.035 (q90); on four M5 origins it moved by 0.002 at most
            (``python -m benchmarks.calibration_windows [bakery|m5] --windows 3 [--closures]``).
        match_stand_ins: Weigh the stand-ins' calibration rows so their mix of zero-demand days
            matches the group they stand for (:func:`~forecasting.calibration.mix_weights` over the
            share of days without demand); False: every row counts once.
        stand_ins_without_twins: Refit the stand-ins in a panel of their own, without their own
            long copies (a seeded half of the series stands in, the other half stays long): a
            stand-in beside its twin is forecast better than a new series would be. One more
            refit per calibration window, only when a group needs stand-ins. False: one refit,
            stand-ins beside every long copy.
        seed: Seed of row sampling and LightGBM.
        n_models: LightGBM models fitted on the same features with seeds ``seed, seed + 1, ...``
            (each its own row bagging); the forecast is their mean.
    """

    horizon: int = 28
    quantiles: Sequence[float] = (0.1, 0.5, 0.9)
    lags: Sequence[int] = DEFAULT_LAGS
    windows: Sequence[int] = DEFAULT_WINDOWS
    min_lag: int = 7
    target_transforms: Sequence[Any] = ()
    date_features: Sequence[str] = ("dayofweek", "dayofyear", "month", "day")
    static_features: Sequence[str] = ()
    params: Mapping[str, Any] = field(default_factory=lambda: dict(LGBM_PARAMS))
    max_train_rows: int | None = 200_000
    train_days: int | None = None
    small_data_rows: int = 50_000
    small_data_params: Mapping[str, Any] = field(default_factory=lambda: dict(SMALL_DATA_PARAMS))
    min_train_age: int = 7
    max_history_days: int | None = None
    new_days: int = 28
    long_days: int = 366
    calibrate: bool = True
    blend_groups: Sequence[str] = ("short", "new")
    calibrate_median: bool = False
    calibration_windows: int = 3
    calibration_year_ago: bool = True
    min_calibration_series: int = 30
    dispersion_days: int = 91
    closed_mean: float | None = 7.0
    calibrate_without_closures: bool = True
    match_stand_ins: bool = True
    stand_ins_without_twins: bool = True
    seed: int = 0
    n_models: int = 1

    # fitted state
    model_: Any = field(default=None, init=False, repr=False)
    origin_: pd.Timestamp | None = field(default=None, init=False)
    groups_: pd.Series | None = field(default=None, init=False, repr=False)
    levels_: dict[str, dict[float, float]] = field(default_factory=dict, init=False)
    blend_: dict[str, float] = field(default_factory=dict, init=False)
    calibration_: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    seconds_: dict[str, float] = field(default_factory=dict, init=False)

    # ------------------------------------------------------------------ public API
    def fit(self, df: pd.DataFrame, *, covariates: Covariates | None = None) -> LongHistoryForecaster:
        """Fit the model on ``df`` up to its last day and calibrate the quantile levels.

        Args:
            df: ``unique_id, ds, y`` (one row per series-day, no gaps within a series) plus the
                :attr:`static_features` columns. Series may start on any day; they end on the
                same last day (the origin).
            covariates: Known-ahead inputs (optional).

        Returns:
            ``self``, fitted.
        """
        from time import perf_counter

        t0 = perf_counter()
        hist = self._validate(df)
        self._covariates = covariates or Covariates()
        origin = hist["ds"].max()
        train = self._set_history(hist, origin)
        self.levels_, self.blend_ = {}, {}
        if self.calibrate:
            t = perf_counter()
            self._calibrate(hist)
            self.seconds_["calibrate"] = perf_counter() - t
        t = perf_counter()
        self.model_ = self._fit_model(train, origin)
        self.seconds_["fit"] = perf_counter() - t
        self.seconds_["total_fit"] = perf_counter() - t0
        return self

    def predict(self, h: int | None = None) -> pd.DataFrame:
        """Mean and quantiles for the ``h`` days after the origin (default :attr:`horizon`).

        Returns:
            ``unique_id, ds, yhat`` and one ``yhat_qNN`` per level, ``group`` (history-length
            group) and, when weather is used, ``weather_source`` (``forecast``/``climatology``).
        """
        if self.model_ is None:
            raise RuntimeError("LongHistoryForecaster.predict called before fit")
        h = self.horizon if h is None else int(h)
        out = self._predict_mean(self.model_, h, self.origin_)
        group = self.groups_.reindex(out["unique_id"]).to_numpy()
        out["yhat"] = self._blend(out, group)
        disp = self._disp.reindex(out["unique_id"]).to_numpy()
        return self._with_quantiles(out.drop(columns="baseline"), group, disp)

    def _blend(self, out: pd.DataFrame, group: np.ndarray) -> np.ndarray:
        """``w * model + (1 - w) * weekday mean`` with the group's calibrated weight (1 when uncalibrated)."""
        w = pd.Series(self.blend_, dtype=np.float64).reindex(group).fillna(1.0).to_numpy(dtype=np.float64)
        return w * out["yhat"].to_numpy(dtype=np.float64) + (1 - w) * out["baseline"].to_numpy(dtype=np.float64)

    def backtest(self, df: pd.DataFrame, *, origin: pd.Timestamp | str, covariates: Covariates | None = None,
                 h: int | None = None) -> pd.DataFrame:
        """Fit on ``df`` up to ``origin`` (no calibration) and forecast the days after it.

        The forecaster keeps this fit: :meth:`update` then moves it to the last day of ``df``
        without refitting, and :meth:`predict` forecasts from there.

        Returns:
            ``unique_id, ds, yhat`` and ``y`` (actuals from ``df`` where present).
        """
        h = self.horizon if h is None else int(h)
        origin = pd.Timestamp(origin)
        hist = self._validate(df)
        self._covariates = covariates or Covariates()
        train = self._set_history(hist, origin)
        self.levels_, self.blend_ = {}, {}
        self.model_ = self._fit_model(train, origin)
        out = self._predict_mean(self.model_, h, origin).drop(columns="baseline")
        return out.merge(hist[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="left")

    def update(self, df: pd.DataFrame) -> LongHistoryForecaster:
        """Move the fitted model to the last day of ``df`` without refitting its trees.

        The days after the fit's origin feed the lags, rolling statistics, weekday means and
        dispersion of the next :meth:`predict`; the trees stay those of the fit (a refit costs
        a whole fit for a few more training days). The quantile levels stay those of the fit.

        Args:
            df: The history of the same series as the fit (``unique_id, ds, y`` and the static
                features), ending on or after the fit's origin.

        Returns:
            ``self``, with its origin at the last day of ``df``.

        Raises:
            RuntimeError: Before a fit or backtest.
            ValueError: If ``df`` ends before the fit's origin, or its series are not those
                of the fit (the message counts and names them: fit again for other series).
        """
        if self.model_ is None:
            raise RuntimeError("LongHistoryForecaster.update called before fit or backtest")
        hist = self._validate(df)
        ids, fitted = pd.Index(hist["unique_id"].unique()), self.groups_.index
        unknown, missing = ids.difference(fitted), fitted.difference(ids)
        if len(unknown) or len(missing):
            raise ValueError(f"LongHistoryForecaster.update: {len(unknown)} series not in the fit "
                             f"{list(unknown[:3])} and {len(missing)} fitted series missing {list(missing[:3])}; "
                             "fit again for a different set of series")
        origin = hist["ds"].max()
        if origin < self.origin_:
            raise ValueError(f"LongHistoryForecaster.update: the history ends {origin:%Y-%m-%d}, before the "
                             f"fit's origin {self.origin_:%Y-%m-%d}")
        new = hist.loc[hist["ds"] > self.origin_, ["unique_id", "ds", "y"]]
        if len(new):
            with library_call("mlforecast"):
                self.model_.update(new)
        train = self._set_history(hist, origin)
        self.model_._first = self._first_sale(train)
        self.model_._recent = _recent(train, origin)
        return self

    def training_rows(self, df: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
        """``unique_id, ds`` of the rows of ``df`` a fit at ``origin`` trains on (its covariates' rows)."""
        return self._cut(self._validate(df), pd.Timestamp(origin))[["unique_id", "ds"]]

    # ------------------------------------------------------------------ features and model
    def _set_history(self, hist: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
        """The training rows up to ``origin``; sets the origin and each series' days, group and dispersion."""
        train = self._cut(hist, origin)
        days = train.groupby("unique_id", sort=True).size()
        self.origin_, self._days = origin, days
        self.groups_ = pd.Series(history_group(days.to_numpy(), new_days=self.new_days, long_days=self.long_days),
                                 index=days.index, name="group")
        self._disp = self._dispersion(train)
        return train

    def _validate(self, df: pd.DataFrame) -> pd.DataFrame:
        need = ["unique_id", "ds", "y", *self.static_features]
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise ValueError(f"LongHistoryForecaster: history is missing column(s) {missing}")
        hist = df[need].copy()
        hist["ds"] = pd.to_datetime(hist["ds"])
        bad = hist["y"].isna() | (hist["y"] < 0)
        if bad.any():
            row = hist[bad].iloc[0]
            raise ValueError(f"LongHistoryForecaster: column 'y' has {int(bad.sum())} missing or negative values "
                             f"(first: series {row['unique_id']!r}, {row['ds']:%Y-%m-%d})")
        hist = sorted_by(hist, ["unique_id", "ds"])
        last = hist.groupby("unique_id", sort=False)["ds"].max()
        if last.nunique() > 1:
            raise ValueError(f"LongHistoryForecaster: series must end on the same day; last days range "
                             f"{last.min():%Y-%m-%d}..{last.max():%Y-%m-%d} ({int((last < last.max()).sum())} "
                             "series end early: fill their days with zeros)")
        for c in self.static_features:
            hist[c] = _text_categories(hist[c])
        hist["y"] = hist["y"].astype(np.float32)
        return hist

    def _cut(self, hist: pd.DataFrame, origin: pd.Timestamp, depth: int | None = None) -> pd.DataFrame:
        """Rows up to ``origin``, each series cut to its last ``depth`` (or ``max_history_days``) days."""
        part = hist[hist["ds"] <= origin]
        depth = depth if depth is not None else self.max_history_days
        if depth is None:
            return part
        return part[part["ds"] > origin - pd.Timedelta(days=int(depth))]

    def _mlf(self, train: pd.DataFrame):
        """The mlforecast pipeline for ``train``: yearly date features only when it spans a year,
        the small-data LightGBM settings when it has few rows."""
        import lightgbm as lgb
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean, RollingStd, SeasonalRollingMean

        near = int(self.min_lag)
        transforms: dict[int, list] = {
            near: [RollingMean(w, min_samples=1) for w in self.windows]
            + [RollingStd(7, min_samples=2), RollingStd(28, min_samples=2)],
        }
        weekly = max(7, 7 * -(-near // 7))
        transforms.setdefault(weekly, []).extend(
            [SeasonalRollingMean(7, 4, min_samples=1), SeasonalRollingMean(7, 13, min_samples=1)])
        if max(self.windows) >= 364:
            transforms[350] = [RollingMean(28, min_samples=1)]  # last year's 4 weeks around the day
            transforms[361] = [RollingMean(7, min_samples=1)]  # last year's week around the day
        params = {"random_state": self.seed, **dict(self.params)}
        if len(train) < self.small_data_rows:
            params.update(self.small_data_params)
        span = (train["ds"].max() - train["ds"].min()).days + 1
        # Day of year, month or day of month seen over less than a year are constants of the
        # training window that the trees would extrapolate into unseen values.
        dates = list(self.date_features) if span >= self.long_days else \
            [f for f in self.date_features if f in _WEEKLY_DATE_FEATURES]
        lags = [lag for lag in self.lags if lag >= near]
        models = {f"lgb{i}": lgb.LGBMRegressor(**{**params, "random_state": self.seed + i})
                  for i in range(max(1, int(self.n_models)))}
        return MLForecast(models=models, freq="D", lags=lags,
                          lag_transforms=transforms, date_features=dates,
                          target_transforms=[copy.deepcopy(t) for t in self.target_transforms] or None,
                          num_threads=int(params.get("n_jobs", 1)))

    def _exog(self, rows: pd.DataFrame, origin: pd.Timestamp, first: pd.Series) -> pd.DataFrame:
        """Known-ahead columns for ``rows`` as known at ``origin``, plus ``age``."""
        x = self._covariates.build(rows, origin=origin)
        start = first.reindex(x["unique_id"]).to_numpy()
        age = (x["ds"].to_numpy() - start) / np.timedelta64(1, "D")
        x["age"] = np.minimum(age, _AGE_CAP).astype(np.float32)
        return x

    @staticmethod
    def _first_sale(train: pd.DataFrame) -> pd.Series:
        """Start of each series' demand history: its first sale (its first day if it never sold)."""
        first_row = train.groupby("unique_id", sort=True)["ds"].min()
        first_sale = train[train["y"] > 0].groupby("unique_id", sort=True)["ds"].min()
        return first_sale.reindex(first_row.index).fillna(first_row)

    def _fit_model(self, train: pd.DataFrame, origin: pd.Timestamp):
        mlf = self._mlf(train)
        first = self._first_sale(train)
        x = self._exog(train[["unique_id", "ds"]], origin, first)
        # x holds train's rows in train's order: its columns go in as arrays (a concat of the two
        # frames copied every block, 0.5-1 s a fit on the 280 M5 series)
        extra = [c for c in x.columns if c not in ("unique_id", "ds", "y", "weather_source")]
        frame = train.reset_index(drop=True).assign(**{c: x[c].to_numpy() for c in extra})
        with library_call("mlforecast"):
            feats = mlf.preprocess(frame, static_features=list(self.static_features), dropna=False)
        # rows worth learning from: some history before them and the series already selling
        keep = (feats["age"].to_numpy() >= self.min_train_age)
        if self.train_days is not None:
            keep &= (feats["ds"] > origin - pd.Timedelta(days=int(self.train_days))).to_numpy()
        idx = np.flatnonzero(keep)
        if self.max_train_rows is not None and idx.size > self.max_train_rows:
            rng = np.random.default_rng(self.seed)
            idx = np.sort(rng.choice(idx, size=self.max_train_rows, replace=False))
        x_cols = [c for c in feats.columns if c not in ("unique_id", "ds", "y")]
        # one copy of the sampled rows' feature columns (not of every column, then a second)
        train_x, train_y = feats.iloc[idx, feats.columns.get_indexer(x_cols)], feats["y"].to_numpy()[idx]
        with library_call("lightgbm"):
            mlf.fit_models(train_x, train_y)
        mlf._first = first
        mlf._recent = _recent(train, origin)
        return mlf

    def _predict_mean(self, mlf, h: int, origin: pd.Timestamp) -> pd.DataFrame:
        ids = mlf._first.index
        dates = pd.date_range(origin + pd.Timedelta(days=1), periods=h, freq="D")
        rows = pd.DataFrame({"unique_id": np.repeat(ids.to_numpy(), h), "ds": np.tile(dates.to_numpy(), len(ids))})
        x = self._exog(rows, origin, mlf._first)
        source = x.pop("weather_source") if "weather_source" in x.columns else None
        with library_call("mlforecast"):
            fc = mlf.predict(h, X_df=x)
        names = list(mlf.models)
        yhat = fc[names].to_numpy(dtype=np.float64).mean(axis=1)
        fc = fc.drop(columns=names).assign(yhat=np.clip(yhat, 0.0, None))
        fc = rows.merge(fc, on=["unique_id", "ds"], how="left")
        fc["baseline"] = weekday_mean(mlf._recent, rows)
        if source is not None:
            fc["weather_source"] = source.to_numpy()
        return fc

    def _dispersion(self, train: pd.DataFrame) -> pd.Series:
        return seasonal_dispersion(train, days=self.dispersion_days, closed_mean=self.closed_mean)

    # ------------------------------------------------------------------ quantiles
    def _with_quantiles(self, out: pd.DataFrame, group: np.ndarray, disp: np.ndarray) -> pd.DataFrame:
        mu = out["yhat"].to_numpy(dtype=np.float64)
        disp = np.nan_to_num(disp, nan=float(np.nanmedian(disp)) if np.isfinite(disp).any() else 0.0)
        for q in self.quantiles:
            col = np.full(len(out), np.nan)
            for g in np.unique(group):
                m = group == g
                level = self.levels_.get(str(g), {}).get(float(q), float(q))
                col[m] = negbin_quantiles(mu[m], disp[m], [level])[level]
            out[quantile_column(q)] = col
        out["group"] = group
        cols = ["unique_id", "ds", "yhat", *[quantile_column(q) for q in self.quantiles], "group"]
        return out[[*cols, *[c for c in out.columns if c not in cols]]]

    def _calibration_panels(self, hist: pd.DataFrame,
                            cal_origin: pd.Timestamp) -> list[tuple[pd.DataFrame, set[str], bool]]:
        """The panels refitted at ``cal_origin``: each group's series as they would have been then.

        A group with enough history of its own calibrates on it. A group without (the short and
        new series of a mixed panel) gets stand-ins: other series cut to its depth. A stand-in
        beside its own longer copy in the refit is forecast with that copy's rows in the trees
        (same store, prices, level), which a truly new series never has, so its errors look
        smaller than a new series' and the levels set on them too narrow. With
        :attr:`stand_ins_without_twins` the stand-ins get a panel of their own: a seeded half of
        the series stands in, the other half keeps its long copies.

        Returns:
            ``(frame, stand_in_groups, stand_ins_only)`` per refit: the frame's copy ids are
            ``<series><sep><group>``; with ``stand_ins_only`` only the stand-ins' forecasts are
            read from the refit (its long copies just carry it).
        """
        before = hist[hist["ds"] <= cal_origin]
        avail = before.groupby("unique_id", sort=True).size()
        own, stand_ins = [], []
        for g in ("long", "short", "new"):
            members = self._members(g)
            if not len(members):
                continue
            if g == "long":
                depth = self.max_history_days
                ids = members[avail.reindex(members).fillna(0).to_numpy() >= self.new_days]
            else:
                depth = self._depth(members)
                ids = members[avail.reindex(members).fillna(0).to_numpy() >= depth]
                if len(ids) < self.min_calibration_series:
                    # not enough of the group's own history before the window: longer series
                    # cut to the group's depth stand in for it
                    stand_ins.append((g, avail.index[avail.to_numpy() >= depth], depth))
                    continue
            own.append((g, ids, depth))
        if not stand_ins:
            panels = [(own, set(), False)]
        elif not self.stand_ins_without_twins:
            panels = [(own + stand_ins, {g for g, _, _ in stand_ins}, False)]
        else:
            ids = avail.index.to_numpy()
            half = np.zeros(len(ids), dtype=bool)
            half[np.random.default_rng(self.seed).permutation(len(ids))[: len(ids) // 2]] = True
            stands = pd.Index(ids[half])
            twin_free = [(g, m[~m.isin(stands)], d) for g, m, d in own if g == "long"]
            twin_free += [(g, m[m.isin(stands)], d) for g, m, d in stand_ins]
            panels = [(own, set(), False), (twin_free, {g for g, _, _ in stand_ins}, True)]
        return [(self._copies(before, parts, cal_origin), groups, only) for parts, groups, only in panels if parts]

    def _copies(self, before: pd.DataFrame, parts: list[tuple[str, pd.Index, int | None]],
                cal_origin: pd.Timestamp) -> pd.DataFrame:
        """The rows of each ``(group, ids, depth)`` cut to ``depth``, under copy ids ``<series><sep><group>``."""
        frames = []
        for g, ids, depth in parts:
            if not len(ids):
                continue
            part = self._cut(before[before["unique_id"].isin(ids)], cal_origin, depth)
            frames.append(part.assign(unique_id=part["unique_id"].astype(str) + _CAL_SEP + g))
        return pd.concat(frames, ignore_index=True) if frames else before.iloc[:0]

    def _members(self, group: str) -> pd.Index:
        """Ids of the series of a history-length group at the origin."""
        return self.groups_.index[self.groups_.to_numpy() == group]

    def _depth(self, members: pd.Index) -> int:
        """Days of history a short or new group is calibrated at: its members' median."""
        return int(np.median(self._days.reindex(members)))

    def _calibrate(self, hist: pd.DataFrame) -> None:
        """Blend weight and quantile levels per group from the calibration windows (:meth:`_calibration_origins`)."""
        windows = []
        for k, cal_origin in enumerate(self._calibration_origins(), start=1):
            pred = self._calibration_window(hist, cal_origin)
            if pred is not None:
                windows.append(pred.assign(window=k))
        if not windows:
            self.calibration_ = {"origin": self.origin_ - pd.Timedelta(days=self.horizon), "series": {},
                                 "note": "no history before the calibration window"}
            return
        pred = pd.concat(windows, ignore_index=True)
        group = pred["group"].to_numpy()
        self.blend_ = {str(g): _blend_weight(pred[group == g]) if g in self.blend_groups else 1.0
                       for g in np.unique(group)}
        pred["yhat_model"] = pred["yhat"]
        pred["yhat"] = self._blend(pred, group)
        self.levels_ = {}
        open_days = ~self._closures(pred) if self.calibrate_without_closures else np.ones(len(pred), dtype=bool)
        unmatched = []
        for g in np.unique(group):
            m = (group == g) & open_days
            weights = self._stand_in_weights(pred[m], str(g), hist)
            if weights is not None and not weights.sum() > 0:
                unmatched.append(str(g))  # said in calibration_: its rows count once each
                weights = None
            levels = coverage_levels(pred["y"].to_numpy()[m], pred["yhat"].to_numpy()[m],
                                     pred["dispersion"].to_numpy()[m], self.quantiles, weights=weights)
            if not self.calibrate_median:
                levels = {q: (q if q == 0.5 else v) for q, v in levels.items()}
            self.levels_[str(g)] = levels
        self.calibration_ = {
            "origin": self.origin_ - pd.Timedelta(days=self.horizon),
            "windows": len(windows),
            "series": pred[pred["window"] == 1].assign(base=pred["unique_id"].str.split(_CAL_SEP).str[0])
            .groupby("group")["base"].nunique().to_dict(),
            "predictions": pred,
            "stand_ins_unmatched": unmatched,
        }

    def _calibration_origins(self) -> list[pd.Timestamp]:
        """Origins of the calibration windows, the nearest first (see ``calibration_year_ago``)."""
        origins = [self.origin_ - pd.Timedelta(days=k * self.horizon) for k in range(1, self.calibration_windows + 1)]
        if self.calibration_year_ago and len(origins) > 1:
            origins[-1] = self.origin_ - pd.Timedelta(days=364)
        return origins

    def _stand_in_weights(self, rows: pd.DataFrame, group: str, hist: pd.DataFrame) -> np.ndarray | None:
        """Weights that give a group's stand-in rows the group's own mix of zero-demand days.

        Stand-ins are other series cut to the group's depth; how often a series sells nothing
        decides where its lower quantiles fall (a q10 of 0 covers every day), so a pool more
        intermittent than the group sets its q10 level too high for it (docs/benchmarks.md,
        "Stand-ins weighed to the group's zero-demand days"). Rows of the group's own series
        weigh 1. None: no stand-ins (or matching off); all zero: no stand-in resembles the group.
        """
        stand_in = rows["stand_in"].to_numpy(dtype=bool)
        if not self.match_stand_ins or not stand_in.any():
            return None
        members = self._members(group)
        target = _zero_share(self._cut(hist[hist["unique_id"].isin(members)], self.origin_, self._depth(members)))
        weights = np.ones(len(rows))
        weights[stand_in] = mix_weights(rows["zero_share"].to_numpy()[stand_in], target.to_numpy())
        return weights

    def _closures(self, pred: pd.DataFrame) -> np.ndarray:
        """Rows of ``pred`` that are closures: a zero where the weekday mean of the 4 weeks before the
        window is at least :attr:`closed_mean` (the rule of :func:`~forecasting.calibration.seasonal_dispersion`,
        whose reference is the 4 weeks before each day)."""
        if self.closed_mean is None:
            return np.zeros(len(pred), dtype=bool)
        return ((pred["y"].to_numpy() == 0) & (pred["baseline"].to_numpy(dtype=np.float64) >= self.closed_mean))

    def _calibration_window(self, hist: pd.DataFrame, cal_origin: pd.Timestamp) -> pd.DataFrame | None:
        """Refit at ``cal_origin`` on the calibration copies and forecast the window after it.

        Returns:
            Copy ids, ``ds, y, yhat`` (model), ``baseline``, ``group``, ``dispersion``, ``scale``
            (mean squared day-to-day change of the copy's history), ``stand_in`` (the copy stands in
            for a group without history here) and ``zero_share`` (share of the copy's history days
            with no demand), or None without history.
        """
        preds = []
        for frame, stand_in_groups, stand_ins_only in self._calibration_panels(hist, cal_origin):
            if frame.empty:
                continue
            pred = self._refit_window(hist, frame, stand_in_groups, cal_origin)
            preds.append(pred[pred["stand_in"].to_numpy()] if stand_ins_only else pred)
        return pd.concat(preds, ignore_index=True) if preds else None

    def _refit_window(self, hist: pd.DataFrame, frame: pd.DataFrame, stand_in_groups: set[str],
                      cal_origin: pd.Timestamp) -> pd.DataFrame:
        """One refit of :meth:`_calibration_window` on ``frame``."""
        copies = frame[["unique_id"]].drop_duplicates()
        copies["base"] = copies["unique_id"].str.split(_CAL_SEP, n=1, regex=False).str[0].to_numpy()
        end = cal_origin + pd.Timedelta(days=self.horizon)
        actual = hist.loc[(hist["ds"] > cal_origin) & (hist["ds"] <= end), ["unique_id", "ds", "y"]]
        actual = actual.rename(columns={"unique_id": "base"}).merge(copies, on="base").drop(columns="base")
        covariates = self._covariates
        self._covariates = _RenamedCovariates(covariates)
        try:
            model = self._fit_model(frame, cal_origin)
            pred = self._predict_mean(model, self.horizon, cal_origin)
        finally:
            self._covariates = covariates
        pred = pred.merge(actual, on=["unique_id", "ds"], how="inner")
        pred["group"] = pred["unique_id"].str.split(_CAL_SEP, n=1, regex=False).str[1].to_numpy()
        pred["stand_in"] = pred["group"].isin(stand_in_groups).to_numpy()
        pred["zero_share"] = _zero_share(frame).reindex(pred["unique_id"]).to_numpy(dtype=np.float64)
        d = self._dispersion(frame).reindex(pred["unique_id"]).to_numpy()
        pred["dispersion"] = np.nan_to_num(d, nan=float(np.nanmedian(d)) if np.isfinite(d).any() else 0.0)
        f = frame.sort_values(["unique_id", "ds"])
        scale = (f.groupby("unique_id", sort=True)["y"].diff() ** 2).groupby(f["unique_id"]).mean()
        pred["scale"] = scale.reindex(pred["unique_id"]).to_numpy(dtype=np.float64)
        return pred


def _zero_share(frame: pd.DataFrame) -> pd.Series:
    """Per series of ``frame``, the share of its days without demand."""
    return frame["y"].eq(0).groupby(frame["unique_id"], observed=True).mean()


def _recent(train: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """The last 28 days up to ``origin`` (what the weekday-mean baseline averages)."""
    return train.loc[train["ds"] > origin - pd.Timedelta(days=28), ["unique_id", "ds", "y"]]


def weekday_mean(recent: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Mean of the same weekday over the recent days of each series (its mean where that weekday is unseen).

    Args:
        recent: ``unique_id, ds, y``: the last weeks of history.
        rows: ``unique_id, ds``: the days to forecast.

    Returns:
        One value per row of ``rows`` (NaN for a series absent from ``recent``).
    """
    r = recent.assign(dow=pd.DatetimeIndex(recent["ds"]).dayofweek)
    by_day = r.groupby(["unique_id", "dow"], sort=False)["y"].mean().rename("by_day")
    overall = r.groupby("unique_id", sort=False)["y"].mean().rename("overall")
    q = rows[["unique_id"]].assign(dow=pd.DatetimeIndex(rows["ds"]).dayofweek)
    q = q.merge(by_day, left_on=["unique_id", "dow"], right_index=True, how="left")
    q = q.merge(overall, left_on="unique_id", right_index=True, how="left")
    return q["by_day"].fillna(q["overall"]).to_numpy(dtype=np.float64)


class _RenamedCovariates:
    """Covariates of calibration copies (``<id><sep><group>``) looked up under their original ids."""

    def __init__(self, inner: Covariates):
        self.inner = inner

    def build(self, rows: pd.DataFrame, *, origin: pd.Timestamp) -> pd.DataFrame:
        orig = rows["unique_id"].astype(str).str.split(_CAL_SEP, n=1, regex=False).str[0]
        x = self.inner.build(pd.DataFrame({"unique_id": orig.to_numpy(), "ds": rows["ds"].to_numpy()}), origin=origin)
        x["unique_id"] = rows["unique_id"].to_numpy()
        return x


_BLEND_GRID = np.linspace(0.0, 1.0, 11)


def _blend_weight(pred: pd.DataFrame) -> float:
    """Weight of the model against the weekday mean with the lowest scaled squared error on ``pred``.

    Each series' squared errors are divided by its ``scale`` (the mean squared day-to-day
    change of its history), so series of every size count alike.
    """
    s = pred["scale"].to_numpy(dtype=np.float64)
    ok = np.isfinite(s) & (s > 0)
    s = np.where(ok, s, np.median(s[ok]) if ok.any() else 1.0)
    y, a, b = (pred[c].to_numpy(dtype=np.float64) for c in ("y", "yhat", "baseline"))
    loss = [np.sum((w * a + (1 - w) * b - y) ** 2 / s) for w in _BLEND_GRID]
    return float(_BLEND_GRID[int(np.argmin(loss))])


@dataclass(frozen=True)
class FeatureValue:
    """What a set of features is worth on one backtest split.

    Attributes:
        metric: Metric name (``rmsse``: root of the mean squared error over the mean squared
            first difference of the series' history, averaged over series).
        with_features: Metric with the features.
        without_features: Metric without them.
        delta: ``with_features - without_features`` (negative: the features help).
        relative: ``delta / without_features``.
        origin: Last training day of the split.
        per_segment: Optional per-segment table (``segment, with, without, delta``).
    """

    metric: str
    with_features: float
    without_features: float
    delta: float
    relative: float
    origin: pd.Timestamp
    per_segment: pd.DataFrame | None = None


def rmsse_scale(history: pd.DataFrame, origin: pd.Timestamp) -> pd.Series:
    """Per ``unique_id``, the mean squared day-to-day change of ``y`` up to ``origin`` (RMSSE's
    denominator); NaN where the series never changed."""
    past = history[history["ds"] <= origin].sort_values(["unique_id", "ds"])
    d2 = past.groupby("unique_id", sort=True)["y"].diff() ** 2
    scale = d2.groupby(past["unique_id"]).mean()
    return scale.where(scale > 0, np.nan)


def _rmsse(bt: pd.DataFrame, scale: pd.Series) -> pd.Series:
    sq = ((bt["yhat"] - bt["y"]) ** 2).groupby(bt["unique_id"]).mean()
    return np.sqrt(sq / scale.reindex(sq.index)).dropna()


def feature_value(forecaster: LongHistoryForecaster, df: pd.DataFrame, *, with_covariates: Covariates,
                  without_covariates: Covariates, origin: pd.Timestamp | str | None = None,
                  segments: pd.Series | None = None) -> FeatureValue:
    """Backtest the forecaster on one split with and without some covariates; the metric delta.

    Args:
        forecaster: Settings to use (calibration is not needed and is skipped).
        df: History (as for :meth:`LongHistoryForecaster.fit`); the split scores its last
            ``horizon`` days unless ``origin`` says otherwise.
        with_covariates: Covariates including the features measured.
        without_covariates: The same without them.
        origin: Last training day of the split (default: ``horizon`` days before the end).
        segments: Optional segment per ``unique_id`` for a per-segment breakdown.

    Returns:
        The :class:`FeatureValue`.
    """
    fc = replace(forecaster, calibrate=False)
    hist = df.copy()
    hist["ds"] = pd.to_datetime(hist["ds"])
    origin = pd.Timestamp(origin) if origin is not None else hist["ds"].max() - pd.Timedelta(days=fc.horizon)
    a = fc.backtest(hist, origin=origin, covariates=with_covariates)
    b = fc.backtest(hist, origin=origin, covariates=without_covariates)
    return compare_backtests(a, b, hist, origin=origin, segments=segments)


def compare_backtests(with_features: pd.DataFrame, without_features: pd.DataFrame, history: pd.DataFrame, *,
                      origin: pd.Timestamp | str, segments: pd.Series | None = None) -> FeatureValue:
    """RMSSE of two backtests of the same split, over the series both scored.

    Args:
        with_features: ``unique_id, ds, yhat, y`` of the backtest with the features measured.
        without_features: The same without them.
        history: ``unique_id, ds, y``: the scale of each series is the mean squared
            day-to-day change of its history up to ``origin``.
        origin: Last training day of the split.
        segments: Optional segment per ``unique_id`` for a per-segment breakdown.

    Returns:
        The :class:`FeatureValue`.
    """
    origin = pd.Timestamp(origin)
    hist = history.assign(ds=pd.to_datetime(history["ds"]))
    a, b = with_features.dropna(subset=["y"]), without_features.dropna(subset=["y"])
    scale = rmsse_scale(hist, origin)
    ra, rb = _rmsse(a, scale), _rmsse(b, scale)
    common = ra.index.intersection(rb.index)
    w, wo = float(ra[common].mean()), float(rb[common].mean())
    table = None
    if segments is not None:
        seg = segments.reindex(common)
        table = pd.DataFrame({"with": ra[common].groupby(seg).mean(), "without": rb[common].groupby(seg).mean()})
        table["delta"] = table["with"] - table["without"]
        table = table.rename_axis("segment").reset_index()
    return FeatureValue("rmsse", w, wo, w - wo, (w - wo) / wo if wo else float("nan"), origin, table)


def weather_value(forecaster: LongHistoryForecaster, df: pd.DataFrame, covariates: Covariates, *,
                  origin: pd.Timestamp | str | None = None, segments: pd.Series | None = None) -> FeatureValue:
    """What the weather features are worth: the same split with and without them.

    Keep weather on only where ``delta`` is negative (per segment when ``segments`` is given).
    """
    return feature_value(forecaster, df, with_covariates=covariates, without_covariates=covariates.without_weather(),
                         origin=origin, segments=segments)


def _text_categories(values: pd.Series) -> pd.Series:
    """A static feature as a categorical of text (one that already is one is kept as it is)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(values.cat.categories):
        return values
    return values.astype(str).astype("category")
