"""Walmart store-sales benchmark: SVD seasonal model and global LightGBM for weekly store x department sales.

The statistical model (:mod:`benchmarks.seasonal_svd`) smooths each department's store x
week matrix by a low-rank SVD and forecasts each week from the same week one and two years
earlier, moved to the recent level. Its settings and the LightGBM blend weights are chosen
on an inner split of the training weeks (:func:`choose_on_inner`), never on the holdout.
The same smoothed matrix also feeds the components of :mod:`benchmarks.weekly_components`
(STL + ETS, store level x department profile, trend + week dummies), plus STL + ETS on a
second smoother (standard-scaled averages of correlated stores); the equal-weight average of
the components, with or without the latter, becomes the chosen model if it beats the SVD
seasonal model on the inner split.

One direct multi-horizon model trained from many forecast origins: the horizon, lags
51-53 of the target week, the last 1/4/13 weeks before the origin and the same weeks a
year earlier, week of year, holiday flag, store, department, store type and size, and,
optionally, the store's weather/economy/markdown columns of the target week
(Temperature, Fuel_Price, MarkDown1-5, CPI, Unemployment; Kaggle publishes them for the
test weeks, so they are treated as known ahead, an optimistic assumption for weather).

The target is sales divided by the series' 13-week level at the origin, fitted with an L1 objective
weighted by that level (x5 in holiday weeks), so the fit minimises the competition's WMAE
in units while trees share one scale across large and small departments.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.seasonal_svd import SeasonalParams, grid_search, seasonal_level_forecast, svd_smooth
from benchmarks.weekly_components import (
    average_forecast,
    correlated_smooth,
    product_forecast,
    stl_ets_forecast,
    trend_season_forecast,
)
from forecasting.metrics import bias, wmae

__all__ = ["EXOGENOUS", "COMPONENTS", "KNN", "AVERAGE", "AVERAGE_KNN", "SeasonalParams", "load_walmart", "seasonal_naive",
           "oracle_level", "weekly_features", "choose_on_inner", "walmart_benchmark"]

COMPONENTS: tuple[str, ...] = ("svd_seasonal", "svd_stl_ets", "svd_product", "svd_trend_season")
KNN = "knn_stl_ets"
AVERAGE = f"average, equal weights ({', '.join(COMPONENTS)})"
AVERAGE_KNN = f"average, equal weights ({', '.join(COMPONENTS)}, {KNN})"

EXOGENOUS: tuple[str, ...] = (
    "Temperature", "Fuel_Price", "MarkDown1", "MarkDown2", "MarkDown3", "MarkDown4", "MarkDown5", "CPI",
    "Unemployment",
)
_PARAMS: dict[str, Any] = {
    "objective": "l1",
    "learning_rate": 0.05,
    "num_leaves": 63,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "verbose": -1,
    "num_threads": 1,
    "force_col_wise": True,
    "seed": 7,
}


def _origin_block(y: np.ndarray, origin: int, horizons: np.ndarray, weeks: pd.DatetimeIndex,
                  series: pd.DataFrame, weekly: pd.DataFrame, exogenous: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Features for every series at ``origin + horizons`` using sales up to ``origin`` only."""
    n, h = y.shape[0], len(horizons)
    t = origin + horizons
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # Series without sales in a window get NaN, which LightGBM treats as missing.
        warnings.simplefilter("ignore", RuntimeWarning)
        last13 = np.nanmean(y[:, origin - 12: origin + 1], axis=1)
        last4 = np.nanmean(y[:, origin - 3: origin + 1], axis=1)
        ly4 = np.nanmean(y[:, origin - 55: origin - 51], axis=1)
        ly13 = np.nanmean(y[:, origin - 64: origin - 51], axis=1) if origin >= 64 else np.full(n, np.nan)
    scale = np.clip(np.nan_to_num(np.abs(last13), nan=1.0), 1.0, None)
    lag = lambda k: y[:, t - k] / scale[:, None]  # noqa: E731 - t - k <= origin for k > 39
    target_dates = weeks[0] + pd.to_timedelta(7 * t, unit="D")
    rep = lambda v: np.repeat(v, h)  # noqa: E731
    feats = {
        "horizon": np.tile(horizons, n),
        "lag52": lag(52).ravel(),
        "lag51": lag(51).ravel(),
        "lag53": lag(53).ravel(),
        "last1": rep(y[:, origin] / scale),
        "last4": rep(last4 / scale),
        "ly4": rep(ly4 / scale),
        "ly13": rep(ly13 / scale),
        "log_scale": rep(np.log(scale)),
        "store": rep(series["Store"].to_numpy()),
        "dept": rep(series["Dept"].to_numpy()),
        "type": rep(series["Type"].map({"A": 0, "B": 1, "C": 2}).to_numpy()),
        "size": rep(series["Size"].to_numpy()),
        "week_of_year": np.tile(target_dates.isocalendar().week.to_numpy(dtype=np.int32), n),
    }
    grid = pd.DataFrame({"Store": rep(series["Store"].to_numpy()), "Date": np.tile(target_dates.to_numpy(), n)})
    extra = grid.merge(weekly, on=["Store", "Date"], how="left")
    feats["holiday"] = extra["IsHoliday"].fillna(False).astype(int).to_numpy()
    for c in exogenous:
        feats[c] = extra[c].to_numpy(dtype=np.float64)
    return pd.DataFrame(feats), rep(scale)


