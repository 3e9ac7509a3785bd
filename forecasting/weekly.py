"""Global LightGBM for weekly store x department sales (Walmart store-sales benchmark).

One direct model serves every horizon up to ``min_lag`` weeks: all its sales features are
at least ``min_lag`` weeks old at the target week (lag 52 and its neighbours, the 13 weeks
ending ``min_lag`` weeks back and the same 13 weeks a year earlier), plus week of year,
holiday flag, store type and size, and, optionally, the store's weather/economy/markdown
columns of the target week (Temperature, Fuel_Price, MarkDown1-5, CPI, Unemployment).

The target is sales divided by the series' recent level, fitted with an L1 objective
weighted by that level (x5 in holiday weeks), so the fit minimises the competition's WMAE
in units while trees share one scale across large and small departments.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from forecasting.metrics import bias, wmae

__all__ = ["EXOGENOUS", "weekly_features", "walmart_benchmark"]

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


def _lag(y: np.ndarray, t: np.ndarray, k: int) -> np.ndarray:
    idx = t - k
    ok = idx >= 0
    out = np.full((y.shape[0], len(t)), np.nan)
    out[:, ok] = y[:, idx[ok]]
    return out


def _window_mean(y: np.ndarray, t: np.ndarray, end_lag: int, width: int) -> np.ndarray:
    out = np.full((y.shape[0], len(t)), np.nan)
    for j, tt in enumerate(t):  # one slice per target week (tens), never per series
        lo, hi = tt - end_lag - width + 1, tt - end_lag + 1
        if lo >= 0:
            with np.errstate(all="ignore"):
                out[:, j] = np.nanmean(y[:, lo:hi], axis=1) if hi > lo else np.nan
    return out


def weekly_features(
    y: np.ndarray,
    weeks: pd.DatetimeIndex,
    targets: np.ndarray,
    series: pd.DataFrame,
    weekly: pd.DataFrame,
    *,
    min_lag: int = 39,
    exogenous: Sequence[str] = (),
) -> tuple[pd.DataFrame, np.ndarray]:
    """Features for every series at target week positions ``targets``.

    Args:
        y: Sales, (n_series, n_weeks), NaN where a series has no row.
        weeks: The week dates (columns of ``y``).
        targets: Target week positions (may run past ``y``'s last column).
        series: Per series ``Store, Dept, Type, Size``.
        weekly: Per ``Store, Date``: ``IsHoliday`` and the exogenous columns.
        min_lag: Youngest sales lag used (the longest horizon served).
        exogenous: Exogenous columns of the target week to include.

    Returns:
        Feature frame (rows series-major) and the per-row scale (recent level).
    """
    n = y.shape[0]
    targets = np.asarray(targets)
    target_dates = weeks[0] + pd.to_timedelta(7 * targets, unit="D")
    level = _window_mean(y, targets, min_lag, 13)
    cols: dict[str, np.ndarray] = {
        "lag52": _lag(y, targets, 52),
        "lag51": _lag(y, targets, 51),
        "lag53": _lag(y, targets, 53),
        "level_recent": level,
        "level_year_before": _window_mean(y, targets, min_lag + 52, 13),
        "level_lag52": _window_mean(y, targets, 52, 5),
    }
    scale = np.where(np.isfinite(level), np.abs(level), np.nan)
    scale = np.where(np.isfinite(scale), scale, np.nanmedian(np.abs(y), axis=1)[:, None])
    scale = np.clip(np.nan_to_num(scale, nan=1.0), 1.0, None)
    feats = {k: (v / scale).ravel() for k, v in cols.items()}
    grid = pd.DataFrame({"Store": np.repeat(series["Store"].to_numpy(), len(targets)),
                         "Date": np.tile(target_dates.to_numpy(), n)})
    extra = grid.merge(weekly, on=["Store", "Date"], how="left")
    feats.update({
        "store": np.repeat(series["Store"].to_numpy(), len(targets)),
        "dept": np.repeat(series["Dept"].to_numpy(), len(targets)),
        "type": np.repeat(series["Type"].map({"A": 0, "B": 1, "C": 2}).to_numpy(), len(targets)),
        "size": np.repeat(series["Size"].to_numpy(), len(targets)),
        "week_of_year": np.tile(target_dates.isocalendar().week.to_numpy(dtype=np.int32), n),
        "holiday": extra["IsHoliday"].fillna(False).astype(int).to_numpy(),
        "log_scale": np.log(scale.ravel()),
    })
    for c in exogenous:
        feats[c] = extra[c].to_numpy(dtype=np.float64)
    return pd.DataFrame(feats), scale.ravel()


def _fit_predict(y: np.ndarray, weeks: pd.DatetimeIndex, n_train: int, horizon: int, series: pd.DataFrame,
                 weekly: pd.DataFrame, exogenous: Sequence[str], rounds: int = 400) -> np.ndarray:
    import lightgbm as lgb

    train_t = np.arange(64, n_train)
    x, scale = weekly_features(y[:, :n_train], weeks, train_t, series, weekly, exogenous=exogenous)
    target = y[:, train_t].ravel()
    ok = np.isfinite(target)
    w = scale * np.where(x["holiday"].to_numpy() == 1, 5.0, 1.0)
    data = lgb.Dataset(x[ok], label=target[ok] / scale[ok], weight=w[ok],
                       categorical_feature=["store", "dept", "type"])
    booster = lgb.train(_PARAMS, data, num_boost_round=rounds)
    test_t = np.arange(n_train, n_train + horizon)
    xt, st = weekly_features(y[:, :n_train], weeks, test_t, series, weekly, exogenous=exogenous)
    return (booster.predict(xt) * st).reshape(y.shape[0], horizon)


def _seasonal_naive(y_train: np.ndarray, horizon: int, season: int = 52) -> np.ndarray:
    n_train = y_train.shape[1]
    idx = np.arange(n_train, n_train + horizon) - season
    pred = y_train[:, idx]
    # No sale a season ago: carry the last observed week (0 if the series never sold).
    last = pd.DataFrame(y_train).ffill(axis=1).iloc[:, -1].fillna(0.0).to_numpy()
    return np.where(np.isfinite(pred), pred, last[:, None])


def walmart_benchmark(folder: str | Path, *, holdout_weeks: int = 39) -> dict[str, Any]:
    """Seasonal naive (52) vs the global model without and with weather/markdown features.

    Args:
        folder: ``walmart_store_sales`` folder (train, features, stores parquet).
        holdout_weeks: Weeks held out at the end of ``train.parquet``.

    Returns:
        ``table`` (model, wmae, mae, bias, seconds) and the ranges and sizes.
    """
    t0 = perf_counter()
    folder = Path(folder)
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
    n_train = len(weeks) - holdout_weeks
    actual = y[:, n_train:]
    holiday = feats.drop_duplicates("Date").set_index("Date")["IsHoliday"].reindex(weeks[n_train:]).to_numpy()
    hol = np.broadcast_to(holiday, actual.shape)
    scored = np.isfinite(actual)
    seconds = {"load": perf_counter() - t0}

    def score(name: str, pred: np.ndarray, secs: float) -> dict[str, Any]:
        a, p = actual[scored], pred[scored]
        return {"model": name, "wmae": wmae(a, p, hol[scored]), "mae": float(np.mean(np.abs(a - p))),
                "bias": bias(a, p), "seconds": secs}

    table = []
    t = perf_counter()
    table.append(score("seasonal_naive_52", _seasonal_naive(y[:, :n_train], holdout_weeks), perf_counter() - t))
    for name, exo in (("lightgbm_no_weather", ()), ("lightgbm_weather_markdown", EXOGENOUS)):
        t = perf_counter()
        pred = _fit_predict(y, weeks, n_train, holdout_weeks, series, feats, exo)
        table.append(score(name, pred, perf_counter() - t))
        seconds[name] = table[-1]["seconds"]
    seconds["total"] = perf_counter() - t0
    return {
        "table": pd.DataFrame(table),
        "seconds": seconds,
        "holdout_weeks": holdout_weeks,
        "n_series": len(series),
        "train_range": f"{weeks[0].date()}..{weeks[n_train - 1].date()}",
        "test_range": f"{weeks[n_train].date()}..{weeks[-1].date()}",
    }
