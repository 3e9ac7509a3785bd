"""Weather features per store and day from a store-level weather table.

Input is the warehouse's ``store_weather`` layout: one row per store and day with
``tmax_f, tmin_f, prcp_in, snow_in`` and ``source`` (``observed`` or ``forecast``).
Days up to the forecast origin use the observed rows; days after it use the rows whose
source is ``forecast`` when there are any, otherwise the day-of-year climatology of the
store. Normals come from the observed history up to the origin only, smoothed over a
circular window of days of the year, so a few years of history give a usable normal and
nothing after the origin leaks into it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "WEATHER_VALUES",
    "WEATHER_FEATURES",
    "day_of_year",
    "day_of_year_normals",
    "weather_features",
]

WEATHER_VALUES: tuple[str, ...] = ("tmax_f", "tmin_f", "prcp_in", "snow_in")

WEATHER_FEATURES: tuple[str, ...] = (
    "wx_tmax_f",
    "wx_tmax_anom",
    "wx_tmin_anom",
    "wx_prcp_in",
    "wx_rain",
    "wx_snow_in",
    "wx_hot",
    "wx_cold",
)

_DAYS = 365
# A day counts as rainy from a tenth of an inch (2.5 mm); hot or cold from 10 F off normal.
_RAIN_IN = 0.1
_HOT_COLD_F = 10.0


def day_of_year(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Day of the year on a 365-day clock (1..365): in leap years 29 Feb shares 1 Mar's day.

    Args:
        dates: Dates.

    Returns:
        Integer array shaped like ``dates``.
    """
    d = pd.DatetimeIndex(dates)
    shift = (d.is_leap_year & (d.month > 2)).astype(np.int64)
    return np.minimum(d.dayofyear.to_numpy(dtype=np.int64) - shift, _DAYS)


def _circular_mean(sums: np.ndarray, counts: np.ndarray, half_window: int) -> np.ndarray:
    """Per row, the mean over days ``d - half_window .. d + half_window`` (circular), NaN if none."""
    k = int(half_window)
    if k <= 0:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)
    pad = lambda a: np.concatenate([a[:, -k:], a, a[:, :k]], axis=1)  # noqa: E731
    cs = np.cumsum(np.pad(pad(sums), ((0, 0), (1, 0))), axis=1)
    cc = np.cumsum(np.pad(pad(counts), ((0, 0), (1, 0))), axis=1)
    w = 2 * k + 1
    s, c = cs[:, w:] - cs[:, :-w], cc[:, w:] - cc[:, :-w]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.where(c > 0, c, 1), np.nan)


def day_of_year_normals(
    observed: pd.DataFrame,
    *,
    store_col: str = "store_id",
    date_col: str = "date",
    value_cols: Sequence[str] = WEATHER_VALUES,
    half_window: int = 15,
) -> pd.DataFrame:
    """Smoothed day-of-year normal of each weather value per store.

    The normal of day ``d`` is the mean of every observed value of the store on the days
    of the year ``d - half_window .. d + half_window`` (wrapping round the year end).

    Args:
        observed: Observed rows (``store_col, date_col`` and ``value_cols``; NaN = not reported).
        store_col: Store column.
        date_col: Date column.
        value_cols: Columns to average.
        half_window: Half width of the smoothing window in days.

    Returns:
        ``store_col, doy`` (1..365) and one ``normal_<col>`` per value column (NaN where
        the store never reported the value).
    """
    stores, codes = np.unique(observed[store_col].to_numpy(), return_inverse=True)
    doy = day_of_year(observed[date_col]) - 1
    out = {store_col: np.repeat(stores, _DAYS), "doy": np.tile(np.arange(1, _DAYS + 1), len(stores))}
    for col in value_cols:
        v = observed[col].to_numpy(dtype=np.float64)
        ok = np.isfinite(v)
        sums = np.zeros((len(stores), _DAYS))
        counts = np.zeros((len(stores), _DAYS))
        np.add.at(sums, (codes[ok], doy[ok]), v[ok])
        np.add.at(counts, (codes[ok], doy[ok]), 1.0)
        out[f"normal_{col}"] = _circular_mean(sums, counts, half_window).ravel()
    return pd.DataFrame(out)


