"""Bakery chain: 35 stores x 3 products, daily; hold out 2019-03-06..04-02 (28 days).

    python -m benchmarks.bakery [--data ../shared/data] [--out benchmarks/results/bakery.txt]

Scores over all series-days of the holdout: MAE, RMSE and the pinball loss at q50 and
q90, for the baselines and for the long-history forecaster with each store's weather as
observed (a perfect forecast: an UPPER BOUND), as day-of-year climatology (what a run
without a weather forecast has) and without weather. Covariates: promotions (this and
last week), public and school holidays per store (days to/since, and the flags).

Tuning happens on the validation window 2019-02-06..03-05 (origin 02-05) only: the
per-series statsforecast pick and whether weather stays on; the forecaster's settings were
chosen on three windows before the holdout (``python -m benchmarks.tune_long bakery``). The
holdout is scored once per final configuration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._baselines import STAT_MODELS, mlf_m5_recipe, stat_forecasts, stats_pick
from benchmarks._common import (
    ROLES,
    Tee,
    Timer,
    depth_coverage,
    fit_predict,
    header,
    mixed_depths,
    pinball,
    valid_predictions,
)
from benchmarks._data import Bakery, load_bakery, shared_data
from forecasting.covariates import Covariates
from forecasting.long_history import LongHistoryForecaster

__all__ = ["FORECASTER", "TARGET_VS_BEST", "covariates", "score", "run", "main"]

VALID_ORIGIN = pd.Timestamp("2019-02-05")
TEST_ORIGIN = pd.Timestamp("2019-03-05")
H = 28
# issue 15: ours' MAE at most this multiple of the best baseline's
TARGET_VS_BEST = 0.85

FORECASTER = LongHistoryForecaster(horizon=H, quantiles=(0.1, 0.5, 0.9), static_features=("store_id", "item_id"))


def covariates(b: Bakery, *, weather: pd.DataFrame | None = None) -> Covariates:
    """Promotions, holiday flags and days to/since holidays per store, and the store weather."""
    statics = b.sales[["unique_id", "store_id", "item_id"]].drop_duplicates("unique_id")
    hol = b.holidays.rename(columns={"date": "ds"})
    known = statics[["unique_id", "store_id"]].merge(hol, on="store_id").drop(columns="store_id")
    known = known.merge(b.promotions, on=["unique_id", "ds"], how="left")
    known[["is_holiday", "is_schoolholiday"]] = known[["is_holiday", "is_schoolholiday"]].astype(np.float32)
    events = pd.concat([
        b.holidays.loc[b.holidays["is_holiday"], ["store_id", "date"]].assign(event_type="public_holiday"),
        b.holidays.loc[b.holidays["is_schoolholiday"], ["store_id", "date"]].assign(event_type="school_holiday"),
    ], ignore_index=True)
    return Covariates(series=statics, known=known, events=events, event_by=("store_id",),
                      store_weather=b.weather if weather is None else weather)


def score(b: Bakery, fc: pd.DataFrame, col: str, origin: pd.Timestamp, *, q90: str | None = None) -> dict[str, float]:
    """MAE, RMSE and pinball q50 (of ``col``) and q90 (of ``q90`` when given) over the 28 days after ``origin``."""
    act = b.sales[(b.sales["ds"] > origin) & (b.sales["ds"] <= origin + pd.Timedelta(days=H))]
    cols = [col] + ([q90] if q90 else [])
    x = act[["unique_id", "ds", "y"]].merge(fc[["unique_id", "ds", *dict.fromkeys(cols)]], on=["unique_id", "ds"],
                                            how="left")
    if x[col].isna().any():
        raise ValueError(f"{col}: {int(x[col].isna().sum())} series-days without a forecast")
    err = x[col] - x["y"]
    return {"mae": float(err.abs().mean()), "rmse": float(np.sqrt((err ** 2).mean())),
            "pinball_q50": pinball(x["y"], x[col], 0.5),
            "pinball_q90": pinball(x["y"], x[q90], 0.9) if q90 else float("nan")}


def _table(rows: dict[str, dict[str, float]], best: str) -> pd.DataFrame:
    t = pd.DataFrame(rows).T
    t["mae_vs_best_baseline"] = (t["mae"] / t.at[best, "mae"] - 1).map(lambda v: f"{100 * v:+.1f}%")
    return t


def run(root: Path, tee: Tee, *, forecaster: LongHistoryForecaster = FORECASTER, threads: int = 2,
        stores: int | None = None) -> dict:
    """Run the benchmark and print its tables; returns the figures."""
    timer = Timer()
    with timer("load"):
        b = load_bakery(root)
    if stores:
        keep = sorted(b.sales["store_id"].unique())[:stores]
        b = replace(b, sales=b.sales[b.sales["store_id"].isin(keep)],
                    promotions=b.promotions[b.promotions["unique_id"].isin(
                        b.sales.loc[b.sales["store_id"].isin(keep), "unique_id"])],
                    holidays=b.holidays[b.holidays["store_id"].isin(keep)],
                    weather=b.weather[b.weather["store_id"].isin(keep)])
    cols = ["unique_id", "ds", "y", "store_id", "item_id"]
    hist_v = b.sales.loc[b.sales["ds"] <= VALID_ORIGIN, cols]
    hist_t = b.sales.loc[b.sales["ds"] <= TEST_ORIGIN, cols]
    act_v = b.sales.loc[(b.sales["ds"] > VALID_ORIGIN) & (b.sales["ds"] <= TEST_ORIGIN), ["unique_id", "ds", "y"]]
    cov = covariates(b)
    promo = b.promotions[["unique_id", "ds", "promotion_current_week"]]
    futr = lambda origin: promo[(promo["ds"] > origin) & (promo["ds"] <= origin + pd.Timedelta(days=H))]  # noqa: E731
    with_promo = lambda hist: hist.merge(promo, on=["unique_id", "ds"], how="left")  # noqa: E731
    recipe = lambda hist, origin: mlf_m5_recipe(with_promo(hist), H, futr=futr(origin),  # noqa: E731
                                                price_col="promotion_current_week", n_jobs=threads)

    # ---------------- validation window (origin 02-05)
    base_v, sec_v = stat_forecasts(hist_v, H)
    recipe_v = recipe(hist_v, VALID_ORIGIN)
    fc_out, fitted = {}, {}
    fc_out["ours_weather_climatology"], fitted["ours_weather_climatology"] = fit_predict(
        forecaster, hist_t, cov, timer, "ours_weather_climatology")
    fc_out["ours_no_weather"], fitted["ours_no_weather"] = fit_predict(
        forecaster, hist_t, cov.without_weather(), timer, "ours_no_weather")
    valid_rows = {n: score(b, base_v, n, VALID_ORIGIN) for n in STAT_MODELS}
    valid_rows["mlf_recipe"] = score(b, recipe_v, "mlf_m5_recipe", VALID_ORIGIN)
    for n in ("ours_weather_climatology", "ours_no_weather"):
        valid_rows[n] = score(b, valid_predictions(fitted[n]), "yhat", VALID_ORIGIN)
    weather_on = valid_rows["ours_weather_climatology"]["mae"] < valid_rows["ours_no_weather"]["mae"]
    best_v = min([*STAT_MODELS, "mlf_recipe"], key=lambda n: valid_rows[n]["mae"])
    n_series = b.sales["unique_id"].nunique()
    tee(f"\nValidation window 2019-02-06..03-05 (origin 02-05), {n_series} series:")
    tee(_table(valid_rows, best_v).to_string(float_format=lambda v: f"{v:.3f}"))
    tee(f"weather chosen on the validation window: {'on' if weather_on else 'off'} (MAE "
        f"{valid_rows['ours_weather_climatology']['mae']:.3f} with climatology, "
        f"{valid_rows['ours_no_weather']['mae']:.3f} without)")

    # ---------------- holdout (origin 03-05), scored once per final configuration
    final_cov = cov if weather_on else cov.without_weather()
    seconds: dict[str, float] = {}
    base_t, sec_t = stat_forecasts(hist_t, H)
    seconds.update(sec_t)
    base_t["stats_pick"], choice = stats_pick(base_v, act_v, base_t)
    seconds["stats_pick"] = sum(sec_v.values()) + sum(sec_t.values())
    with timer("mlf_recipe"):
        recipe_t = recipe(hist_t, TEST_ORIGIN)
    seconds["mlf_recipe"] = timer.seconds["mlf_recipe"]
    wx_obs = b.weather.assign(source=np.where(b.weather["date"] > TEST_ORIGIN, "forecast", "observed"))
    fc_out["ours_weather_observed_UPPER_BOUND"], _ = fit_predict(
        forecaster, hist_t, covariates(b, weather=wx_obs), timer, "ours_weather_observed_UPPER_BOUND")
    fc_out["ours_28_days"], _ = fit_predict(replace(forecaster, max_history_days=28), hist_t, final_cov, timer,
                                            "ours_28_days")
    fc_out["ours_new_14_days"], _ = fit_predict(replace(forecaster, max_history_days=14), hist_t, final_cov, timer,
                                                "ours_new_14_days")
    final = "ours_weather_climatology" if weather_on else "ours_no_weather"
    fc_out["ours"] = fc_out[final]
    for n in fc_out:
        seconds[n] = timer.seconds.get(n, timer.seconds[final])

    rows = {n: score(b, base_t, n, TEST_ORIGIN) for n in [*STAT_MODELS, "stats_pick"]}
    rows["mlf_recipe"] = score(b, recipe_t, "mlf_m5_recipe", TEST_ORIGIN)
    for n in ["ours", "ours_weather_climatology", "ours_no_weather", "ours_weather_observed_UPPER_BOUND",
              "ours_28_days", "ours_new_14_days"]:
        rows[n] = score(b, fc_out[n], "yhat_q50", TEST_ORIGIN, q90="yhat_q90")
        mean = score(b, fc_out[n], "yhat", TEST_ORIGIN)
        rows[n]["mae_of_mean"], rows[n]["rmse_of_mean"] = mean["mae"], mean["rmse"]
    for n in rows:
        rows[n]["seconds"] = seconds[n]
    baselines = [*STAT_MODELS, "stats_pick", "mlf_recipe"]
    best = min(baselines, key=lambda n: rows[n]["mae"])
    tee(f"\nHoldout 2019-03-06..04-02 (origin 03-05), {n_series} series x 28 days; ours = {final} (chosen on validation). "
        "Baselines: point forecasts (pinball q50 of the point; no q90). Ours: mae/rmse/pinball_q50 of the median "
        "q50, *_of_mean of the mean forecast")
    tee(_table(rows, best).to_string(float_format=lambda v: f"{v:.3f}"))
    tee("seconds: statsforecast models = one fit + forecast at the origin (n_jobs=2); stats_pick = all four models "
        "at both origins; ours = fit (including its calibration refits, one per window before the origin) + predict")
    tee(f"stats_pick choices (by validation MSE): {choice.value_counts().to_dict()}")
    ours = rows["ours"]["mae"]
    target = TARGET_VS_BEST * rows[best]["mae"]
    tee(f"\nTarget: ours MAE <= {TARGET_VS_BEST:.2f} x best baseline ({best} {rows[best]['mae']:.3f} -> {target:.3f})"
        f": ours {ours:.3f} ({100 * (ours / rows[best]['mae'] - 1):+.1f}%) -> "
        f"{'MET' if ours <= target else 'NOT MET'}")
    tee(f"What weather buys (MAE): observed as a perfect forecast (UPPER BOUND) "
        f"{rows['ours_weather_observed_UPPER_BOUND']['mae']:.3f}, climatology "
        f"{rows['ours_weather_climatology']['mae']:.3f}, none {rows['ours_no_weather']['mae']:.3f}")
    tee(f"What depth buys (MAE): full history {ours:.3f}, 28 days {rows['ours_28_days']['mae']:.3f}, 14 days "
        f"{rows['ours_new_14_days']['mae']:.3f}")

    mixed = mixed_depths(forecaster, hist_t, final_cov, key="store_id", timer=timer)
    mixed_rows = {f"ours_mixed_{role}": score(b, mixed[mixed["role"] == role], "yhat", TEST_ORIGIN)
                  for role in ROLES}
    tee("\nMixed depths on one panel (the 35 stores in three sets rotating through the roles long / 28 days / "
        "new 14 days, each set beside the other two; every series scored once per role; MAE/RMSE of the mean):")
    tee(pd.DataFrame(mixed_rows).T.drop(columns=["pinball_q50", "pinball_q90"]).to_string(
        float_format=lambda v: f"{v:.3f}"))

    cov_t = depth_coverage(fc_out, mixed, b.sales)
    tee("\nQuantile coverage on the holdout per history-length group (target q10-q90 80% +/- 3, q90 90% +/- 2; "
        "levels calibrated on the windows before the origin). ours / ours_28_days / ours_new_14_days: every "
        "series at that depth; ours_mixed: the three depths on one panel:")
    tee(cov_t.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    tee("\nseconds per step:", {k: round(v, 1) for k, v in timer.seconds.items()})
    return {"valid": valid_rows, "test": rows, "mixed": mixed_rows, "coverage": cov_t, "weather_on": weather_on}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bakery", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="shared data folder (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=None, help="also write the printed report here")
    parser.add_argument("--threads", type=int, default=2,
                        help="LightGBM threads (1 on a machine other jobs keep busy: OpenMP threads busy-wait)")
    parser.add_argument("--stores", type=int, default=None, help="only the first N stores (a quick check)")
    args = parser.parse_args(argv)
    forecaster = replace(FORECASTER, params={**FORECASTER.params, "n_jobs": args.threads})
    tee = Tee(args.out)
    header(tee, "Bakery chain (35 stores x 3 products, daily)", ["benchmarks.bakery", *(argv or sys.argv[1:])])
    tee(f"LightGBM threads: {args.threads}")
    run(args.data or shared_data(), tee, forecaster=forecaster, threads=args.threads, stores=args.stores)
    tee.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
