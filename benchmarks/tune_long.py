"""Choose the long-history forecaster's settings on several validation windows (never the test window).

    python -m benchmarks.tune_long m5 [--only a,b] [--threads 1] [--out FILE]
    python -m benchmarks.tune_long bakery [--only a,b] [--threads 1] [--out FILE]
    python -m benchmarks.tune_long m5 --time --only previous_default,min_lag_7   # fit seconds, same run

``--no-cal`` scores the model's mean only (no calibration fits); ``--no-blend`` sets the
weekday-mean blend weight to 1 (the model alone, what long series get by default); ``--origins``
replaces the default validation origins (each window must end by the test origin). With AutoETS
among the references (``--ets`` on m5, always on the bakery) every candidate is also compared with
them window by window against the issue's accuracy targets.

Each candidate is a set of :class:`~forecasting.long_history.LongHistoryForecaster` settings
(or an average of several), given as changes to :data:`BASE`, the settings before this tuning
(``previous_default``). At every validation origin it is fitted on the history up to
the origin and forecasts the 28 days after it; the blend weight with the weekday mean and the
quantile levels are calibrated the way :meth:`LongHistoryForecaster.fit` calibrates them (on
a fit at ``origin - 28`` days, scored on the window up to the origin), so each origin costs
the fits at the origin and 28 days before it (shared between chained origins).

The data are cut at the test origin right after loading (m5: 2016-04-24, bakery:
2019-03-05): nothing after it is read by this script.

Scores: m5 ``wrmsse_280`` like :func:`benchmarks.m5_long.score` with each origin's weights
the dollar sales of the 28 days before it and the official scales; bakery MAE of the median
``q50`` (what the benchmark scores) and of the mean. Also the q10-q90 and q90 coverage and
the seconds per fit (wall time on a shared machine: compare within one run only).

Fits are cached under ``--cache`` (keyed by the settings, origin and threads), so a table can
be printed again with more candidates without refitting the others; ``--fresh`` refits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd

from benchmarks import bakery, m5_long
from benchmarks._baselines import mlf_m5_recipe, stat_forecasts
from benchmarks._common import Tee, header
from benchmarks._data import load_bakery, load_m5_long, shared_data
from forecasting.calibration import coverage_levels, seasonal_dispersion
from forecasting.long_history import LongHistoryForecaster, _blend_weight, rmsse_scale, weekday_mean
from forecasting.quantiles import negbin_quantiles

__all__ = ["CANDIDATES", "Bench", "m5_bench", "bakery_bench", "evaluate", "reference", "timing", "main"]

H = 28
QS = (0.1, 0.5, 0.9)

# name -> {"members": [settings, ...], "ets": weight of statsforecast AutoETS in the average,
# "recipe": weight of the plain mlforecast recipe in it}.
# settings: LongHistoryForecaster fields changed from BASE (the settings before this tuning), with
# "p" the LightGBM parameters overriding BASE's.
BASE = {"min_lag": 1}


def _log1p():
    """log1p target, expm1 back: an L2 fit on it aims at the median-like geometric mean (MAE's target)."""
    from mlforecast.target_transforms import GlobalSklearnTransformer
    from sklearn.preprocessing import FunctionTransformer

    return GlobalSklearnTransformer(FunctionTransformer(func=np.log1p, inverse_func=np.expm1))


_LOG_L2 = {"target_transforms": "log1p", "p": {"objective": "regression"}}
_ALL = {"max_train_rows": None}
_FAST = {"learning_rate": 0.1, "n_estimators": 150}
CANDIDATES: dict[str, dict] = {
    "previous_default": {"members": [{}]},
    "all_rows": {"members": [_ALL]},
    "all_rows_lr05_t500": {"members": [{**_ALL, "p": {"learning_rate": 0.05, "n_estimators": 500}}]},
    "no_day_doy": {"members": [{"date_features": ("dayofweek", "month")}]},
    "all_rows_no_day_doy": {"members": [{**_ALL, "date_features": ("dayofweek", "month")}]},
    "last_2y": {"members": [{**_ALL, "train_days": 730}]},
    "last_1y": {"members": [{**_ALL, "train_days": 365}]},
    "tweedie_1.1": {"members": [{"p": {"tweedie_variance_power": 1.1}}]},
    "tweedie_1.4": {"members": [{"p": {"tweedie_variance_power": 1.4}}]},
    "direct_28": {"members": [{"min_lag": 28}]},
    "rec_plus_direct": {"members": [{}, {"min_lag": 28}]},
    "min_lag_7": {"members": [{"min_lag": 7}]},
    "lag1_lag7_lag28": {"members": [{}, {"min_lag": 7}, {"min_lag": 28}]},
    "seeds_3": {"members": [{}, {"seed": 1}, {"seed": 2}]},
    "l2": {"members": [{"p": {"objective": "regression"}}]},
    "l1": {"members": [{"p": {"objective": "l1"}}]},
    "plus_ets": {"members": [{}], "ets": 0.5},
    "leaves31": {"members": [{"p": {"num_leaves": 31}}]},
    "no_calib": {"members": [{}], "no_blend": True},
    "seed_1": {"members": [{"seed": 1}]},
    "lag7_seed_1": {"members": [{"min_lag": 7, "seed": 1}]},
    "lag7_no_day_doy": {"members": [{"min_lag": 7, "date_features": ("dayofweek", "month")}]},
    "lag7_tweedie_1.1": {"members": [{"min_lag": 7, "p": {"tweedie_variance_power": 1.1}}]},
    "lag1_plus_lag7": {"members": [{}, {"min_lag": 7}]},
    "seeds_2": {"members": [{}, {"seed": 1}]},
    "lag7_tweedie_1.4": {"members": [{"min_lag": 7, "p": {"tweedie_variance_power": 1.4}}]},
    "lag7_tweedie_1.4_seed_1": {"members": [{"min_lag": 7, "seed": 1, "p": {"tweedie_variance_power": 1.4}}]},
    "tweedie_1.4_seed_1": {"members": [{"seed": 1, "p": {"tweedie_variance_power": 1.4}}]},
    "lag7_fast": {"members": [{"min_lag": 7, "p": _FAST}]},
    "lag7_fast_seed_1": {"members": [{"min_lag": 7, "seed": 1, "p": _FAST}]},
    "lag7_fast_seeds_2": {"members": [{"min_lag": 7, "p": _FAST}, {"min_lag": 7, "seed": 1, "p": _FAST}]},
    "lag7_fast_all_rows": {"members": [{**_ALL, "min_lag": 7, "p": _FAST}]},
    "lag7_fast_all_rows_seed_1": {"members": [{**_ALL, "min_lag": 7, "seed": 1, "p": _FAST}]},
    "lag7_seeds_2": {"members": [{"min_lag": 7}, {"min_lag": 7, "seed": 1}]},
    # cheaper fits for the pipeline's long stage (its seconds, see ``--time``)
    "lag7_leaves31": {"members": [{"min_lag": 7, "p": {"num_leaves": 31}}]},
    "lag7_leaves31_seed_1": {"members": [{"min_lag": 7, "seed": 1, "p": {"num_leaves": 31}}]},
    "lag7_rows_120k": {"members": [{"min_lag": 7, "max_train_rows": 120_000}]},
    "lag7_rows_120k_seed_1": {"members": [{"min_lag": 7, "seed": 1, "max_train_rows": 120_000}]},
    "lag7_t200": {"members": [{"min_lag": 7, "p": {"learning_rate": 0.09, "n_estimators": 200}}]},
    "lag7_t200_seed_1": {"members": [{"min_lag": 7, "seed": 1, "p": {"learning_rate": 0.09, "n_estimators": 200}}]},
    "lag7_bin63": {"members": [{"min_lag": 7, "p": {"max_bin": 63}}]},
    # fitted 14 days before the origin (the pipeline's backtest fit) and moved to it by ``update``
    "lag7_updated_14": {"members": [{"min_lag": 7, "update_days": 14}]},
    "lag1_lag7_seeds_2": {"members": [{}, {"seed": 1}, {"min_lag": 7}, {"min_lag": 7, "seed": 1}]},
    "lag7_year": {"members": [{"min_lag": 7, "date_features": ("dayofweek", "dayofyear", "month", "day", "year")}]},
    "lag7_item_m5": {"members": [{"min_lag": 7, "static_features": ("store_id", "dept_id", "item_id")}]},
    "lag7_plus_recipe": {"members": [{"min_lag": 7}], "recipe": 0.5},
    "lag7_log_l2": {"members": [{"min_lag": 7, **_LOG_L2}]},
    "lag7_l2": {"members": [{"min_lag": 7, "p": {"objective": "regression"}}]},
    "lag7_plus_log_l2": {"members": [{"min_lag": 7}, {"min_lag": 7, **_LOG_L2}]},
    "lag7_plus_recipe_30": {"members": [{"min_lag": 7}], "recipe": 0.3},
    "lag7_no_doy": {"members": [{"min_lag": 7, "date_features": ("dayofweek", "month", "day")}]},
    "lag7_leaves15": {"members": [{"min_lag": 7, "p": {"num_leaves": 15}}]},
    "lag7_child20": {"members": [{"min_lag": 7, "p": {"min_child_samples": 20}}]},
    "lag7_lr03_t700": {"members": [{"min_lag": 7, "p": {"learning_rate": 0.03, "n_estimators": 700}}]},
    "lag7_poisson": {"members": [{"min_lag": 7, "p": {"objective": "poisson"}}]},
    "lag7_colsample05": {"members": [{"min_lag": 7, "p": {"colsample_bytree": 0.5}}]},
    "lag7_child50": {"members": [{"min_lag": 7, "p": {"min_child_samples": 50}}]},
    "lag7_no_doy_child20": {"members": [{"min_lag": 7, "date_features": ("dayofweek", "month", "day"),
                                         "p": {"min_child_samples": 20}}]},
    "lag7_child20_col05": {"members": [{"min_lag": 7, "p": {"min_child_samples": 20, "colsample_bytree": 0.5}}]},
    "lag7_no_doy_child20_col05": {"members": [{"min_lag": 7, "date_features": ("dayofweek", "month", "day"),
                                               "p": {"min_child_samples": 20, "colsample_bytree": 0.5}}]},
    "lag7_no_doy_child20_col05_tw14": {"members": [{"min_lag": 7, "date_features": ("dayofweek", "month", "day"),
                                                    "p": {"min_child_samples": 20, "colsample_bytree": 0.5,
                                                          "tweedie_variance_power": 1.4}}]},
    "lag7_plus_ets_20": {"members": [{"min_lag": 7}], "ets": 0.2},
    "lag7_plus_ets_40": {"members": [{"min_lag": 7}], "ets": 0.4},
    "no_day_doy_tweedie_1.4": {"members": [{"date_features": ("dayofweek", "month"),
                                            "p": {"tweedie_variance_power": 1.4}}]},
}


@dataclass
class Bench:
    """One data set cut at its test origin: history, covariates, validation origins, scorer."""

    name: str
    hist: pd.DataFrame
    cov: object
    origins: list[pd.Timestamp]
    forecaster: LongHistoryForecaster
    score: object  # (frame with y, column, origin) -> dict
    recipe: object  # (origin) -> frame with unique_id, ds, recipe


def _cut_frames(obj, limit: pd.Timestamp, cols: dict[str, str]):
    return replace(obj, **{k: getattr(obj, k)[getattr(obj, k)[c] <= limit] for k, c in cols.items()})


def m5_bench(root: Path | None = None) -> Bench:
    """The 280 M5 series up to 2016-04-24; origins 03-27, 02-28, 01-31 and 2015-04-25."""
    limit = m5_long.TEST_ORIGIN
    m = _cut_frames(load_m5_long(root or shared_data()), limit,
                    {"sales": "ds", "prices": "ds", "snap": "ds", "weather": "date"})
    cols = ["unique_id", "ds", "y", "store_id", "dept_id", "item_id"]

    def score(x: pd.DataFrame, col: str, origin: pd.Timestamp) -> dict:
        # the benchmark's own score, with the validation window's weights (dollar sales before it)
        s = m5_long.score(m, x, col, origin, m5_long._dollar_weights(m, origin))
        return {"wrmsse": s["wrmsse_280"], "rmse_total": s["rmse_daily_total"]}

    def recipe(origin: pd.Timestamp) -> pd.DataFrame:
        h = m.sales.loc[m.sales["ds"] <= origin, ["unique_id", "ds", "y"]].merge(m.prices, on=["unique_id", "ds"],
                                                                                  how="left")
        futr = m.prices[(m.prices["ds"] > origin) & (m.prices["ds"] <= origin + pd.Timedelta(days=H))]
        return mlf_m5_recipe(h, H, futr=futr, n_jobs=1).rename(columns={"mlf_m5_recipe": "recipe"})

    origins = [pd.Timestamp(d) for d in ("2016-03-27", "2016-02-28", "2016-01-31", "2015-04-25")]
    return Bench("m5", m.sales[cols], m5_long.covariates(m), origins, replace(m5_long.FORECASTER, **BASE), score,
                 recipe)


def bakery_bench(root: Path | None = None) -> Bench:
    """The bakery up to 2019-03-05; origins 2019-02-05, 2019-01-08 and 2018-03-06."""
    limit = bakery.TEST_ORIGIN
    b = _cut_frames(load_bakery(root or shared_data()), limit,
                    {"sales": "ds", "promotions": "ds", "holidays": "date", "weather": "date"})
    cols = ["unique_id", "ds", "y", "store_id", "item_id"]

    def score(x: pd.DataFrame, col: str, origin: pd.Timestamp) -> dict:
        err = x[col] - x["y"]
        return {"mae": float(err.abs().mean()), "rmse": float(np.sqrt((err ** 2).mean()))}

    promo = b.promotions[["unique_id", "ds", "promotion_current_week"]]

    def recipe(origin: pd.Timestamp) -> pd.DataFrame:
        h = b.sales.loc[b.sales["ds"] <= origin, ["unique_id", "ds", "y"]].merge(promo, on=["unique_id", "ds"],
                                                                                  how="left")
        futr = promo[(promo["ds"] > origin) & (promo["ds"] <= origin + pd.Timedelta(days=H))]
        return mlf_m5_recipe(h, H, futr=futr, price_col="promotion_current_week", n_jobs=1).rename(
            columns={"mlf_m5_recipe": "recipe"})

    origins = [pd.Timestamp(d) for d in ("2019-02-05", "2019-01-08", "2018-03-06")]
    return Bench("bakery", b.sales[cols], bakery.covariates(b), origins, replace(bakery.FORECASTER, **BASE), score,
                 recipe)


class _Cache:
    def __init__(self, root: Path, fresh: bool) -> None:
        self.root, self.fresh = root, fresh
        root.mkdir(parents=True, exist_ok=True)

    def get(self, key: dict, make) -> tuple[pd.DataFrame, float]:
        digest = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
        path = self.root / f"{digest}.parquet"
        if path.exists() and not self.fresh:
            return pd.read_parquet(path), float(json.loads(path.with_suffix(".json").read_text()))
        t = perf_counter()
        frame = make()
        seconds = perf_counter() - t
        frame.to_parquet(path)
        path.with_suffix(".json").write_text(json.dumps(seconds))
        return frame, seconds


def _member(bench: Bench, settings: dict, threads: int) -> LongHistoryForecaster:
    kw = {k: v for k, v in settings.items() if k not in ("p", "update_days")}
    if kw.get("target_transforms") == "log1p":  # named in the settings so the cache key stays readable
        kw["target_transforms"] = (_log1p(),)
    params = {**bench.forecaster.params, **settings.get("p", {}), "n_jobs": threads}
    return replace(bench.forecaster, calibrate=False, params=params, **kw)


def _mean_forecast(bench: Bench, cand: dict, origin: pd.Timestamp, cache: _Cache,
                   threads: int) -> tuple[pd.DataFrame, float]:
    """Average of the candidate's members' backtests at ``origin`` and the seconds of their fits."""
    hist = bench.hist[bench.hist["ds"] <= origin]
    preds, seconds = [], 0.0
    for settings in cand["members"]:
        fc = _member(bench, settings, threads)
        key = {"bench": bench.name, "origin": origin, "settings": settings, "threads": threads}
        days = settings.get("update_days")
        out, s = cache.get(key, lambda fc=fc, k=days: _forecast(fc, hist, origin, bench.cov, k))
        preds.append(out.set_index(["unique_id", "ds"])["yhat"])
        seconds += s
    mean = pd.concat(preds, axis=1).mean(axis=1)
    for name, col, reference_forecast in (("ets", "auto_ets", _ets), ("recipe", "recipe", _recipe)):
        if cand.get(name):
            other, s = reference_forecast(bench, origin, cache)
            w = float(cand[name])
            mean = (1 - w) * mean + w * other.set_index(["unique_id", "ds"])[col].reindex(mean.index)
            seconds += s
    out = mean.rename("yhat").reset_index()
    recent = hist.loc[hist["ds"] > origin - pd.Timedelta(days=H), ["unique_id", "ds", "y"]]
    out["baseline"] = weekday_mean(recent, out)
    return out, seconds


def _forecast(fc: LongHistoryForecaster, hist: pd.DataFrame, origin: pd.Timestamp, cov: object,
              update_days: int | None) -> pd.DataFrame:
    """The 28 days after ``origin`` from a fit at ``origin`` or, with ``update_days``, from a fit that
    many days earlier moved to ``origin`` without refitting (:meth:`LongHistoryForecaster.update`)."""
    if not update_days:
        return fc.backtest(hist, origin=origin, covariates=cov)[["unique_id", "ds", "yhat"]]
    fc.backtest(hist, origin=origin - pd.Timedelta(days=int(update_days)), covariates=cov, h=int(update_days))
    return fc.update(hist).predict(H)[["unique_id", "ds", "yhat"]]


def _ets(bench: Bench, origin: pd.Timestamp, cache: _Cache) -> tuple[pd.DataFrame, float]:
    hist = bench.hist[bench.hist["ds"] <= origin]
    return cache.get({"bench": bench.name, "origin": origin, "model": "auto_ets"},
                     lambda: stat_forecasts(hist, H, ["auto_ets"], n_jobs=1)[0])


def _recipe(bench: Bench, origin: pd.Timestamp, cache: _Cache) -> tuple[pd.DataFrame, float]:
    return cache.get({"bench": bench.name, "origin": origin, "model": "recipe"}, lambda: bench.recipe(origin))


def _with_actuals(bench: Bench, fc: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    act = bench.hist[(bench.hist["ds"] > origin) & (bench.hist["ds"] <= origin + pd.Timedelta(days=H))]
    x = act[["unique_id", "ds", "y"]].merge(fc, on=["unique_id", "ds"], how="left")
    if x["yhat"].isna().any():
        raise ValueError(f"{int(x['yhat'].isna().sum())} series-days without a forecast at {origin:%Y-%m-%d}")
    return x


def evaluate(bench: Bench, name: str, cand: dict, cache: _Cache, threads: int, *,
             calibrate: bool = True, blend: bool = True) -> pd.DataFrame:
    """One row per validation origin: scores of the mean, the blend and the median, coverage, seconds.

    Without ``calibrate`` only the model's mean is scored (no fit at ``origin - 28``); without
    ``blend`` the weekday-mean blend weight is 1 (the model alone).
    """
    rows = []
    for origin in bench.origins:
        cal_origin = origin - pd.Timedelta(days=H)
        cur, seconds = _mean_forecast(bench, cand, origin, cache, threads)
        cur = _with_actuals(bench, cur, origin)
        if not calibrate:
            row = {"candidate": name, "origin": f"{origin:%Y-%m-%d}"}
            if bench.name == "m5":
                row.update(wrmsse_model=bench.score(cur, "yhat", origin)["wrmsse"])
            else:
                row.update(mae_mean=bench.score(cur, "yhat", origin)["mae"])
            rows.append({**row, "fit_seconds": seconds})
            continue
        prev, _ = _mean_forecast(bench, cand, cal_origin, cache, threads)
        prev = _with_actuals(bench, prev, cal_origin)
        prev["scale"] = rmsse_scale(bench.hist, cal_origin).reindex(prev["unique_id"]).to_numpy()
        w = 1.0 if cand.get("no_blend") or not blend else _blend_weight(prev)
        disp_prev = seasonal_dispersion(bench.hist[bench.hist["ds"] <= cal_origin]).reindex(prev["unique_id"])
        blend_prev = w * prev["yhat"] + (1 - w) * prev["baseline"]
        levels = coverage_levels(prev["y"].to_numpy(), blend_prev.to_numpy(), disp_prev.to_numpy(), QS)
        cur["mean"] = w * cur["yhat"] + (1 - w) * cur["baseline"]
        disp = seasonal_dispersion(bench.hist[bench.hist["ds"] <= origin]).reindex(cur["unique_id"]).to_numpy()
        for q in QS:
            cur[f"q{int(q * 100)}"] = negbin_quantiles(cur["mean"].to_numpy(), disp, [levels[q]])[levels[q]]
        row = {"candidate": name, "origin": f"{origin:%Y-%m-%d}", "blend_w": w}
        if bench.name == "m5":
            s = bench.score(cur, "mean", origin)
            row.update(wrmsse=s["wrmsse"], wrmsse_model=bench.score(cur, "yhat", origin)["wrmsse"],
                       rmse_total=s["rmse_total"])
        else:
            s = bench.score(cur, "q50", origin)
            nominal = negbin_quantiles(cur["mean"].to_numpy(), disp, [0.5])[0.5]
            row.update(mae_q50=s["mae"], mae_mean=bench.score(cur, "mean", origin)["mae"], rmse_q50=s["rmse"],
                       q50_level=levels[0.5], mae_q50_nominal=float(np.abs(nominal - cur["y"]).mean()))
        y = cur["y"].to_numpy()
        row.update(cov_q10_q90=float(np.mean((y >= cur["q10"]) & (y <= cur["q90"]))),
                   cov_q90=float(np.mean(y <= cur["q90"])), fit_seconds=seconds)
        rows.append(row)
    return pd.DataFrame(rows)


def reference(bench: Bench, cache: _Cache, *, ets: bool | None = None) -> pd.DataFrame:
    """The weekday mean of the last 4 weeks, the plain mlforecast recipe and statsforecast AutoETS
    (default: bakery only, about 5 minutes a window on the 280 M5 series) at the same origins."""
    ets = bench.name == "bakery" if ets is None else ets
    rows = []
    for origin in bench.origins:
        hist = bench.hist[bench.hist["ds"] <= origin]
        rec, s = _recipe(bench, origin, cache)
        x = _with_actuals(bench, rec.rename(columns={"recipe": "yhat"})[["unique_id", "ds", "yhat"]], origin)
        recent = hist.loc[hist["ds"] > origin - pd.Timedelta(days=H), ["unique_id", "ds", "y"]]
        x["wm4"] = weekday_mean(recent, x)
        # a point forecast scores the same as mean, blend and median
        metrics = ("wrmsse", "wrmsse_model") if bench.name == "m5" else ("mae_q50", "mae_mean", "mae_q50_nominal")
        key = "wrmsse" if bench.name == "m5" else "mae"
        point = lambda frame, col: dict.fromkeys(metrics, bench.score(frame, col, origin)[key])  # noqa: B023, E731
        rows.append({"candidate": "ref_mlf_recipe", "origin": f"{origin:%Y-%m-%d}", **point(x, "yhat"),
                     "fit_seconds": s})
        rows.append({"candidate": "ref_weekday_mean_4", "origin": f"{origin:%Y-%m-%d}", **point(x, "wm4"),
                     "fit_seconds": 0.0})
        if ets:
            fc, s = _ets(bench, origin, cache)
            e = _with_actuals(bench, fc.rename(columns={"auto_ets": "yhat"}), origin)
            rows.append({"candidate": "ref_auto_ets", "origin": f"{origin:%Y-%m-%d}", **point(e, "yhat"),
                         "fit_seconds": s})
    return pd.DataFrame(rows)


def _as_forecaster(bench: Bench, cand: dict, threads: int) -> LongHistoryForecaster:
    """One forecaster for a candidate whose members differ only in their seed (``n_models``)."""
    first = {k: v for k, v in cand["members"][0].items() if k != "seed"}
    if any({k: v for k, v in m.items() if k != "seed"} != first for m in cand["members"]) or cand.get("ets") or cand.get("recipe"):
        raise ValueError("only candidates whose members differ in their seed alone can be timed as one forecaster")
    return replace(_member(bench, first, threads), n_models=len(cand["members"]))


def timing(bench: Bench, names: Sequence[str], tee: Tee, *, threads: int, repeats: int = 2) -> pd.DataFrame:
    """Seconds of ``fit`` + ``predict`` at the last validation-free day (as the pipeline's long stage
    fits: no calibration, at most 200,000 training rows), the candidates alternating, ``repeats`` rounds."""
    origin = bench.hist["ds"].max()
    rows = []
    for r in range(repeats):
        for name in names:
            fc = _as_forecaster(bench, CANDIDATES[name], threads)
            fc = fc if fc.max_train_rows and fc.max_train_rows < 200_000 else replace(fc, max_train_rows=200_000)
            t = perf_counter()
            fc.fit(bench.hist, covariates=bench.cov).predict()
            rows.append({"round": r, "candidate": name, "seconds": perf_counter() - t})
            tee(f"round {r} {name}: {rows[-1]['seconds']:.1f} s")
    t = pd.DataFrame(rows).groupby("candidate", sort=False)["seconds"].agg(["median", "min", "max"])
    t["median_vs_first"] = t["median"] / t["median"].iloc[0]
    tee(f"\nFit + predict seconds on the {bench.name} history to {origin:%Y-%m-%d} (calibrate=False, "
        f"max_train_rows=200,000, {threads} LightGBM thread(s)), {repeats} alternating rounds:")
    tee(t.to_string(float_format=lambda v: f"{v:.2f}"))
    return t


def _origins(text: str, bench: Bench) -> list[pd.Timestamp]:
    """Validation origins from ``--origins``: each needs its 28 days after it inside the cut history."""
    origins = [pd.Timestamp(d) for d in text.split(",") if d.strip()]
    last = bench.hist["ds"].max() - pd.Timedelta(days=H)
    late = [f"{o:%Y-%m-%d}" for o in origins if o > last]
    if late:
        raise SystemExit(f"--origins: {', '.join(late)} after {last:%Y-%m-%d}: their 28 days would reach past "
                         f"the {bench.name} test origin")
    return origins


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tune_long", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", choices=["m5", "bakery"])
    parser.add_argument("--only", default=None, help="comma-separated candidate names (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/supplycast_tune_long"))
    parser.add_argument("--fresh", action="store_true", help="refit instead of reading cached fits")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-cal", action="store_true",
                        help="score the model's mean only (skips the calibration fits 28 days before each origin)")
    parser.add_argument("--no-blend", action="store_true", help="no weekday-mean blend (the model alone)")
    parser.add_argument("--time", action="store_true",
                        help="time fit + predict of the candidates (alternating, the first is the reference)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-ref", action="store_true", help="skip the reference models")
    parser.add_argument("--origins", default=None,
                        help="comma-separated validation origins (YYYY-MM-DD, before the test origin) instead of "
                             "the default ones")
    parser.add_argument("--ets", action="store_true",
                        help="score statsforecast AutoETS among the references on m5 too (bakery: always)")
    args = parser.parse_args(argv)
    tee = Tee(args.out)
    header(tee, f"Validation-only tuning of the long-history forecaster: {args.bench}",
           ["benchmarks.tune_long", *(argv or sys.argv[1:])])
    bench = m5_bench() if args.bench == "m5" else bakery_bench()
    if args.origins:
        bench = replace(bench, origins=_origins(args.origins, bench))
    cache = _Cache(args.cache / args.bench, args.fresh)
    names = args.only.split(",") if args.only else list(CANDIDATES)
    if args.time:
        timing(bench, names, tee, threads=args.threads, repeats=args.repeats)
        tee.save()
        return 0
    per_origin = [] if args.no_ref else [reference(bench, cache, ets=args.ets or None)]
    if per_origin:
        tee(per_origin[0].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for name in names:
        per_origin.append(evaluate(bench, name, CANDIDATES[name], cache, args.threads, calibrate=not args.no_cal,
                                   blend=not args.no_blend))
        tee(per_origin[-1].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    table = pd.concat(per_origin, ignore_index=True)
    mean = table.drop(columns="origin").groupby("candidate", sort=False).mean()
    if "previous_default" in mean.index:
        mean["seconds_vs_previous"] = mean["fit_seconds"] / mean.at["previous_default", "fit_seconds"]
    tee(f"\nMean over the validation origins {', '.join(f'{o:%Y-%m-%d}' for o in bench.origins)} "
        f"(28 days each; fit_seconds: mean per origin, cached fits keep the seconds of the run that made them):")
    tee(mean.to_string(float_format=lambda v: f"{v:.4f}"))
    versus = against_references(table, bench.name)
    if versus is not None:
        tee("\nEach candidate against the references, window by window (negative: better; the issue's targets: "
            "m5 7 % below AutoETS and no worse than the recipe, bakery 15 % below the best reference):")
        tee(versus.to_string(float_format=lambda v: f"{v:+.1%}"))
        tee("\nmean and median over the windows, and how many windows meet the target:")
        tee(_summary(versus, bench.name).to_string())
    tee.save()
    return 0


# the targets as relative differences, from the benchmarks that score them
_TARGETS = {"m5": {"vs_auto_ets": m5_long.TARGET_VS_BEST_STAT - 1, "vs_recipe": 0.0},
            "bakery": {"vs_best_reference": bakery.TARGET_VS_BEST - 1}}


def against_references(table: pd.DataFrame, bench: str) -> pd.DataFrame | None:
    """Relative difference of each candidate's score from the references at every origin.

    m5: the model's mean (``wrmsse_model``) against AutoETS and the recipe; bakery: the MAE
    of the mean (``mae_mean``) against the best of AutoETS, the weekday mean and the recipe at
    that origin. None without AutoETS among the references.
    """
    col = "wrmsse_model" if bench == "m5" else "mae_mean"
    wide = table.pivot_table(index="origin", columns="candidate", values=col, sort=False)
    if "ref_auto_ets" not in wide.columns:
        return None
    refs = [c for c in wide.columns if c.startswith("ref_")]
    out = {}
    for cand in (c for c in wide.columns if c not in refs):
        if bench == "m5":
            out[cand] = pd.DataFrame({"vs_auto_ets": wide[cand] / wide["ref_auto_ets"] - 1,
                                      "vs_recipe": wide[cand] / wide["ref_mlf_recipe"] - 1})
        else:
            out[cand] = pd.DataFrame({"vs_best_reference": wide[cand] / wide[refs].min(axis=1) - 1})
    return pd.concat(out, names=["candidate", "origin"])


def _summary(versus: pd.DataFrame, bench: str) -> pd.DataFrame:
    """Mean and median of each comparison and how many windows meet the issue's target."""
    rows = {}
    for cand in versus.index.unique("candidate"):
        for col in versus.columns:
            v = versus.loc[cand, col]
            target = _TARGETS[bench][col]
            rows[(cand, col)] = {"mean": f"{v.mean():+.1%}", "median": f"{v.median():+.1%}",
                                 "target": f"{target:+.0%}" if target else "<= 0",
                                 "windows meeting it": f"{int((v <= target).sum())} of {len(v)}"}
    return pd.DataFrame(rows).T


if __name__ == "__main__":
    sys.exit(main())
