"""Replay frontier on two real M5 splits: fill rate against stock over the service level.

    python -m benchmarks.frontier [--data ../shared/data] [--which long280|m5|both]
                                  [--out benchmarks/results/frontier.txt]

Each split is planned by the product (``python -m pipelines run --as-of ... --horizon ...`` on a
temporary warehouse) and replayed by it (``procurement.replay_io.run_frontier``, what
``supplycast replay --frontier`` runs) on the real sales after the as-of date:

* ``long280``: the 280 series with 1,941 days (28 items x 10 stores, ``m5_history/`` + ``m5/``),
  planned as of 2016-04-24 with horizon 28 (the plan sees history up to 04-24 only) and replayed
  on 2016-04-25..05-22. The data folder is built in a temporary directory: ``m5/`` holds the
  sales, prices, series summary and level-12 scales of those 280 series only, and the shared
  ``m5_history/``, ``weather_ghcn/``, ``usaid_scms_shipments/`` and emission factors are linked
  beside it, so the run reads them as the long history, the weather and the logistics feeds.
* ``m5``: all 30,490 series (``--data`` itself), planned as of 2016-05-08 with horizon 14 and
  replayed on 2016-05-09..05-22.

Nothing after 2016-05-22 is read: the actuals are cut at that day.

Printed per split: the frontier (``policy, service_level, fill_rate, fill_rate_after_first_arrival,
avg_on_hand_units, avg_on_hand_units_after_first_arrival, total_cost``), the on-hand ratio at
matched fill (:func:`procurement.replay.matched_fill`) over all days and after the first possible
arrival, the oracle row, what share of the demand falls after the first possible arrival, and
the seconds of the run and of the replay.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmarks._common import Tee, Timer, header
from benchmarks.data import shared_data
from procurement.replay import DEFAULT_LEVELS, DEFAULT_REPLAY, ReplayParams, matched_fill
from procurement.replay_io import run_frontier

__all__ = ["Split", "SPLITS", "LAST_DAY", "long280_folder", "actuals_file", "plan", "measure", "main"]

# The last real M5 sales day here; later sales are an unseen test and are never read.
LAST_DAY = pd.Timestamp("2016-05-22")
_SALES = "sales_d1914_d1941.parquet"
# Linked beside the built m5/ folder: read by the run as long history, weather and logistics.
_BESIDE = ("m5_history", "weather_ghcn", "usaid_scms_shipments", "freight_emission_factors.csv")
_COLS = ["policy", "service_level", "fill_rate", "fill_rate_after_first_arrival", "avg_on_hand_units",
         "avg_on_hand_units_after_first_arrival", "total_cost"]


@dataclass(frozen=True)
class Split:
    """One measured split: the plan's origin and horizon, and the replayed days after it."""

    name: str
    title: str
    as_of: str
    horizon: int


SPLITS = {
    "long280": Split("long280", "280 long M5 series (28 items x 10 stores, 1,941 days)", "2016-04-24", 28),
    "m5": Split("m5", "all of M5 (30,490 series: 280 with 1,927 days of history at the as-of, the rest 14 days)", "2016-05-08", 14),
}


def _history_files(root: Path) -> list[Path]:
    files = sorted((root / "m5_history").glob("sales_*.parquet"))
    if not files:
        raise FileNotFoundError(f"{root / 'm5_history'}: no sales_*.parquet (the long history)")
    return files


def _pairs(root: Path, items: int | None = None) -> pd.DataFrame:
    """``item_id, store_id`` of the long-history series (the first ``items`` items only when given)."""
    pairs = pd.concat([pd.read_parquet(f, columns=["item_id", "store_id"]) for f in _history_files(root)])
    pairs = pairs.drop_duplicates()
    if items:
        pairs = pairs[pairs["item_id"].isin(sorted(pairs["item_id"].unique())[:items])]
    return pairs.sort_values(["store_id", "item_id"]).reset_index(drop=True)


