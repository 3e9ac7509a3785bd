"""Quantile coverage of the long-history model with its levels calibrated on 1 or more windows.

    python -m benchmarks.calibration_windows [bakery|m5] [--origins 2018-06-05,...] [--windows 1,3] [--out FILE]
    python -m benchmarks.calibration_windows m5 --mixed --windows 3 --origins 2016-01-31,2016-03-27
    python -m benchmarks.calibration_windows bakery --windows 3 --closures   # levels set on closures too
    python -m benchmarks.calibration_windows m5 --mixed --windows 3 --unmatched  # stand-ins unweighted
    python -m benchmarks.calibration_windows bakery --windows 3 --recent-only  # no window a year back

``--mixed`` scores the mixed-depth panel instead (``benchmarks._common.mixed_depths``: keys rotating
through long / 28 days / new 14 days on one panel, as the test-window benchmarks run it).

For each origin, every series at full depth, cut to 28 days and cut to 14 days is fitted with
quantile levels calibrated on the last ``w`` 28-day windows before the origin (one refit per
window), then scored on the 28 days after it: coverage of [q10, q90] (target 0.80) and of q90
(target 0.90) and the error of the median (bakery: MAE; m5: ``wrmsse_280`` with each origin's
dollar-sales weights). ``bakery``: weather off, as its validation window chose; ``m5``: the 280
long series with their covariates as ``benchmarks.tune_long`` fits them. Every origin is before
the test window of ``benchmarks.bakery`` (2019-03-05) or ``benchmarks.m5_long`` (2016-04-24): the
data are cut there on load, so the test window is never read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from benchmarks._common import Tee, Timer, coverage_table, header, mixed_depths
from benchmarks._data import shared_data
from benchmarks.tune_long import Bench, bakery_bench, m5_bench

__all__ = ["ORIGINS", "DEPTHS", "run", "main"]

ORIGINS = {"bakery": ("2018-06-05", "2018-09-04", "2018-11-06", "2018-12-04", "2019-01-08", "2019-02-05"),
           "m5": ("2015-04-25", "2016-01-31", "2016-02-28", "2016-03-27")}
DEPTHS = {"full": None, "28 days": 28, "14 days": 14}
# what rotates through the depths in a mixed panel (the test-window benchmarks' choice)
MIXED_KEY = {"bakery": "store_id", "m5": "item_id"}
H = 28


def _bench(name: str, root: Path) -> tuple[Bench, str]:
    """The data set cut at its test origin with its benchmark's forecaster, and the name of its error of the median."""
    from benchmarks import bakery, m5_long

    if name == "bakery":
        bench = bakery_bench(root)
        return replace(bench, cov=bench.cov.without_weather(), forecaster=bakery.FORECASTER), "mae"
    return replace(m5_bench(root), forecaster=m5_long.FORECASTER), "wrmsse"


def _row(bench: Bench, metric: str, origin: pd.Timestamp, depth: str, windows: int, out: pd.DataFrame) -> dict:
    """Coverage and error of the median of one forecast (one history-length group) against its actuals."""
    cov_row = coverage_table({"run": out}).iloc[0]
    return {"origin": origin.date().isoformat(), "depth": depth, "windows": windows,
            "q10_q90": cov_row["q10_q90"], "q90": cov_row["q90"],
            f"{metric}_q50": bench.score(out, "yhat_q50", origin)[metric]}