def weather_features(
    store_weather: pd.DataFrame,
    days: pd.DataFrame,
    *,
    origin: pd.Timestamp | str,
    store_col: str = "store_id",
    date_col: str = "date",
    source_col: str = "source",
    half_window: int = 15,
) -> pd.DataFrame:
    """Weather features for every requested store and day, and where they came from.

    Args:
        store_weather: ``store_col, date_col, tmax_f, tmin_f, prcp_in, snow_in, source_col``
            with source ``observed`` or ``forecast``.
        days: ``store_col, date_col``: the store-days to describe (history and forecast days).
        origin: Last day of observed history (the last POS date). Observed rows after it are
            ignored, as are forecast rows up to it.
        store_col: Store column.
        date_col: Date column.
        source_col: Source column of ``store_weather``.
        half_window: Half width of the day-of-year smoothing window of the normals.

    Returns:
        ``days`` (same rows and order) with :data:`WEATHER_FEATURES` and ``weather_source``
        (``observed``, ``forecast`` or ``climatology``): a value missing from an observed or
        forecast row is filled from the normal.
    """
    _check_columns(store_weather, [store_col, date_col, source_col, *WEATHER_VALUES], "store_weather")
    _check_columns(days, [store_col, date_col], "days")
    origin = pd.Timestamp(origin)
    wx = store_weather[[store_col, date_col, source_col, *WEATHER_VALUES]].copy()
    wx[date_col] = pd.to_datetime(wx[date_col])
    src = wx[source_col].astype(str)
    bad = ~src.isin(["observed", "forecast"])
    if bad.any():
        raise ValueError(f"store_weather: column {source_col!r} must be 'observed' or 'forecast'; "
                         f"{int(bad.sum())} rows are not (first: {src[bad].iloc[0]!r})")
    # Only what was knowable at the origin: observations up to it, forecasts after it.
    usable = ((src == "observed") & (wx[date_col] <= origin)) | ((src == "forecast") & (wx[date_col] > origin))
    wx = wx[usable].drop_duplicates([store_col, date_col], keep="last")
    prcp = wx["prcp_in"].to_numpy(dtype=np.float64)
    wx["rain"] = np.where(np.isfinite(prcp), (prcp >= _RAIN_IN).astype(np.float64), np.nan)
    values = [*WEATHER_VALUES, "rain"]
    normals = day_of_year_normals(wx[wx[source_col] == "observed"], store_col=store_col, date_col=date_col,
                                  value_cols=values, half_window=half_window)

    out = days[[store_col, date_col]].copy()
    out[date_col] = pd.to_datetime(out[date_col])
    out["doy"] = day_of_year(out[date_col])
    out = out.merge(wx, on=[store_col, date_col], how="left").merge(normals, on=[store_col, "doy"], how="left")
    has_row = out[source_col].notna().to_numpy()
    vals = {}
    for col in values:
        v = out[col].to_numpy(dtype=np.float64)
        vals[col] = np.where(np.isfinite(v), v, out[f"normal_{col}"].to_numpy(dtype=np.float64))
    # Filled from the normals, the rain flag of a climatology day is the share of rainy days
    # around that day of the year, and the temperature anomalies are zero.
    tmax_anom = vals["tmax_f"] - out["normal_tmax_f"].to_numpy(dtype=np.float64)
    result = days.copy()
    result["wx_tmax_f"] = vals["tmax_f"]
    result["wx_tmax_anom"] = tmax_anom
    result["wx_tmin_anom"] = vals["tmin_f"] - out["normal_tmin_f"].to_numpy(dtype=np.float64)
    result["wx_prcp_in"] = vals["prcp_in"]
    result["wx_rain"] = vals["rain"]
    result["wx_snow_in"] = vals["snow_in"]
    with np.errstate(invalid="ignore"):
        result["wx_hot"] = (tmax_anom >= _HOT_COLD_F).astype(np.float64)
        result["wx_cold"] = (tmax_anom <= -_HOT_COLD_F).astype(np.float64)
    result["weather_source"] = np.where(has_row, out[source_col].astype(object), "climatology")
    return result


def _check_columns(frame: pd.DataFrame, cols: Sequence[str], name: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}; has {list(frame.columns)}")
