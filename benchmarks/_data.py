"""Loaders for the benchmarks: the real files under ``shared/data``, read directly.

Nothing here is used by the product packages. Frames come back in the long layout the
forecaster takes (``unique_id, ds, y`` plus covariates) so the scripts stay short.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.data import shared_data

__all__ = ["shared_data", "M5Long", "load_m5_long", "Bakery", "load_bakery", "m5_events"]


@dataclass
class M5Long:
    """The 280 M5 series with 1,941 days, their covariates and the official scoring inputs.

    Attributes:
        sales: ``unique_id, ds, y`` plus ``item_id, store_id, dept_id, cat_id, state_id``.
        prices: ``unique_id, ds, sell_price`` for every calendar day (NaN when not on sale).
        snap: ``unique_id, ds, snap`` (the store's state's SNAP day flag).
        events: ``date, event_type`` (one row per event on a day).
        weather: ``store_id, date, tmax_f, tmin_f, prcp_in, snow_in, source`` (GHCN, all
            ``observed``), stores mapped to their state's station.
        statics: ``unique_id, item_id, store_id, dept_id, cat_id, state_id``.
        scale: Official level-12 RMSSE denominator per ``unique_id`` (d_1..d_1913).
        weight: Official level-12 weight per ``unique_id``, renormalised to sum to 1.
    """

    sales: pd.DataFrame
    prices: pd.DataFrame
    snap: pd.DataFrame
    events: pd.DataFrame
    weather: pd.DataFrame
    statics: pd.DataFrame
    scale: pd.Series
    weight: pd.Series


def m5_events(calendar: pd.DataFrame) -> pd.DataFrame:
    """``date, event_type`` rows from the two event columns of the M5 calendar."""
    parts = [calendar[["date", f"event_type_{i}"]].rename(columns={f"event_type_{i}": "event_type"})
             for i in (1, 2)]
    ev = pd.concat(parts).dropna()
    ev["date"] = pd.to_datetime(ev["date"])
    return ev.drop_duplicates().sort_values(["date", "event_type"]).reset_index(drop=True)


def load_m5_long(root: Path | None = None) -> M5Long:
    """Read ``m5_history/`` + ``m5/`` (the 280 long series) and ``weather_ghcn/``."""
    root = Path(root) if root is not None else shared_data()
    cols = ["item_id", "dept_id", "cat_id", "store_id", "state_id", "date", "sales"]
    hist = pd.read_parquet(root / "m5_history" / "sales_d1_d1913_280series.parquet", columns=cols)
    pairs = hist[["item_id", "store_id"]].drop_duplicates()
    recent = pd.read_parquet(root / "m5" / "sales_d1914_d1941.parquet", columns=cols).merge(pairs)
    sales = pd.concat([hist, recent], ignore_index=True)
    sales["unique_id"] = sales["item_id"] + "_" + sales["store_id"]
    sales["ds"] = pd.to_datetime(sales["date"])
    sales["y"] = sales["sales"].astype(np.float64)
    sales = sales.drop(columns=["date", "sales"]).sort_values(["unique_id", "ds"]).reset_index(drop=True)
    statics = sales[["unique_id", "item_id", "store_id", "dept_id", "cat_id", "state_id"]].drop_duplicates(
        "unique_id").reset_index(drop=True)

    cal = pd.read_parquet(root / "m5" / "calendar.parquet")
    cal["ds"] = pd.to_datetime(cal["date"])
    sp = pd.read_parquet(root / "m5" / "sell_prices.parquet").merge(pairs)
    sp["unique_id"] = sp["item_id"] + "_" + sp["store_id"]
    days = statics[["unique_id", "state_id"]].merge(cal[["ds", "wm_yr_wk", "snap_CA", "snap_TX", "snap_WI"]],
                                                    how="cross")
    prices = days.merge(sp[["unique_id", "wm_yr_wk", "sell_price"]], on=["unique_id", "wm_yr_wk"], how="left")
    snap_col = "snap_" + days["state_id"]
    snap = np.select([snap_col == f"snap_{s}" for s in ("CA", "TX", "WI")],
                     [days[f"snap_{s}"] for s in ("CA", "TX", "WI")], 0)
    snap = pd.DataFrame({"unique_id": days["unique_id"], "ds": days["ds"], "snap": snap.astype(np.int8)})

    wx = pd.read_parquet(root / "weather_ghcn" / "daily.parquet")
    station = pd.read_csv(root / "weather_ghcn" / "m5_store_station.csv")
    weather = station.merge(wx, on="station").drop(columns=["station", "snwd_in"])
    weather["date"] = pd.to_datetime(weather["date"])
    weather["source"] = "observed"

    scales = pd.read_parquet(root / "m5" / "rmsse_scale_d1_d1913.parquet")
    scales = scales[scales["level"] == 12]
    scale = pd.Series(scales["scale_mse_d1_d1913"].to_numpy(),
                      index=scales["agg_level_1"].str.removesuffix("_evaluation"))
    w = pd.read_parquet(root / "m5" / "weights_evaluation.parquet")
    w = w[w["Level_id"] == "Level12"]
    weight = pd.Series(w["weight"].to_numpy(), index=w["Agg_Level_1"] + "_" + w["Agg_Level_2"])
    ids = statics["unique_id"]
    weight = weight.reindex(ids)
    return M5Long(
        sales=sales,
        prices=prices[["unique_id", "ds", "sell_price"]],
        snap=snap,
        events=m5_events(cal),
        weather=weather[["store_id", "date", "tmax_f", "tmin_f", "prcp_in", "snow_in", "source"]],
        statics=statics,
        scale=scale.reindex(ids),
        weight=weight / weight.sum(),
    )


@dataclass
class Bakery:
    """The bakery chain: 35 stores x 3 products, daily, to 2019-04-02.

    Attributes:
        sales: ``unique_id, ds, y, store_id, item_id``.
        promotions: ``unique_id, ds, promotion_current_week, promotion_last_week``.
        holidays: ``store_id, date, is_holiday, is_schoolholiday`` (known ahead, to 2019-04-30).
        weather: ``store_id, date, tmax_f, tmin_f, prcp_in, snow_in, source`` (each store's own
            observed weather, converted from degrees Celsius and millimetres; no snow column in
            the source, so ``snow_in`` is NaN).
    """

    sales: pd.DataFrame
    promotions: pd.DataFrame
    holidays: pd.DataFrame
    weather: pd.DataFrame


def load_bakery(root: Path | None = None) -> Bakery:
    """Read ``bakery/`` into the long layout."""
    folder = (Path(root) if root is not None else shared_data()) / "bakery"
    d = pd.read_parquet(folder / "demand.parquet")
    d["unique_id"] = d["store_id"].astype(str) + "_" + d["item_id"].astype(str)
    d["ds"] = pd.to_datetime(d["date"])
    sales = d.rename(columns={"units": "y"})[["unique_id", "ds", "y", "store_id", "item_id"]]
    p = pd.read_parquet(folder / "promotions.parquet")
    p["unique_id"] = p["store_id"].astype(str) + "_" + p["item_id"].astype(str)
    p["ds"] = pd.to_datetime(p["date"])
    cal = pd.read_parquet(folder / "calendar.parquet")
    cal["date"] = pd.to_datetime(cal["date"])
    w = pd.read_parquet(folder / "weather.parquet")
    weather = pd.DataFrame({
        "store_id": w["store_id"],
        "date": pd.to_datetime(w["date"]),
        "tmax_f": w["temp_max_celsius"] * 9 / 5 + 32,
        "tmin_f": w["temp_min_celsius"] * 9 / 5 + 32,
        "prcp_in": w["rain_mm"] / 25.4,
        "snow_in": np.nan,
        "source": "observed",
    })
    return Bakery(
        sales=sales.sort_values(["unique_id", "ds"]).reset_index(drop=True),
        promotions=p[["unique_id", "ds", "promotion_current_week", "promotion_last_week"]],
        holidays=cal[["store_id", "date", "is_holiday", "is_schoolholiday"]],
        weather=weather,
    )
