"""Replay frontier on validation origins: which daily spread the plan should use.

    python -m benchmarks.frontier_validation [--data ../shared/data] [--origins 2016-03-27,...]
                                             [--history 14 | --long] [--out FILE]

``benchmarks.frontier`` replays all of M5 (30,210 of its series with 14 days of history) on
2016-05-09..05-22; choosing how the plan spreads its safety stock there would tune it on that
window. This script replays the same kind of plan on earlier windows: at each origin the 280 long
M5 series are cut to their last ``--history`` days (the folder holds only those days and the 14
after them, no ``m5_history/``, so every series is short), the product plans them
(``python -m pipelines run --as-of ORIGIN --horizon 14``) and replays them on their real sales of
the next 14 days (:func:`procurement.replay_io.run_frontier`, what ``supplycast replay --frontier``
runs) twice from the same stored forecast: with its ``yhat_var`` (the variance at the series'
level, :func:`forecasting.quantiles.level_variance`) and with the spread read off its quantiles
(the column dropped). With ``--long`` the series keep their whole history before the origin
(``m5_history/`` beside), the long-history model plans them on its quantiles, and the other
replay fills in their level variance. Every origin's days end before 2016-04-25, where the test
windows start.

Printed per origin and spread: the on-hand ratio at matched fill against seasonal-naive base
stock (:func:`procurement.replay.matched_fill`; below 1: supplycast holds less stock for the
same fill), over all days and after the first possible arrival, and the seconds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from benchmarks._common import Tee, Timer, header
from benchmarks.data import shared_data
from benchmarks.frontier import Split, actuals_file, measure, plan
from forecasting.quantiles import level_variance

ORIGINS = ("2016-03-27", "2016-02-28", "2016-01-31", "2015-10-25", "2015-07-26", "2015-04-26")
# the first day of the test windows (the m5-long benchmark's and the frontier's): nothing from it on is read
FIRST_UNUSED = pd.Timestamp("2016-04-25")
HORIZON = 14
_BESIDE = ("weather_ghcn", "usaid_scms_shipments", "freight_emission_factors.csv")


def short_folder(root: Path, dest: Path, origin: pd.Timestamp, *, history: int) -> Path:
    """An M5 folder under ``dest`` with the long series' sales (``root/m5_history/sales_*.parquet``)
    from ``history`` days before ``origin`` to :data:`HORIZON` days after it, their prices and the
    calendar, and the weather and logistics feeds beside it (no ``m5_history/``: every series is short).

    Raises:
        ValueError: the window reaches :data:`FIRST_UNUSED`.
    """
    last = origin + pd.Timedelta(days=HORIZON)
    if last >= FIRST_UNUSED:
        raise ValueError(f"origin {origin:%Y-%m-%d}: its replay ends {last:%Y-%m-%d}, on or after the test "
                         f"windows' first day {FIRST_UNUSED:%Y-%m-%d}")
    sales = _long_sales(root)
    dates = pd.to_datetime(sales["date"])
    sales = sales[(dates > origin - pd.Timedelta(days=history)) & (dates <= last)]
    m5 = dest / "m5"
    m5.mkdir(parents=True)
    sales.to_parquet(m5 / "sales_window.parquet", index=False)
    (m5 / "calendar.parquet").symlink_to((root / "m5" / "calendar.parquet").resolve())
    pairs = sales[["item_id", "store_id"]].drop_duplicates()
    pd.read_parquet(root / "m5" / "sell_prices.parquet").merge(pairs).to_parquet(m5 / "sell_prices.parquet",
                                                                                 index=False)
    for name in _BESIDE:
        (dest / name).symlink_to((root / name).resolve())
    return dest


def long_folder(root: Path, dest: Path, origin: pd.Timestamp) -> Path:
    """:func:`short_folder` with 28 days in ``m5/`` and every earlier day of the series in ``m5_history/``
    beside it, so the run reads them as long series (the long-history model)."""
    short_folder(root, dest, origin, history=28)
    sales = _long_sales(root)
    before = sales[pd.to_datetime(sales["date"]) <= origin - pd.Timedelta(days=28)]
    (dest / "m5_history").mkdir()
    before.to_parquet(dest / "m5_history" / "sales_before.parquet", index=False)
    return dest


def _long_sales(root: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(f) for f in sorted((root / "m5_history").glob("sales_*.parquet"))],
                     ignore_index=True)


def _with_level_variance(warehouse: Path, dest: Path) -> Path:
    """A copy of ``warehouse`` whose forecast rows without ``yhat_var`` (the long-history model's) get
    :func:`forecasting.quantiles.level_variance` of their history up to the as-of date."""
    shutil.copy(warehouse, dest)
    with duckdb.connect(str(dest)) as con:
        history = con.execute(
            "SELECT store_id, item_id, date AS ds, units AS y FROM demand_history "
            "WHERE date <= (SELECT min(date) - INTERVAL 1 DAY FROM forecast)").df()
        history["unique_id"] = history["store_id"] + "|" + history["item_id"]
        history["ds"] = pd.to_datetime(history["ds"])
        var = level_variance(history).rename("level_var").reset_index()
        var[["store_id", "item_id"]] = var["unique_id"].str.split("|", expand=True)
        con.register("level", var[["store_id", "item_id", "level_var"]])
        con.execute("UPDATE forecast SET yhat_var = level.level_var FROM level WHERE forecast.store_id = "
                    "level.store_id AND forecast.item_id = level.item_id AND forecast.yhat_var IS NULL")
    return dest


def _without_variance(warehouse: Path, dest: Path) -> Path:
    """A copy of ``warehouse`` whose forecast has no ``yhat_var`` (the plan reads its quantiles' spread)."""
    shutil.copy(warehouse, dest)
    with duckdb.connect(str(dest)) as con:
        con.execute("ALTER TABLE forecast DROP COLUMN yhat_var")
    return dest


def _ratios(out: dict[str, pd.DataFrame], origin: str, spread: str) -> pd.DataFrame:
    rows = []
    for window in ("all_days", "after_first_arrival"):
        t = out[window][["service_level", "fill_rate", "on_hand_ratio"]].assign(window=window)
        rows.append(t)
    return pd.concat(rows).assign(origin=origin, spread=spread)


def run(root: Path, tee: Tee, origins: Sequence[str], *, history: int, long: bool = False) -> pd.DataFrame:
    """Plan and replay every origin with both spreads; returns the ratio rows.

    ``long``: the series keep their whole history (:func:`long_folder`); the plan as stored reads the
    long-history model's quantiles, the other replay the level variance filled in."""
    tables = []
    for origin in origins:
        timer = Timer()
        with tempfile.TemporaryDirectory(prefix="frontier_val_") as tmp:
            work = Path(tmp)
            data = long_folder(root, work / "data", pd.Timestamp(origin)) if long else \
                short_folder(root, work / "data", pd.Timestamp(origin), history=history)
            actuals = actuals_file(data, origin, work / "actuals.parquet")
            stored = work / "warehouse.duckdb"
            with timer("run"):
                summary = plan(data, stored, Split("validation", "", origin, HORIZON))
            with timer("frontier"):
                if long:
                    quantile = measure(stored, actuals)
                    level = measure(_with_level_variance(stored, work / "level.duckdb"), actuals)
                else:
                    level = measure(stored, actuals)
                    quantile = measure(_without_variance(stored, work / "quantiles.duckdb"), actuals)
        models = ", ".join(f"{k} {v}" for k, v in summary.get("forecast_models", {}).items())
        depth = "their whole history" if long else f"{history} days of history"
        tee(f"\n== origin {origin}: 280 series x {depth}, replayed "
            f"{pd.Timestamp(origin) + pd.Timedelta(days=1):%Y-%m-%d}..+{HORIZON} days; models: {models}; "
            f"seconds: run {timer.seconds['run']:.0f}, two frontiers {timer.seconds['frontier']:.0f}")
        both = pd.concat([_ratios(level, origin, "level_variance"), _ratios(quantile, origin, "quantiles")])
        wide = both.pivot_table(index=["window", "service_level"], columns="spread", values="on_hand_ratio")
        tee(wide.to_string(float_format="%.3f", na_rep="-"))
        tables.append(both)
    return pd.concat(tables, ignore_index=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="shared data folder (default: ../shared/data)")
    parser.add_argument("--origins", default=",".join(ORIGINS), help="comma-separated plan dates")
    parser.add_argument("--history", type=int, default=None, help="days of history per series (default 14)")
    parser.add_argument("--long", action="store_true", help="keep the whole history (the long-history model)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.long and args.history is not None:
        parser.error("--history does not apply to --long (the series keep their whole history)")
    origins = [o.strip() for o in args.origins.split(",")]
    late = [o for o in origins if pd.Timestamp(o) + pd.Timedelta(days=HORIZON) >= FIRST_UNUSED]
    if late:
        parser.error(f"origin(s) {late}: their {HORIZON} replayed days reach {FIRST_UNUSED:%Y-%m-%d}, where the "
                     "test windows start")
    history = 14 if args.history is None else args.history
    if history < 14:
        parser.error(f"--history must be at least 14 days (two weeks for the week-on-week spread), got {history}")
    tee = Tee(args.out)
    header(tee, "Replay frontier of short series on validation origins: level variance vs quantile spread", sys.argv)
    table = run(args.data or shared_data(), tee, origins, history=history,
                long=args.long)
    means = table.pivot_table(index=["window", "service_level"], columns="spread", values="on_hand_ratio",
                              aggfunc="mean")
    tee(f"\nMean on-hand ratio at matched fill over the origins ({table['origin'].nunique()}; ratios outside "
        "seasonal naive's range are left out):")
    tee(means.to_string(float_format="%.3f", na_rep="-"))
    tee.save()


if __name__ == "__main__":
    main()
