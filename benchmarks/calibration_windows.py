"""Quantile coverage of the long-history model with its levels calibrated on 1 or more windows.

    python -m benchmarks.calibration_windows [--origins 2018-06-05,...] [--windows 1,3] [--out FILE]

Bakery chain, weather off (as its validation window chose). For each origin, every series
at full depth, cut to 28 days and cut to 14 days is fitted with quantile levels calibrated
on the last ``w`` 28-day windows before the origin (one refit per window), then scored on the
28 days after it: coverage of [q10, q90] (target 0.80) and of q90 (target 0.90) and the MAE
of the median. Every origin is before the holdout of ``benchmarks.bakery`` (03-05): the data
are cut there on load, so the holdout is never read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from benchmarks._common import Tee, Timer, coverage_table, header
from benchmarks._data import load_bakery, shared_data
from benchmarks.bakery import FORECASTER, TEST_ORIGIN, covariates

__all__ = ["ORIGINS", "DEPTHS", "run", "main"]

ORIGINS = ("2018-06-05", "2018-09-04", "2018-11-06", "2018-12-04", "2019-01-08", "2019-02-05")
DEPTHS = {"full": None, "28 days": 28, "14 days": 14}
H = 28


def run(root: Path, tee: Tee, *, origins: Sequence[str] = ORIGINS, windows: Sequence[int] = (1, 3),
        threads: int = 1) -> pd.DataFrame:
    """Fit and score every origin x depth x window count; print the rows and their means."""
    timer = Timer()
    b = load_bakery(root)
    b = replace(b, sales=b.sales[b.sales["ds"] <= TEST_ORIGIN])
    cov = covariates(b).without_weather()
    forecaster = replace(FORECASTER, params={**FORECASTER.params, "n_jobs": threads})
    rows = []
    for origin in (pd.Timestamp(o) for o in origins):
        if origin + pd.Timedelta(days=H) > TEST_ORIGIN:
            raise ValueError(f"origin {origin.date()}: its 28 days reach past {TEST_ORIGIN.date()}, the holdout")
        hist = b.sales.loc[b.sales["ds"] <= origin, ["unique_id", "ds", "y", "store_id", "item_id"]]
        actual = b.sales.loc[(b.sales["ds"] > origin) & (b.sales["ds"] <= origin + pd.Timedelta(days=H)),
                             ["unique_id", "ds", "y"]]
        for depth, days in DEPTHS.items():
            for w in windows:
                fc = replace(forecaster, max_history_days=days, calibration_windows=int(w))
                with timer(f"{depth} x {w}"):
                    out = fc.fit(hist, covariates=cov).predict().merge(actual, on=["unique_id", "ds"])
                cov_row = coverage_table({"run": out}).iloc[0]
                rows.append({"origin": origin.date().isoformat(), "depth": depth, "windows": int(w),
                             "q10_q90": cov_row["q10_q90"], "q90": cov_row["q90"],
                             "mae_q50": float((out["yhat_q50"] - out["y"]).abs().mean())})
    table = pd.DataFrame(rows)
    table["q10_q90_error"] = (table["q10_q90"] - 0.80).abs()
    table["q90_error"] = (table["q90"] - 0.90).abs()
    tee(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    tee("\nMean over the origins (coverage error = distance from 0.80 / 0.90):")
    means = table.groupby(["depth", "windows"], sort=False)[["q10_q90_error", "q90_error", "mae_q50"]].mean()
    tee(means.to_string(float_format=lambda v: f"{v:.3f}"))
    tee("\nseconds (all origins):", {k: round(v, 1) for k, v in timer.seconds.items()})
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibration_windows", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="shared data folder (default: ../shared/data)")
    parser.add_argument("--origins", default=",".join(ORIGINS), help="comma-separated forecast origins")
    parser.add_argument("--windows", default="1,3", help="comma-separated calibration window counts")
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads")
    parser.add_argument("--out", type=Path, default=None, help="also write the printed report here")
    args = parser.parse_args(argv)
    tee = Tee(args.out)
    header(tee, "Bakery: quantile coverage by calibration windows (validation origins only)",
           ["benchmarks.calibration_windows", *(argv or sys.argv[1:])])
    run(args.data or shared_data(), tee, origins=args.origins.split(","),
        windows=[int(w) for w in args.windows.split(",")], threads=args.threads)
    tee.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
