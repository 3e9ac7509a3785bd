"""M5 forecast benchmark on the real data, printed with its seconds (a script, not a test).

    python -m benchmarks.m5 [--data ../shared/data/m5] [--with-ets]

The 28 M5 days we have (d_1914..d_1941). Train on the first 14, score the last 14
on all 30,490 series with the official WRMSSE (12 levels, official weights and
d_1..d_1913 scales). Model choice per store x department and the quantile calibration
come from an inner backtest inside the training 14 days (train 7, score 7), so the
scoring window is touched only to score.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.data import shared_data
from forecasting.features import build_panel
from forecasting.lgbm import GlobalLGBM
from forecasting.metrics import bias, mase
from forecasting.models import DEFAULT_MODELS, fit_predict
from forecasting.quantiles import calibrate_levels, estimate_dispersion, negbin_quantiles
from forecasting.selection import apply_choice, choose_per_segment
from forecasting.wrmsse import load_m5_scales, load_m5_weights, wrmsse

__all__ = ["run_m5", "main"]

_IDS = ["store_id", "item_id"]
_LEVELS = (0.1, 0.5, 0.9, 0.95)


def _matrix(long: pd.DataFrame, keys: pd.DataFrame, col: str, horizon: int) -> np.ndarray:
    """Long forecast (ids, date, col) -> (n_series, horizon) in ``keys`` order."""
    pos = keys[_IDS].astype(str).reset_index().rename(columns={"index": "row"})
    m = long.astype({"store_id": str, "item_id": str}).merge(pos, on=_IDS).sort_values(["row", "date"])
    if len(m) != len(keys) * horizon:
        raise ValueError(f"forecast {col}: {len(m)} rows, expected {len(keys) * horizon}")
    return m[col].to_numpy(dtype=np.float64).reshape(len(keys), horizon)


def _stat_models(train: pd.DataFrame, keys: pd.DataFrame, models: Sequence[str], horizon: int,
                 min_history: int) -> tuple[dict[str, np.ndarray], float]:
    t = perf_counter()
    fc = fit_predict(train, models=models, horizon=horizon, time_col="date", target_col="units",
                     min_history=min_history)
    return {m: _matrix(fc, keys, m, horizon) for m in models}, perf_counter() - t


def _dispersion(train: pd.DataFrame, keys: pd.DataFrame, min_obs: int) -> np.ndarray:
    disp = estimate_dispersion(train.astype({"store_id": str, "item_id": str}), id_col=_IDS,
                               target_col="units", min_obs=min_obs)
    idx = pd.MultiIndex.from_frame(keys[_IDS].astype(str))
    return disp.reindex(idx).fillna(float(disp.median())).to_numpy()


def _coverage(actual: np.ndarray, mean: np.ndarray, disp: np.ndarray,
              levels: dict[float, float]) -> dict[str, float]:
    d = np.broadcast_to(disp[:, None], mean.shape)
    qs = negbin_quantiles(mean, d, list(levels.values()))
    by = {nominal: qs[float(used)] for nominal, used in levels.items()}
    out = {f"below_q{int(round(q * 100)):02d}": float(np.mean(actual <= by[q])) for q in levels}
    out["coverage_q10_q90"] = float(np.mean((actual >= by[0.1]) & (actual <= by[0.9])))
    return out


def _m5_scores(name: str, series: pd.DataFrame, actual: np.ndarray, pred: np.ndarray, *, weights: pd.DataFrame,
               scales: pd.DataFrame, mase_scale: np.ndarray, seconds: float) -> dict[str, Any]:
    w = wrmsse(series, actual, pred, weights=weights, scales=scales)
    return {
        "model": name,
        "wrmsse": w.score,
        "mase": mase(actual.ravel(), pred.ravel(), np.repeat(mase_scale, actual.shape[1])),
        "bias": bias(actual.ravel(), pred.ravel()),
        "seconds": seconds,
        "per_level": w.per_level["wrmsse"].round(3).tolist(),
    }


def run_m5(folder: str | Path, *, holdout: int = 14, with_ets: bool = False) -> dict[str, Any]:
    """Run the M5 benchmark; returns the table and the quantile coverage.

    Args:
        folder: M5 folder (``../shared/data/m5``).
        holdout: Days scored at the end of the 28-day window.
        with_ets: Also fit AutoETS (slow: an optimiser per series).

    Returns:
        ``table`` (one row per model), ``coverage``, ``seconds``, ``choice`` counts.
    """
    from forecasting.m5 import load_m5

    t0 = perf_counter()
    folder = Path(folder)
    data = load_m5(folder)
    weights = load_m5_weights(folder / "weights_evaluation.parquet")
    scales = load_m5_scales(folder / "rmsse_scale_d1_d1913.parquet")
    dates = pd.DatetimeIndex(sorted(data.sales["date"].unique()))
    cut = dates[-holdout - 1]
    test_dates = dates[-holdout:]
    train = data.sales[data.sales["date"] <= cut]
    panel = build_panel(train, calendar=data.calendar, prices=data.prices, series_info=data.info,
                        extra_dates=test_dates)
    keys = panel.keys
    actual = build_panel(data.sales, calendar=None).y[:, -holdout:]
    seconds = {"load": perf_counter() - t0}

    # Inner backtest inside the training window: train on its first half, score the rest.
    inner_n = panel.y.shape[1] // 2
    inner_dates = panel.dates[inner_n:]
    inner_train = train[train["date"] < inner_dates[0]]
    inner_panel = build_panel(inner_train, calendar=data.calendar, prices=data.prices,
                              series_info=data.info, extra_dates=inner_dates)
    inner_actual = panel.y[:, inner_n:]

    stat_models = [*DEFAULT_MODELS, *(["auto_ets"] if with_ets else [])]
    preds, secs = _stat_models(train, keys, stat_models, holdout, min_history=7)
    seconds["statsforecast"] = secs
    inner_preds, _ = _stat_models(inner_train, keys, stat_models, len(inner_dates), min_history=7)

    t = perf_counter()
    preds["lightgbm"] = GlobalLGBM().fit(panel).predict(panel, test_dates)
    seconds["lightgbm"] = perf_counter() - t
    inner_preds["lightgbm"] = GlobalLGBM().fit(inner_panel).predict(inner_panel, inner_dates)

    # Segment choice: LightGBM, the best statsforecast model of the inner backtest, or their mean.
    stat_sse = {m: float(np.square(inner_preds[m] - inner_actual).sum()) for m in stat_models}
    best_stat = min(stat_sse, key=stat_sse.get)
    for p in (preds, inner_preds):
        p["blend"] = 0.5 * (p["lightgbm"] + p[best_stat])
    pool = ["lightgbm", best_stat, "blend"]
    segments = keys["store_id"].astype(str) + "|" + keys["dept_id"].astype(str)
    choice = choose_per_segment(inner_actual, {m: inner_preds[m] for m in pool}, segments)
    preds["selected"], _ = apply_choice(choice, {m: preds[m] for m in pool}, segments, default="lightgbm")
    seconds["inner_backtest"] = perf_counter() - t0 - sum(seconds.values())

    train_y = panel.y
    mase_scale = np.nanmean(np.abs(train_y[:, 7:] - train_y[:, :-7]), axis=1)
    table = [
        _m5_scores(m, keys, actual, preds[m], weights=weights, scales=scales, mase_scale=mase_scale,
                   seconds=seconds["lightgbm"] if m == "lightgbm" else seconds["statsforecast"])
        for m in [*stat_models, "lightgbm", "blend", "selected"]
    ]

    # Quantiles: negative binomial around the selected mean, levels recalibrated on the inner backtest.
    disp = _dispersion(train, keys, min_obs=7)
    inner_sel, _ = apply_choice(choice, {m: inner_preds[m] for m in pool}, segments, default="lightgbm")
    inner_disp = _dispersion(inner_train, keys, min_obs=7)
    calibrated = calibrate_levels(inner_actual, inner_sel, np.broadcast_to(inner_disp[:, None], inner_sel.shape),
                                  _LEVELS)
    coverage = {
        "negbin_raw": _coverage(actual, preds["selected"], disp, {q: q for q in _LEVELS}),
        "negbin_calibrated": _coverage(actual, preds["selected"], disp, calibrated),
        "calibrated_levels": calibrated,
    }
    seconds["total"] = perf_counter() - t0
    return {"table": pd.DataFrame(table), "coverage": coverage, "seconds": seconds,
            "choice": choice.value_counts().to_dict(), "best_stat": best_stat}


def _print_m5(res: dict[str, Any]) -> None:
    table = res["table"].set_index("model")
    base = table.at["seasonal_naive", "wrmsse"]
    table["vs_seasonal_naive"] = (1 - table["wrmsse"] / base).map(lambda v: f"{100 * v:+.1f}%")
    print("M5: train 2016-04-25..05-08 (14 days), score 05-09..05-22 (14 days), 30,490 series")
    print(table.drop(columns="per_level").to_string(float_format=lambda v: f"{v:.4f}"))
    print("per-level WRMSSE (levels 1..12):")
    for m in ("seasonal_naive", "lightgbm", "selected"):
        print(f"  {m:15s} {table.at[m, 'per_level']}")
    print(f"segment choice (store x dept): {res['choice']}; best statsforecast model in the inner backtest: "
          f"{res['best_stat']}")
    for k, v in res["coverage"].items():
        print(f"quantiles {k}: {({a: round(b, 4) for a, b in v.items()})}")
    print("seconds:", {k: round(v, 1) for k, v in res["seconds"].items()})


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.m5", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="M5 folder (default: ../shared/data/m5)")
    parser.add_argument("--with-ets", action="store_true", help="also fit AutoETS (slow)")
    args = parser.parse_args(argv)
    _print_m5(run_m5(args.data or shared_data() / "m5", with_ets=args.with_ets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