def long280_folder(root: Path, dest: Path, *, items: int | None = None) -> Path:
    """Build the data folder of the long series under ``dest``: ``dest/m5`` in the M5 layout, filtered
    to those series, with the shared long history, weather and logistics feeds linked beside it.

    Args:
        root: The shared data folder (holding ``m5/``, ``m5_history/``, ``weather_ghcn/``, ...).
        dest: An empty folder to build in.
        items: Only the first N items (all their stores): a quick check of the script.

    Returns:
        ``dest`` (give it to ``supplycast run --data``).
    """
    pairs = _pairs(root, items)
    m5 = dest / "m5"
    m5.mkdir(parents=True)
    (m5 / "calendar.parquet").symlink_to((root / "m5" / "calendar.parquet").resolve())
    for name in (_SALES, "sell_prices.parquet", "series_summary_d1_d1941.parquet"):
        pd.read_parquet(root / "m5" / name).merge(pairs, on=["item_id", "store_id"]).to_parquet(m5 / name, index=False)
    ids = pairs["item_id"] + "_" + pairs["store_id"] + "_evaluation"
    scales = pd.read_parquet(root / "m5" / "rmsse_scale_d1_d1913.parquet", filters=[("level", "==", 12)])
    scales[scales["agg_level_1"].isin(ids)].to_parquet(m5 / "rmsse_scale_d1_d1913.parquet", index=False)
    for name in _BESIDE:
        if items and name == "m5_history":
            history = dest / name
            history.mkdir()
            for f in _history_files(root):
                pd.read_parquet(f).merge(pairs, on=["item_id", "store_id"]).to_parquet(history / f.name, index=False)
            continue
        (dest / name).symlink_to((root / name).resolve())
    return dest


def actuals_file(data: Path, as_of: str, path: Path) -> Path:
    """The real daily sales of ``data``'s M5 folder (its ``sales_*.parquet``) from the day after ``as_of`` to :data:`LAST_DAY`,
    in the M5 long layout ``item_id, store_id, date, sales``, written to ``path``."""
    m5 = data / "m5" if (data / "m5").is_dir() else data
    sales = pd.concat([pd.read_parquet(f, columns=["item_id", "store_id", "date", "sales"])
                       for f in sorted(m5.glob("sales_*.parquet"))], ignore_index=True)
    sales["date"] = pd.to_datetime(sales["date"])
    sales[(sales["date"] > pd.Timestamp(as_of)) & (sales["date"] <= LAST_DAY)].to_parquet(path, index=False)
    return path