def weekly_features(
    y: np.ndarray,
    weeks: pd.DatetimeIndex,
    origins: Sequence[int],
    series: pd.DataFrame,
    weekly: pd.DataFrame,
    *,
    max_horizon: int = 39,
    exogenous: Sequence[str] = (),
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Direct multi-horizon features from several forecast origins.

    For each origin ``o`` and horizon ``1..max_horizon`` (while ``o + h`` is inside
    ``y``, or always for the last origin when forecasting): lags 51-53 of the target
    week, the last 1/4/13 weeks before the origin and the same weeks a year earlier,
    all divided by the series' 13-week level at the origin; calendar, store and
    department, and the exogenous columns of the target week.

    Args:
        y: Sales, (n_series, n_weeks), NaN where a series has no row.
        weeks: Week dates of the columns of ``y`` (extended as needed).
        origins: Origin positions (each needs 55 weeks of history before it).
        series: Per series ``Store, Dept, Type, Size``.
        weekly: Per ``Store, Date``: ``IsHoliday`` and the exogenous columns.
        max_horizon: Longest horizon (must be below 51 so lag 51 is known).
        exogenous: Exogenous columns of the target week to include.

    Returns:
        Features, the per-row scale, the series row and the target week position of each row.
    """
    if max_horizon >= 51:
        raise ValueError(f"max_horizon {max_horizon} must be below 51 (lag-51 feature)")
    frames, scales, targets, rows = [], [], [], []
    for o in origins:  # tens of origins; each block is vectorised over all series
        hs = np.arange(1, max_horizon + 1)
        if o + max_horizon >= y.shape[1]:
            hs = hs[o + hs < y.shape[1]] if o < y.shape[1] - 1 else hs
        if not len(hs):
            continue
        ypad = y if o + hs.max() < y.shape[1] else np.pad(y, ((0, 0), (0, o + hs.max() - y.shape[1] + 1)),
                                                           constant_values=np.nan)
        x, sc = _origin_block(ypad, o, hs, weeks, series, weekly, exogenous)
        frames.append(x)
        scales.append(sc)
        targets.append(np.tile(o + hs, y.shape[0]))
        rows.append(np.repeat(np.arange(y.shape[0]), len(hs)))
    return (pd.concat(frames, ignore_index=True), np.concatenate(scales), np.concatenate(rows),
            np.concatenate(targets))


def _fit_predict(y: np.ndarray, weeks: pd.DatetimeIndex, n_train: int, horizon: int, series: pd.DataFrame,
                 weekly: pd.DataFrame, exogenous: Sequence[str], rounds: int = 400,
                 max_rows: int = 600_000) -> np.ndarray:
    import lightgbm as lgb

    hist = y[:, :n_train]
    x, scale, series_of, t = weekly_features(hist, weeks, range(55, n_train - 1), series, weekly, max_horizon=horizon,
                                  exogenous=exogenous)
    target = hist[series_of, t]
    ok = np.isfinite(target)
    idx = np.flatnonzero(ok)
    if len(idx) > max_rows:
        idx = np.sort(np.random.default_rng(7).choice(idx, size=max_rows, replace=False))
    w = scale * np.where(x["holiday"].to_numpy() == 1, 5.0, 1.0)
    data = lgb.Dataset(x.iloc[idx], label=target[idx] / scale[idx], weight=w[idx],
                       categorical_feature=["store", "dept", "type"])
    booster = lgb.train(_PARAMS, data, num_boost_round=rounds)
    xt, st, _, _ = weekly_features(hist, weeks, [n_train - 1], series, weekly, max_horizon=horizon, exogenous=exogenous)
    return (booster.predict(xt) * st).reshape(y.shape[0], horizon)


def seasonal_naive(y_train: np.ndarray, horizon: int, season: int = 52) -> np.ndarray:
    """Each week's value ``season`` weeks earlier (the last observed week where there is none)."""
    n_train = y_train.shape[1]
    idx = np.arange(n_train, n_train + horizon) - season
    pred = y_train[:, idx]
    # No sale a season ago: carry the last observed week (0 if the series never sold).
    last = pd.DataFrame(y_train).ffill(axis=1).iloc[:, -1].fillna(0.0).to_numpy()
    return np.where(np.isfinite(pred), pred, last[:, None])


def load_walmart(folder: Path) -> tuple[np.ndarray, pd.DatetimeIndex, pd.DataFrame, pd.DataFrame]:
    """Sales matrix (series x weeks, NaN = no row), its weeks, the series table and the store-week features."""
    train = pd.read_parquet(folder / "train.parquet")
    feats = pd.read_parquet(folder / "features.parquet")
    stores = pd.read_parquet(folder / "stores.parquet")
    train["Date"] = pd.to_datetime(train["Date"])
    feats["Date"] = pd.to_datetime(feats["Date"])
    weeks = pd.DatetimeIndex(sorted(train["Date"].unique()))
    series = train[["Store", "Dept"]].drop_duplicates().sort_values(["Store", "Dept"]).reset_index(drop=True)
    series = series.merge(stores, on="Store", how="left")
    row = series.reset_index().set_index(["Store", "Dept"])["index"]
    y = np.full((len(series), len(weeks)), np.nan)
    y[row.loc[list(zip(train["Store"], train["Dept"], strict=True))].to_numpy(),
      weeks.get_indexer(train["Date"])] = train["Weekly_Sales"].to_numpy()
    return y, weeks, series, feats


def _components(smooth: np.ndarray, groups: np.ndarray, horizon: int) -> dict[str, tuple[np.ndarray, float]]:
    """The averaged components other than the SVD seasonal model, each with its seconds, on one smoothed matrix."""
    out = {}
    for name, fn in (("svd_stl_ets", lambda: stl_ets_forecast(smooth, horizon)),
                     ("svd_product", lambda: product_forecast(smooth, groups, horizon)),
                     ("svd_trend_season", lambda: trend_season_forecast(smooth, horizon))):
        t = perf_counter()
        pred = fn()
        out[name] = (pred, perf_counter() - t)
    return out


def _wmae_split(actual: np.ndarray, holiday: np.ndarray) -> Callable[[np.ndarray], float]:
    ok = np.isfinite(actual)
    hol = np.broadcast_to(holiday, actual.shape)[ok]
    return lambda pred: wmae(actual[ok], pred[ok], hol)


def oracle_level(actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Each series' median error over the scored weeks (0 if none): the best constant correction in hindsight."""
    err = np.where(np.isfinite(actual), actual - pred, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: series without validation weeks
        return np.nan_to_num(np.nanmedian(err, axis=1), nan=0.0)


def choose_on_inner(y_train: np.ndarray, holiday: np.ndarray, series: pd.DataFrame, weeks: pd.DatetimeIndex,
                    weekly: pd.DataFrame, *, inner_weeks: int = 39, with_lightgbm: bool = True,
                    blend_weights: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
                    knn_ks: Sequence[int] = (3, 5, 10)) -> dict[str, Any]:
    """Choose the seasonal settings and the LightGBM blend weights on an inner split of the training weeks.

    The training weeks are split again: fit on all but the last ``inner_weeks``, score those
    (the outer holdout is never seen). The SVD rank, level window and level weight are the
    best of :func:`~benchmarks.seasonal_svd.grid_search`; each LightGBM variant's blend
    weight is the best of ``blend_weights`` for ``w * lightgbm + (1 - w) * seasonal``.

    The components of :data:`COMPONENTS` are fitted to the same smoothed matrix and averaged with
    equal weights (fixed in advance, not tuned), once as they are (``"average"``) and once with STL +
    ETS on the correlated-stores smoother (``"average_knn"``); ``chosen`` is whichever of
    ``"svd_seasonal"``, ``"average"`` and ``"average_knn"`` scores lowest on the inner split.

    Args:
        y_train: Training sales (n_series, n_train), NaN where a series has no row.
        holiday: Holiday flag per training week.
        series: Per series ``Store, Dept, Type, Size``.
        weeks: Week dates of the training columns.
        weekly: Per ``Store, Date`` holiday flag and exogenous columns.
        inner_weeks: Inner validation weeks at the end of the training weeks.
        with_lightgbm: Also fit LightGBM (with and without exogenous columns) for the blend weights.
        blend_weights: LightGBM weights tried.
        knn_ks: Neighbours tried for :func:`~benchmarks.weekly_components.correlated_smooth`
            before STL + ETS (the best on the inner split is kept).

    Returns:
        ``params`` (:class:`SeasonalParams`), ``blend`` (variant -> weight), ``knn_k``, ``chosen``,
        ``table`` (model, inner WMAE, seconds), ``grid`` (the seasonal grid, best first) and ``range``.
    """
    n_fit = y_train.shape[1] - inner_weeks
    if n_fit < 53:
        raise ValueError(f"inner split leaves {n_fit} fit weeks of {y_train.shape[1]}: a year (52) plus the level "
                         f"window is needed before the {inner_weeks} inner validation weeks")
    score = _wmae_split(y_train[:, n_fit:], holiday[n_fit:])
    groups = series["Dept"].to_numpy()
    rows = []
    t = perf_counter()
    rows.append({"model": "seasonal_naive_52", "wmae": score(seasonal_naive(y_train[:, :n_fit], inner_weeks)),
                 "seconds": perf_counter() - t})
    t = perf_counter()
    grid = grid_search(y_train[:, :n_fit], y_train[:, n_fit:], np.where(holiday[n_fit:], 5.0, 1.0), groups)
    params = grid[0][0]
    smooth = svd_smooth(y_train[:, :n_fit], groups, params.rank)
    seasonal = seasonal_level_forecast(smooth, inner_weeks, level_window=params.level_window,
                                       level_weight=params.level_weight, max_years=params.max_years,
                                       multiplicative=params.multiplicative)
    rows.append({"model": f"svd_seasonal (grid of {len(grid)}, best)", "wmae": score(seasonal),
                 "seconds": perf_counter() - t})
    seasonal_seconds = rows[-1]["seconds"]
    # Not a forecast: how far a perfect per-series level would go (it reads the validation weeks).
    rows.append({"model": "diagnostic: svd_seasonal + oracle per-series level",
                 "wmae": score(seasonal + oracle_level(y_train[:, n_fit:], seasonal)[:, None]), "seconds": 0.0})
    blend: dict[str, float] = {}
    if with_lightgbm:
        for name, exo in (("lightgbm_no_weather", ()), ("lightgbm_weather_markdown", EXOGENOUS)):
            t = perf_counter()
            pred = _fit_predict(y_train, weeks, n_fit, inner_weeks, series, weekly, exo)
            rows.append({"model": name, "wmae": score(pred), "seconds": perf_counter() - t})
            errs = {w: score(w * pred + (1 - w) * seasonal) for w in blend_weights}
            blend[name] = min(errs, key=errs.__getitem__)
            rows.append({"model": f"blend {name} (weight {blend[name]})", "wmae": errs[blend[name]], "seconds": 0.0})
    # Components on the same smoothed matrix. With 65 fit weeks STL sees one season (plus 13 weeks),
    # so svd_stl_ets is scored here in that weaker form; the two-year average of svd_seasonal is likewise absent.
    parts = _components(smooth, groups, inner_weeks)
    for name, (pred, secs) in parts.items():
        rows.append({"model": name, "wmae": score(pred), "seconds": secs})
    knn: dict[int, tuple[np.ndarray, float]] = {}
    for k in knn_ks:
        t = perf_counter()
        pred = stl_ets_forecast(correlated_smooth(y_train[:, :n_fit], groups, k), inner_weeks)
        knn[k] = (pred, perf_counter() - t)
    knn_err = {k: score(v[0]) for k, v in knn.items()}
    knn_k = min(knn_err, key=knn_err.__getitem__)
    rows.append({"model": f"{KNN} (k={knn_k}, best of {list(knn_ks)})", "wmae": knn_err[knn_k],
                 "seconds": sum(v[1] for v in knn.values())})
    preds = {"svd_seasonal": seasonal, **{k: v[0] for k, v in parts.items()}}
    base_seconds = seasonal_seconds + sum(v[1] for v in parts.values())
    errs = {"svd_seasonal": score(seasonal), "average": score(average_forecast(preds)),
            "average_knn": score(average_forecast({**preds, KNN: knn[knn_k][0]}))}
    rows.append({"model": AVERAGE, "wmae": errs["average"], "seconds": base_seconds})
    rows.append({"model": AVERAGE_KNN, "wmae": errs["average_knn"], "seconds": base_seconds + knn[knn_k][1]})
    chosen = min(errs, key=errs.__getitem__)
    return {"params": params, "blend": blend, "knn_k": knn_k, "chosen": chosen, "table": pd.DataFrame(rows),
            "grid": pd.DataFrame([{**vars(p), "wmae": e} for p, e in grid]),
            "range": f"fit {weeks[0].date()}..{weeks[n_fit - 1].date()}, validate "
                     f"{weeks[n_fit].date()}..{weeks[y_train.shape[1] - 1].date()}"}


def walmart_benchmark(folder: str | Path, *, holdout_weeks: int = 39, inner_weeks: int = 39) -> dict[str, Any]:
    """Seasonal naive (52) vs SVD seasonal, global LightGBM (without/with weather and markdowns) and blends.

    Every choice (SVD rank, level window and weight, blend weights) is made by
    :func:`choose_on_inner` on the training weeks only; the models are then refit on all
    training weeks and the holdout is scored once. Rows marked ``ablation`` are not chosen
    models: they show what one component is worth. The components of :data:`COMPONENTS`, STL + ETS
    on the correlated-stores smoother, the two equal-weight averages and the model chosen on the
    inner split (SVD seasonal or one of the averages) follow.

    Args:
        folder: ``walmart_store_sales`` folder (train, features, stores parquet).
        holdout_weeks: Weeks held out at the end of ``train.parquet``.
        inner_weeks: Inner validation weeks at the end of the training weeks.

    Returns:
        ``table`` (model, wmae, mae, bias, seconds), ``inner`` (the inner table, grid and choices),
        and the ranges and sizes.
    """
    t0 = perf_counter()
    y, weeks, series, feats = load_walmart(Path(folder))
    n_train = len(weeks) - holdout_weeks
    holiday = feats.drop_duplicates("Date").set_index("Date")["IsHoliday"].reindex(weeks).fillna(False).to_numpy(bool)
    seconds = {"load": perf_counter() - t0}
    t = perf_counter()
    inner = choose_on_inner(y[:, :n_train], holiday[:n_train], series, weeks[:n_train], feats,
                            inner_weeks=inner_weeks)
    seconds["inner_selection"] = perf_counter() - t

    actual = y[:, n_train:]
    scored = np.isfinite(actual)
    hol = np.broadcast_to(holiday[n_train:], actual.shape)

    def score(name: str, pred: np.ndarray, secs: float) -> dict[str, Any]:
        a, p = actual[scored], pred[scored]
        return {"model": name, "wmae": wmae(a, p, hol[scored]), "mae": float(np.mean(np.abs(a - p))),
                "bias": bias(a, p), "seconds": secs}

    table = []
    t = perf_counter()
    table.append(score("seasonal_naive_52", seasonal_naive(y[:, :n_train], holdout_weeks), perf_counter() - t))
    p = inner["params"]
    t = perf_counter()
    smooth = svd_smooth(y[:, :n_train], series["Dept"].to_numpy(), p.rank)
    seasonal = seasonal_level_forecast(smooth, holdout_weeks, level_window=p.level_window,
                                       level_weight=p.level_weight, max_years=p.max_years,
                                       multiplicative=p.multiplicative)
    table.append(score("svd_seasonal", seasonal, perf_counter() - t))
    seasonal_seconds = table[-1]["seconds"]
    t = perf_counter()
    one_year = seasonal_level_forecast(smooth, holdout_weeks, level_window=p.level_window,
                                       level_weight=p.level_weight, max_years=1, multiplicative=p.multiplicative)
    table.append(score("ablation: svd_seasonal, last year only", one_year, perf_counter() - t))
    for name, exo in (("lightgbm_no_weather", ()), ("lightgbm_weather_markdown", EXOGENOUS)):
        t = perf_counter()
        pred = _fit_predict(y, weeks, n_train, holdout_weeks, series, feats, exo)
        table.append(score(name, pred, perf_counter() - t))
        seconds[name] = table[-1]["seconds"]
        w = inner["blend"][name]
        table.append(score(f"blend {name} (weight {w})", w * pred + (1 - w) * seasonal, 0.0))
    parts = _components(smooth, series["Dept"].to_numpy(), holdout_weeks)
    for name, (pred, secs) in parts.items():
        table.append(score(name, pred, secs))
        seconds[name] = secs
    t = perf_counter()
    knn = stl_ets_forecast(correlated_smooth(y[:, :n_train], series["Dept"].to_numpy(), inner["knn_k"]),
                           holdout_weeks)
    table.append(score(f"{KNN} (k={inner['knn_k']})", knn, perf_counter() - t))
    seconds[KNN] = table[-1]["seconds"]
    preds = {"svd_seasonal": seasonal, **{k: v[0] for k, v in parts.items()}}
    base_seconds = seasonal_seconds + sum(v[1] for v in parts.values())
    table.append(score(AVERAGE, average_forecast(preds), base_seconds))
    table.append(score(AVERAGE_KNN, average_forecast({**preds, KNN: knn}), base_seconds + seconds[KNN]))
    chosen = {"svd_seasonal": "svd_seasonal", "average": AVERAGE, "average_knn": AVERAGE_KNN}[inner["chosen"]]
    table.append({**next(r for r in table if r["model"] == chosen), "model": f"chosen on the inner split: {chosen}"})
    seconds["total"] = perf_counter() - t0
    return {
        "table": pd.DataFrame(table),
        "inner": inner,
        "chosen": chosen,
        "seconds": seconds,
        "holdout_weeks": holdout_weeks,
        "n_series": len(series),
        "train_range": f"{weeks[0].date()}..{weeks[n_train - 1].date()}",
        "test_range": f"{weeks[n_train].date()}..{weeks[-1].date()}",
    }