def run(root: Path, tee: Tee, *, data_set: str = "bakery", origins: Sequence[str] | None = None,
        windows: Sequence[int] = (1, 3), threads: int = 1, mixed: bool = False,
        depths: Sequence[str] = tuple(DEPTHS), closures: bool = False, unmatched: bool = False,
        year_ago: bool = True) -> pd.DataFrame:
    """Fit and score every origin x depth x window count; print the rows and their means.

    With ``mixed`` the depths share one panel (:func:`benchmarks._common.mixed_depths`) and each
    row is one role of it. With ``closures`` the levels are set on every day of the calibration
    windows, closures included (``LongHistoryForecaster.calibrate_without_closures=False``)."""
    timer = Timer()
    bench, metric = _bench(data_set, root)
    limit = bench.hist["ds"].max()
    forecaster = replace(bench.forecaster, params={**bench.forecaster.params, "n_jobs": threads},
                         calibrate_without_closures=not closures, match_stand_ins=not unmatched,
                         calibration_year_ago=year_ago)
    rows = []
    for origin in (pd.Timestamp(o) for o in (origins or ORIGINS[data_set])):
        if origin + pd.Timedelta(days=H) > limit:
            raise ValueError(f"origin {origin.date()}: its 28 days reach past {limit.date()}, the test window's origin")
        hist = bench.hist[bench.hist["ds"] <= origin]
        actual = bench.hist.loc[(bench.hist["ds"] > origin) & (bench.hist["ds"] <= origin + pd.Timedelta(days=H)),
                                ["unique_id", "ds", "y"]]
        if mixed:
            for w in windows:
                fc = replace(forecaster, calibration_windows=int(w))
                panel = mixed_depths(fc, hist, bench.cov, key=MIXED_KEY[data_set], timer=timer,
                                     name=f"mixed x {w}").merge(actual, on=["unique_id", "ds"])
                rows += [_row(bench, metric, origin, f"mixed {role}", int(w), out.assign(group=role))
                         for role, out in panel.groupby("role", sort=False)]
            continue
        for depth in depths:
            for w in windows:
                fc = replace(forecaster, max_history_days=DEPTHS[depth], calibration_windows=int(w))
                with timer(f"{depth} x {w}"):
                    out = fc.fit(hist, covariates=bench.cov).predict().merge(actual, on=["unique_id", "ds"])
                rows.append(_row(bench, metric, origin, depth, int(w), out))
    table = pd.DataFrame(rows)
    table["q10_q90_error"] = (table["q10_q90"] - 0.80).abs()
    table["q90_error"] = (table["q90"] - 0.90).abs()
    tee(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    tee("\nMean over the origins (coverage error = distance from 0.80 / 0.90):")
    means = table.groupby(["depth", "windows"], sort=False)[["q10_q90_error", "q90_error", f"{metric}_q50"]].mean()
    tee(means.to_string(float_format=lambda v: f"{v:.3f}"))
    tee("\nseconds (all origins):", {k: round(v, 1) for k, v in timer.seconds.items()})
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibration_windows", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_set", nargs="?", choices=sorted(ORIGINS), default="bakery")
    parser.add_argument("--data", type=Path, default=None, help="shared data folder (default: ../shared/data)")
    parser.add_argument("--origins", default=None, help="comma-separated forecast origins (default: the data set's)")
    parser.add_argument("--windows", default="1,3", help="comma-separated calibration window counts")
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads")
    parser.add_argument("--mixed", action="store_true", help="score the mixed-depth panel per role")
    parser.add_argument("--depths", default=None,
                        help=f"comma-separated, of {', '.join(DEPTHS)} (default: all; not with --mixed)")
    parser.add_argument("--closures", action="store_true",
                        help="set the quantile levels on every calibration day, closures included")
    parser.add_argument("--unmatched", action="store_true",
                        help="stand-ins' calibration rows count once each (no matching of their zero-demand days)")
    parser.add_argument("--recent-only", action="store_true",
                        help="calibrate on the windows just before the origin only (no year-ago window)")
    parser.add_argument("--out", type=Path, default=None, help="also write the printed report here")
    args = parser.parse_args(argv)
    if args.mixed and args.depths:
        parser.error("--depths does not apply to --mixed (the panel holds every depth)")
    depths = [d.strip() for d in args.depths.split(",")] if args.depths else list(DEPTHS)
    unknown = [d for d in depths if d not in DEPTHS]
    if unknown:
        parser.error(f"unknown depth(s) {unknown}; choose from {', '.join(DEPTHS)}")
    tee = Tee(args.out)
    header(tee, f"{args.data_set}: quantile coverage by calibration windows (validation origins only)",
           ["benchmarks.calibration_windows", *(argv or sys.argv[1:])])
    run(args.data or shared_data(), tee, data_set=args.data_set,
        origins=args.origins.split(",") if args.origins else None,
        windows=[int(w) for w in args.windows.split(",")], threads=args.threads, mixed=args.mixed, depths=depths,
        closures=args.closures, unmatched=args.unmatched, year_ago=not args.recent_only)
    tee.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