def plan(data: Path, warehouse: Path, split: Split) -> dict:
    """``python -m pipelines run --as-of ... --horizon ...`` on ``data`` into ``warehouse``, in a child
    process whose state folder (Dagster instance, MLflow store) is the warehouse's folder.

    Returns:
        The run's JSON summary.

    Raises:
        RuntimeError: the run failed (its stderr tail is in the message).
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("DAGSTER_HOME", "SUPPLYCAST_WAREHOUSE", "SUPPLYCAST_DATA", "MLFLOW_TRACKING_URI")}
    env["SUPPLYCAST_HOME"] = str(warehouse.parent / "state")
    cmd = [sys.executable, "-m", "pipelines", "run", "--data", str(data), "--as-of", split.as_of,
           "--horizon", str(split.horizon), "--warehouse", str(warehouse), "--json", "--quiet", "--ephemeral"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(warehouse: Path, actuals: Path, *, levels: Sequence[float] = DEFAULT_LEVELS,
            params: ReplayParams = DEFAULT_REPLAY) -> dict[str, pd.DataFrame]:
    """The frontier of the stored plan (``run_frontier``, writing ``replay_frontier`` and its plot beside
    the warehouse) and the on-hand ratios at matched fill, all days and after the first arrival."""
    frontier, _ = run_frontier(warehouse, actuals, levels=tuple(levels), params=params)
    return {"frontier": frontier,
            "all_days": matched_fill(frontier),
            "after_first_arrival": matched_fill(frontier, fill_col="fill_rate_after_first_arrival",
                                                on_hand_col="avg_on_hand_units_after_first_arrival")}


def _report(tee: Tee, split: Split, out: dict[str, pd.DataFrame], seconds: dict[str, float]) -> None:
    frontier = out["frontier"]
    first = frontier.iloc[0]
    tee(f"\n== {split.name}: {split.title}")
    tee(f"plan as of {split.as_of}, horizon {split.horizon}; replay {pd.Timestamp(first['first_day']):%Y-%m-%d}.."
        f"{pd.Timestamp(first['last_day']):%Y-%m-%d} ({int(first['days'])} days), {int(first['series']):,} series, "
        f"seed {int(first['seed'])}")
    tee(frontier[_COLS].to_string(index=False, float_format="%.3f", na_rep="-"))
    for window in ("all_days", "after_first_arrival"):
        tee(f"on-hand ratio at matched fill ({window.replace('_', ' ')}): supplycast on hand / seasonal-naive on "
            "hand at the same fill rate (interpolated; '-' = outside its range)")
        tee(out[window].to_string(index=False, float_format="%.3f", na_rep="-"))
    oracle = frontier[frontier["policy"] == "oracle"].iloc[0]
    tee(f"oracle: fill {oracle['fill_rate']:.3f} at {oracle['avg_on_hand_units']:,.0f} units on hand; after the "
        f"first arrival fill {oracle['fill_rate_after_first_arrival']:.3f} at "
        f"{oracle['avg_on_hand_units_after_first_arrival']:,.0f}")
    after = oracle["demand_units_after_first_arrival"] / oracle["demand_units"]
    tee(f"first possible arrival: day {oracle['first_arrival_day_mean']:.1f} on average; {100 * after:.1f}% of "
        f"the {oracle['demand_units']:,.0f} units of demand fall on or after it")
    tee(f"seconds: run {seconds['run']:.0f}, frontier ({len(frontier)} simulations + I/O) "
        f"{seconds['frontier']:.0f}")


def run(root: Path, tee: Tee, which: Sequence[str], *, items: int | None = None,
        keep: Path | None = None) -> dict[str, dict[str, pd.DataFrame]]:
    """Plan and replay each split in ``which``; returns its frontier and ratio tables."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="frontier_") as tmp:
        base = keep or Path(tmp)
        for name in which:
            split = SPLITS[name]
            work = base / name
            work.mkdir(parents=True, exist_ok=True)
            timer = Timer()
            data = long280_folder(root, work / "data", items=items) if name == "long280" else root
            actuals = actuals_file(data, split.as_of, work / "actuals.parquet")
            with timer("run"):
                plan(data, work / "warehouse.duckdb", split)
            with timer("frontier"):
                results[name] = measure(work / "warehouse.duckdb", actuals)
            _report(tee, split, results[name], timer.seconds)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.frontier", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="shared data folder (default: ../shared/data)")
    parser.add_argument("--which", choices=("long280", "m5", "both"), default="both")
    parser.add_argument("--out", type=Path, default=None, help="also write the printed report here")
    parser.add_argument("--items", type=int, default=None,
                        help="long280 only: the first N items of the long history (x its stores), a quick check of the "
                             "script (e.g. --data data/sample --items 2: two CA_1 series)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build and keep the data folders and warehouses here instead of a temporary folder")
    args = parser.parse_args(argv)
    which = ["long280", "m5"] if args.which == "both" else [args.which]
    tee = Tee(args.out)
    header(tee, "Replay frontier: supplycast vs seasonal-naive base stock over the service level",
           ["benchmarks.frontier", *(sys.argv[1:] if argv is None else argv)])
    run((args.data or shared_data()).resolve(), tee, which, items=args.items, keep=args.keep)
    tee.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
