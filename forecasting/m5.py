"""M5 data helpers: the 28-day sales window, covariates and pre-window series levels.

Provenance of every pre-window quantity (none of them sees a day after the training
window it is used with):

* ``hist_scale`` = sqrt of the RMSSE scale over d_1..d_1913 (``rmsse_scale_d1_d1913``):
  ends the day before the 28-day sales window starts.
* ``hist_rate`` = mean daily units over d_1..d_1913 from ``first_sales_date``:
  ``total_sales`` (d_1..d_1941) minus the units of d_1914..d_1941 in the sales file is
  the d_1..d_1913 total. ``total_sales`` itself covers the scoring window and is never
  used as a feature.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["M5_WINDOW_START", "M5_LAST_DAY", "M5Data", "load_m5", "load_series_info", "series_info",
           "series_info_sources", "window_units"]

M5_WINDOW_START = pd.Timestamp("2016-04-25")  # d_1914
M5_LAST_DAY = pd.Timestamp("2016-05-22")  # d_1941: no M5 sales after this day are used


class M5Data:
    """The M5 files this project has, loaded and typed.

    Attributes:
        sales: Long ``id, item_id, dept_id, cat_id, store_id, state_id, date, units``.
        calendar: The M5 calendar with ``date`` as datetimes.
        prices: ``store_id, item_id, wm_yr_wk, sell_price``.
        info: Per series ``store_id, item_id, hist_rate, hist_scale`` (may be empty).
        folder: Where the files came from.
    """

    def __init__(self, sales: pd.DataFrame, calendar: pd.DataFrame, prices: pd.DataFrame,
                 info: pd.DataFrame, folder: Path) -> None:
        self.sales, self.calendar, self.prices, self.info, self.folder = sales, calendar, prices, info, folder


def window_units(sales: pd.DataFrame, *, window_start: pd.Timestamp = M5_WINDOW_START,
                 window_end: pd.Timestamp = M5_LAST_DAY) -> tuple[pd.DataFrame, int]:
    """Units per series inside the M5 window, and the number of window days the sales cover.

    Args:
        sales: Daily ``store_id, item_id, date, units``.
        window_start: First day of the window (d_1914).
        window_end: Last day of the window (d_1941).

    Returns:
        ``(store_id, item_id, window_units)`` per series with sales in the window, and the day count.
    """
    dates = pd.to_datetime(sales["date"])
    in_window = (dates >= window_start) & (dates <= window_end)
    totals = sales[in_window].groupby(["store_id", "item_id"], observed=True)["units"].sum()
    return totals.rename("window_units").reset_index(), int(dates[in_window].nunique())


def series_info(
    totals: tuple[pd.DataFrame, int],
    *,
    summary: pd.DataFrame | None,
    scales: pd.DataFrame | None,
    window_start: pd.Timestamp = M5_WINDOW_START,
    window_end: pd.Timestamp = M5_LAST_DAY,
) -> pd.DataFrame:
    """Pre-window level per series: ``store_id, item_id, hist_rate, hist_scale``.

    Args:
        totals: :func:`window_units` of the daily sales (or the same summed in the warehouse):
            units per series over ``window_start..window_end``, the window that
            ``summary.total_sales`` includes, and the number of its days the sales cover.
        summary: ``series_summary_d1_d1941`` (``store_id, item_id, first_sales_date,
            total_sales``) or None.
        scales: Level-12 scales ``store_id, item_id, scale`` or None.
        window_start: First day of the sales file (d_1914).
        window_end: Last day included in ``total_sales`` (d_1941).

    Returns:
        One row per series of ``totals``; NaN where a source is missing.
    """
    window, n_days = totals
    out = window[["store_id", "item_id", "window_units"]].astype({"store_id": str, "item_id": str})
    out["hist_rate"] = np.nan
    out["hist_scale"] = np.nan
    full_window = n_days == (window_end - window_start).days + 1
    if summary is not None and full_window:
        s = summary[["store_id", "item_id", "first_sales_date", "total_sales"]].astype({"store_id": str, "item_id": str})
        m = out.merge(s, on=["store_id", "item_id"], how="left")
        pre_units = m["total_sales"] - m["window_units"]
        pre_days = (window_start - pd.to_datetime(m["first_sales_date"])).dt.days
        out["hist_rate"] = np.where(pre_days > 0, pre_units / pre_days.clip(lower=1), np.nan)
    if scales is not None:
        m = out.merge(scales.astype({"store_id": str, "item_id": str}), on=["store_id", "item_id"], how="left")
        out["hist_scale"] = np.sqrt(m["scale"].to_numpy(dtype=np.float64))
    return out[["store_id", "item_id", "hist_rate", "hist_scale"]]


def _level12_scales(folder: Path) -> pd.DataFrame | None:
    path = folder / "rmsse_scale_d1_d1913.parquet"
    if not path.is_file():
        return None
    # only the bottom level, read straight from the file: ids are "<item>_<store>_evaluation" and
    # the store is the last two tokens (e.g. CA_1); same keys as ``load_m5_scales`` gives level 12
    raw = pd.read_parquet(path, columns=["agg_level_1", "scale_mse_d1_d1913"], filters=[("level", "==", 12)])
    parts = raw["agg_level_1"].astype(str).str.removesuffix("_evaluation").str.extract(r"^(.*)_([^_]+_[^_]+)$")
    return pd.DataFrame({"item_id": parts[0].to_numpy(), "store_id": parts[1].to_numpy(),
                         "scale": raw["scale_mse_d1_d1913"].to_numpy(dtype=np.float64)})


def load_m5(folder: str | Path) -> M5Data:
    """Load the M5 folder (``../shared/data/m5`` layout); optional files may be absent.

    Args:
        folder: Folder with ``sales_d1914_d1941.parquet``, ``calendar.parquet``,
            ``sell_prices.parquet`` and optionally ``series_summary_d1_d1941.parquet``
            and ``rmsse_scale_d1_d1913.parquet``.

    Returns:
        The typed data; sales after :data:`M5_LAST_DAY` are dropped on load.
    """
    folder = Path(folder)
    sales = pd.read_parquet(folder / "sales_d1914_d1941.parquet").rename(columns={"sales": "units"})
    sales["date"] = pd.to_datetime(sales["date"])
    sales = sales[sales["date"] <= M5_LAST_DAY].reset_index(drop=True)
    calendar = pd.read_parquet(folder / "calendar.parquet")
    calendar["date"] = pd.to_datetime(calendar["date"])
    prices = pd.read_parquet(folder / "sell_prices.parquet")
    prices = prices.astype({"store_id": str, "item_id": str})
    summary, scales = series_info_sources(folder)
    info = series_info(window_units(sales), summary=summary, scales=scales)
    return M5Data(sales, calendar, prices, info, folder)


def series_info_sources(folder: str | Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The optional files behind :func:`series_info` in an M5 folder: the long-history summary
    (``series_summary_d1_d1941.parquet``) and the level-12 RMSSE scales; None for a missing one."""
    folder = Path(folder)
    summary_path = folder / "series_summary_d1_d1941.parquet"
    summary = pd.read_parquet(summary_path) if summary_path.is_file() else None
    return summary, _level12_scales(folder)


def load_series_info(folder: str | Path, totals: tuple[pd.DataFrame, int], *,
                     sources: tuple[pd.DataFrame | None, pd.DataFrame | None] | None = None) -> pd.DataFrame | None:
    """:func:`series_info` from the optional files of an M5 folder; None if both are absent.

    Args:
        folder: Folder that may hold ``series_summary_d1_d1941.parquet`` and
            ``rmsse_scale_d1_d1913.parquet``.
        totals: :func:`window_units` of the 28-day sales.
        sources: :func:`series_info_sources` of ``folder`` when already read.

    Returns:
        Per series ``store_id, item_id, hist_rate, hist_scale``, or None.
    """
    summary, scales = sources if sources is not None else series_info_sources(folder)
    if summary is None and scales is None:
        return None
    return series_info(totals, summary=summary, scales=scales)
