"""Baselines run beside the long-history forecaster in every benchmark script.

* ``seasonal_naive``: the same weekday one week earlier (statsforecast ``SeasonalNaive(7)``);
* ``weekday_mean_4``: the mean of the last 4 same weekdays (``SeasonalWindowAverage(7, 4)``);
* ``auto_ets``: ``AutoETS(season_length=7)``;
* ``mstl``: ``MSTL(season_length=[7, 365], trend_forecaster=AutoETS(model="ZZN"))``;
* ``stats_pick``: per series, the statsforecast model of the pool with the lowest MSE on an
  earlier window (fitted before it, scored on it), refitted at the origin;
* ``mlf_m5_recipe``: a plain mlforecast LightGBM with the well-known M5 features (lags 7
  and 28, rolling means 7 and 28 of lags 7 and 28, date features, price), untuned.
"""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter

import numpy as np
import pandas as pd

__all__ = ["STAT_MODELS", "stat_forecasts", "stats_pick", "mlf_m5_recipe"]

STAT_MODELS: tuple[str, ...] = ("seasonal_naive", "weekday_mean_4", "auto_ets", "mstl")


def _models(names: Sequence[str]) -> list:
    from statsforecast.models import MSTL, AutoETS, SeasonalNaive, SeasonalWindowAverage

    make = {
        "seasonal_naive": lambda: SeasonalNaive(season_length=7, alias="seasonal_naive"),
        "weekday_mean_4": lambda: SeasonalWindowAverage(season_length=7, window_size=4, alias="weekday_mean_4"),
        "auto_ets": lambda: AutoETS(season_length=7, alias="auto_ets"),
        "mstl": lambda: MSTL(season_length=[7, 365], trend_forecaster=AutoETS(model="ZZN"), alias="mstl"),
    }
    return [make[n]() for n in names]


def stat_forecasts(df: pd.DataFrame, h: int, names: Sequence[str] = STAT_MODELS, *,
                   n_jobs: int = 2) -> tuple[pd.DataFrame, dict[str, float]]:
    """Fit every named statsforecast model on ``unique_id, ds, y`` and forecast ``h`` days.

    Each model is fitted in its own call so its seconds can be reported.

    Returns:
        ``unique_id, ds`` plus one non-negative column per model, and the seconds per model.
    """
    from statsforecast import StatsForecast

    out, seconds = None, {}
    frame = df[["unique_id", "ds", "y"]]
    for name in names:
        t = perf_counter()
        sf = StatsForecast(models=_models([name]), freq="D", n_jobs=n_jobs)
        fc = sf.forecast(df=frame, h=h)
        seconds[name] = perf_counter() - t
        if "unique_id" not in fc.columns:
            fc = fc.reset_index()
        fc = fc[["unique_id", "ds", name]]
        fc[name] = np.clip(fc[name].to_numpy(dtype=np.float64), 0.0, None)
        out = fc if out is None else out.merge(fc, on=["unique_id", "ds"])
    return out, seconds


def stats_pick(valid_fc: pd.DataFrame, valid_actual: pd.DataFrame, test_fc: pd.DataFrame,
               names: Sequence[str] = STAT_MODELS) -> tuple[pd.Series, pd.Series]:
    """Per series, the model with the lowest MSE on the earlier window, applied to the test forecasts.

    Args:
        valid_fc: Forecasts of the earlier window (``unique_id, ds`` + one column per model).
        valid_actual: ``unique_id, ds, y`` of that window.
        test_fc: Forecasts from the origin, same columns.
        names: The pool.

    Returns:
        The picked forecast aligned with ``test_fc`` rows, and the pick per series.
    """
    m = valid_fc.merge(valid_actual[["unique_id", "ds", "y"]], on=["unique_id", "ds"])
    sse = pd.DataFrame({n: (m[n] - m["y"]) ** 2 for n in names}).groupby(m["unique_id"]).mean()
    choice = sse.idxmin(axis=1)
    picked = choice.reindex(test_fc["unique_id"]).to_numpy()
    values = test_fc[list(names)].to_numpy()
    col = pd.Index(list(names)).get_indexer(picked)
    return pd.Series(values[np.arange(len(test_fc)), col], index=test_fc.index), choice


def mlf_m5_recipe(df: pd.DataFrame, h: int, *, futr: pd.DataFrame, price_col: str = "sell_price",
                  seed: int = 0, n_jobs: int = 2) -> pd.DataFrame:
    """A plain mlforecast LightGBM with the M5 features, recursive, no weather.

    Args:
        df: ``unique_id, ds, y, <price_col>`` history.
        h: Days to forecast.
        futr: ``unique_id, ds, <price_col>`` for the forecast days.
        price_col: Price column (pass a constant column when there is no price).
        seed: LightGBM seed.

    Returns:
        ``unique_id, ds, mlf_m5_recipe``.
    """
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    model = lgb.LGBMRegressor(objective="tweedie", n_estimators=300, learning_rate=0.05, num_leaves=63,
                              verbosity=-1, n_jobs=n_jobs, random_state=seed)
    mlf = MLForecast(
        models={"mlf_m5_recipe": model}, freq="D", lags=[7, 28],
        lag_transforms={7: [RollingMean(7), RollingMean(28)], 28: [RollingMean(7), RollingMean(28)]},
        date_features=["dayofweek", "day", "month", "year"], num_threads=2,
    )
    mlf.fit(df[["unique_id", "ds", "y", price_col]], static_features=[])
    fc = mlf.predict(h, X_df=futr[["unique_id", "ds", price_col]])
    fc["mlf_m5_recipe"] = np.clip(fc["mlf_m5_recipe"].to_numpy(), 0.0, None)
    return fc
