"""Cross-sectional features for a global demand model, built on wide (series x day) arrays.

Only weeks of daily history exist per series (M5: 28 days), so lag features are short.
The global model instead learns from what is known about every series and day:

* window statistics of the training window (mean, same-weekday mean, SNAP / non-SNAP
  means, zero share, standard deviation). When training, each day's statistics leave
  that day out (leave-one-out), so the model never sees its own target;
* calendar: weekday, day of month, event flag and type, SNAP for the series' state;
* price on the day, relative to the window's mean price, and its week-on-week change;
* ids as categoricals: item, department, category, store, state;
* optional pre-window level: ``hist_rate`` (mean daily units before the window) and
  ``hist_scale`` (root of the mean squared daily change before the window).

Every input is known at forecast time: calendar and shelf prices are published ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Panel",
    "build_panel",
    "panel_from_codes",
    "panel_until",
    "training_features",
    "training_columns",
    "forecast_features",
    "forecast_columns",
    "feature_matrix",
    "FEATURES",
    "CATEGORICAL",
]

CATEGORICAL: tuple[str, ...] = ("item", "dept", "cat", "store", "state", "wday", "event_type")
FEATURES: tuple[str, ...] = (
    *CATEGORICAL,
    "snap",
    "event",
    "win_mean",
    "win_dow_mean",
    "win_snap_mean",
    "win_nosnap_mean",
    "win_zero_share",
    "win_std",
    "win_recent_mean",
    "price",
    "price_rel",
    "price_change",
    "hist_rate",
    "hist_scale",
)

_ONE_DAY = np.timedelta64(1, "D")
_HIER = ("item_id", "dept_id", "cat_id", "store_id", "state_id")


@dataclass
class Panel:
    """Series x day arrays for the training window plus covariates for any day.

    Attributes:
        keys: One row per series: ``store_id, item_id`` and the hierarchy columns.
        dates: Training days (consecutive), oldest first.
        y: Units, shape (n_series, n_days).
        calendar: Per date (index): ``wday, mday, event, event_type, snap_<STATE>``.
        prices: Shelf price per series (rows) and date (columns), NaN = not on sale.
        hist: Per series ``hist_rate, hist_scale`` (NaN when unknown).
        started: Per series, the index in ``dates`` of its first row (None: all at 0).
        derived: Arrays derived from the panel, computed once and shared by its training and
            forecast features (a panel is not changed after it is built).
    """

    keys: pd.DataFrame
    dates: pd.DatetimeIndex
    y: np.ndarray
    calendar: pd.DataFrame
    prices: pd.DataFrame
    hist: pd.DataFrame
    started: np.ndarray | None = None
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _derived(panel: Panel, name: str, build: Callable[[Panel], Any]) -> Any:
    if name not in panel.derived:
        panel.derived[name] = build(panel)
    return panel.derived[name]


def _state_of(store: pd.Series) -> pd.Series:
    # M5 store ids are <STATE>_<n>.
    return store.astype(str).str.split("_").str[0]


def _calendar_table(calendar: pd.DataFrame | None, dates: pd.DatetimeIndex) -> pd.DataFrame:
    out = pd.DataFrame(index=dates)
    out["wday"] = dates.dayofweek
    out["mday"] = dates.day
    out["event"] = 0
    out["event_type"] = -1
    if calendar is None or calendar.empty:
        return out
    cal = calendar.assign(date=pd.to_datetime(calendar["date"])).drop_duplicates("date").set_index("date")
    cal = cal.reindex(dates)
    if "event_type_1" in cal:
        et = cal["event_type_1"]
        out["event"] = et.notna().astype(int).to_numpy()
        codes = {"Cultural": 0, "National": 1, "Religious": 2, "Sporting": 3}
        out["event_type"] = et.map(codes).fillna(-1).astype(int).to_numpy()
    for col in [c for c in cal.columns if c.startswith("snap_")]:
        out[col] = cal[col].fillna(0).astype(int).to_numpy()
    return out


def _rows_of(keys: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """Row of ``keys`` holding each ``store_id, item_id`` of ``frame`` (-1 where none does).

    One hash lookup per column into the few stores and few thousand items, joined as integers:
    cheaper than hashing string pairs on half a million price rows.
    """
    ks, ki = keys["store_id"].astype(str).to_numpy(), keys["item_id"].astype(str).to_numpy()
    stores, items = pd.Index(pd.unique(ks)), pd.Index(pd.unique(ki))
    lookup = np.full(len(stores) * len(items), -1, dtype=np.int64)
    lookup[stores.get_indexer(ks) * len(items) + items.get_indexer(ki)] = np.arange(len(keys))
    fs, fi = stores.get_indexer(frame["store_id"].astype(str)), items.get_indexer(frame["item_id"].astype(str))
    known = (fs >= 0) & (fi >= 0)
    return np.where(known, lookup[np.where(known, fs * len(items) + fi, 0)], -1)


def _price_matrix(
    keys: pd.DataFrame, prices: pd.DataFrame | None, calendar: pd.DataFrame | None, dates: pd.DatetimeIndex
) -> pd.DataFrame:
    empty = pd.DataFrame(np.nan, index=keys.index, columns=dates)
    if prices is None or calendar is None or prices.empty or "wm_yr_wk" not in calendar:
        return empty
    cal = calendar.assign(date=pd.to_datetime(calendar["date"])).drop_duplicates("date").set_index("date")
    week = cal["wm_yr_wk"].reindex(dates).to_numpy(dtype=np.float64)
    known = np.isfinite(week)
    weeks = np.unique(week[known]).astype(np.int64)
    p = prices[prices["wm_yr_wk"].isin(weeks)]
    # Positional scatter instead of a merge and a pivot: row from the series key, column
    # from the week; the first price of a duplicated (series, week) wins, as pivot's "first" did.
    row = _rows_of(keys, p)
    col = np.searchsorted(weeks, p["wm_yr_wk"].to_numpy(dtype=np.int64))
    ok = row >= 0
    by_week = np.full((len(keys), len(weeks)), np.nan)
    by_week[row[ok][::-1], col[ok][::-1]] = p["sell_price"].to_numpy(dtype=np.float64)[ok][::-1]
    out = np.full((len(keys), len(dates)), np.nan)
    out[:, known] = by_week[:, np.searchsorted(weeks, week[known].astype(np.int64))]
    return pd.DataFrame(out, index=keys.index, columns=dates)


def build_panel(
    history: pd.DataFrame,
    *,
    calendar: pd.DataFrame | None = None,
    prices: pd.DataFrame | None = None,
    series_info: pd.DataFrame | None = None,
    extra_dates: Sequence[pd.Timestamp] = (),
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
) -> Panel:
    """Pivot a long daily history to a :class:`Panel`.

    Args:
        history: One row per series and day (missing days count as zero sales).
        calendar: M5-style calendar (``date, wm_yr_wk, event_type_1, snap_CA, ...``).
        prices: ``store_id, item_id, wm_yr_wk, sell_price``.
        series_info: Per ``store_id, item_id``: ``hist_rate``, ``hist_scale`` (optional).
        extra_dates: Future days to prepare covariates for (the forecast horizon).
        id_cols: Series id columns (``store_id, item_id`` for prices and states).
        time_col: Date column.
        target_col: Units column.

    Returns:
        The panel; series ordered by their id columns.
    """
    id_cols = list(id_cols)
    ds = pd.to_datetime(history[time_col])
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(history[id_cols].astype(str)), sort=True)
    keys = pd.DataFrame(list(uniq), columns=id_cols)
    extra = [c for c in _HIER if c in history.columns and c not in id_cols]
    if extra:
        firsts = history[id_cols + extra].astype(str).drop_duplicates(id_cols)
        keys = keys.merge(firsts, on=id_cols, how="left")
    return _assemble(keys, codes, ds.to_numpy(dtype="datetime64[ns]"), history[target_col].to_numpy(dtype=np.float64),
                     calendar=calendar, prices=prices, series_info=series_info, extra_dates=extra_dates)


def panel_from_codes(
    keys: pd.DataFrame,
    codes: np.ndarray,
    ds: np.ndarray,
    values: np.ndarray,
    *,
    calendar: pd.DataFrame | None = None,
    prices: pd.DataFrame | None = None,
    series_info: pd.DataFrame | None = None,
    extra_dates: Sequence[pd.Timestamp] = (),
) -> Panel:
    """:func:`build_panel` for rows already coded by series (no string keys to hash again).

    Args:
        keys: One row per series code (``store_id, item_id`` and hierarchy columns).
        codes: Series code of each row (a row index of ``keys``).
        ds: Day of each row.
        values: Units of each row.
        calendar: As in :func:`build_panel`.
        prices: As in :func:`build_panel`.
        series_info: As in :func:`build_panel`.
        extra_dates: As in :func:`build_panel`.

    Returns:
        The panel; series in the order of ``keys``.
    """
    keys = keys.reset_index(drop=True).astype(str)
    return _assemble(keys, np.asarray(codes), np.asarray(ds, dtype="datetime64[ns]"),
                     np.asarray(values, dtype=np.float64), calendar=calendar, prices=prices,
                     series_info=series_info, extra_dates=extra_dates)


def _assemble(keys: pd.DataFrame, codes: np.ndarray, ds: np.ndarray, values: np.ndarray, *,
              calendar: pd.DataFrame | None, prices: pd.DataFrame | None, series_info: pd.DataFrame | None,
              extra_dates: Sequence[pd.Timestamp]) -> Panel:
    first, last = ds.min(), ds.max()
    dates = pd.date_range(first, last, freq="D")
    col = ((ds - first) // _ONE_DAY).astype(np.int64)
    y = np.zeros((len(keys), len(dates)))
    np.add.at(y, (codes, col), values)
    started = np.full(len(keys), len(dates), dtype=np.int64)
    np.minimum.at(started, codes, col)
    if "state_id" not in keys and "store_id" in keys:
        keys["state_id"] = _state_of(keys["store_id"])
    all_dates = dates.append(pd.DatetimeIndex(pd.to_datetime(list(extra_dates)))).unique().sort_values()
    hist = pd.DataFrame({"hist_rate": np.nan, "hist_scale": np.nan}, index=keys.index)
    if series_info is not None and not series_info.empty:
        info = keys[["store_id", "item_id"]].merge(
            series_info.astype({"store_id": str, "item_id": str}), on=["store_id", "item_id"], how="left"
        )
        for c in ("hist_rate", "hist_scale"):
            if c in info:
                hist[c] = info[c].to_numpy(dtype=np.float64)
    return Panel(
        keys=keys,
        dates=dates,
        y=y,
        calendar=_calendar_table(calendar, all_dates),
        prices=_price_matrix(keys, prices, calendar, all_dates),
        hist=hist,
        started=started,
    )


def panel_until(panel: Panel, end: pd.Timestamp) -> Panel:
    """The panel as :func:`build_panel` would build it from the history up to ``end``.

    A slice, not a rebuild: the training days are cut at ``end`` and series without a
    sale up to ``end`` are dropped; covariates (calendar, prices, pre-window levels)
    are kept for every day, so the days after ``end`` can be forecast (rolling origins).

    Args:
        panel: Panel of the whole history.
        end: Last training day (inclusive).

    Returns:
        The shorter panel; series in the same order.
    """
    n_days = int(np.searchsorted(panel.dates, pd.Timestamp(end), side="right"))
    if n_days < 1:
        raise ValueError(f"no training day up to {pd.Timestamp(end).date()} (panel starts {panel.dates[0].date()})")
    y = panel.y[:, :n_days]
    # build_panel only knows series with a row up to ``end``; rows are sales records, and a
    # padded history carries zeros, so a series has rows once any day is non-missing.
    seen = panel.started <= n_days - 1 if panel.started is not None else np.ones(len(y), dtype=bool)
    keep = np.flatnonzero(seen)
    if len(keep) == len(y):
        return Panel(panel.keys, panel.dates[:n_days], y, panel.calendar, panel.prices, panel.hist, panel.started)
    return Panel(
        keys=panel.keys.iloc[keep].reset_index(drop=True),
        dates=panel.dates[:n_days],
        y=y[keep],
        calendar=panel.calendar,
        prices=panel.prices.iloc[keep].reset_index(drop=True),
        hist=panel.hist.iloc[keep].reset_index(drop=True),
        started=panel.started[keep],
    )


def _codes(values: pd.Series) -> np.ndarray:
    return pd.factorize(values.astype(str), sort=True)[0].astype(np.int32)


def _snap_matrix(panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
    state = panel.keys.get("state_id", pd.Series("", index=panel.keys.index)).astype(str).to_numpy()
    out = np.zeros((len(panel.keys), len(dates)), dtype=np.float64)
    cal = panel.calendar.reindex(dates)
    for st in np.unique(state):
        col = f"snap_{st}"
        if col in cal:
            out[state == st] = cal[col].fillna(0).to_numpy(dtype=np.float64)[None, :]
    return out


def _static(panel: Panel) -> dict[str, np.ndarray]:
    return _derived(panel, "static", _static_codes)


def _static_codes(panel: Panel) -> dict[str, np.ndarray]:
    k = panel.keys
    get = lambda c: _codes(k[c]) if c in k else np.zeros(len(k), dtype=np.int32)  # noqa: E731
    return {
        "item": get("item_id"),
        "dept": get("dept_id"),
        "cat": get("cat_id"),
        "store": get("store_id"),
        "state": get("state_id"),
        "hist_rate": panel.hist["hist_rate"].to_numpy(dtype=np.float64),
        "hist_scale": panel.hist["hist_scale"].to_numpy(dtype=np.float64),
    }


def _day_values(panel: Panel, dates: pd.DatetimeIndex,
                snap: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Calendar values per date, and price and SNAP values per series x date."""
    cal = panel.calendar.reindex(dates)
    prices = panel.prices.reindex(columns=dates).to_numpy(dtype=np.float64)
    prev = panel.prices.reindex(columns=dates - pd.Timedelta(days=7)).to_numpy(dtype=np.float64)
    window_prices = panel.prices.reindex(columns=panel.dates).to_numpy(dtype=np.float64)
    counts = np.isfinite(window_prices).sum(axis=1)
    win_price = _div(np.nansum(window_prices, axis=1), counts.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = prices / win_price[:, None]
        change = prices / prev - 1.0
    per_date = {c: cal[c].to_numpy() for c in ("wday", "mday", "event", "event_type")}
    per_cell = {"snap": _snap_matrix(panel, dates) if snap is None else snap, "price": prices, "price_rel": rel,
                "price_change": change}
    return per_date, per_cell


def _day_block(panel: Panel, dates: pd.DatetimeIndex, n: int) -> dict[str, np.ndarray]:
    """Day features of every series and date, series-major rows."""
    per_date, per_cell = _day_values(panel, dates)
    return {**{k: np.tile(v, n) for k, v in per_date.items()}, **{k: v.ravel() for k, v in per_cell.items()}}


def _window_sums(panel: Panel) -> dict[str, np.ndarray]:
    return _derived(panel, "window_sums", _sums)


def _sums(panel: Panel) -> dict[str, np.ndarray]:
    y = panel.y
    wday = panel.dates.dayofweek.to_numpy()
    onehot = (wday[:, None] == np.arange(7)[None, :]).astype(np.float64)  # days x 7
    snap = _snap_matrix(panel, panel.dates)
    return {
        "s": y.sum(axis=1),
        "ss": np.square(y).sum(axis=1),
        "z": (y == 0).sum(axis=1).astype(np.float64),
        "s_dow": y @ onehot,
        "c_dow": onehot.sum(axis=0),
        "s_snap": (y * snap).sum(axis=1),
        "c_snap": snap.sum(axis=1),
        "snap": snap,
        "onehot": onehot,
    }


def _columns(static: dict[str, np.ndarray], day: dict[str, np.ndarray], window: dict[str, np.ndarray],
             n_days: int) -> dict[str, np.ndarray]:
    """Every feature as one flat array over series-major rows (static ones repeated lazily)."""
    cols = {k: _Repeat(v, n_days) for k, v in static.items()}
    cols.update(day)
    cols.update(window)
    return cols


class _Repeat:
    """A per-series value repeated over ``n_days`` rows, materialised only for the rows asked."""

    def __init__(self, values: np.ndarray, n_days: int) -> None:
        self.values, self.n_days = values, n_days

    def take(self, rows: np.ndarray | None) -> np.ndarray:
        return np.repeat(self.values, self.n_days) if rows is None else self.values[rows // self.n_days]


def _take(col: np.ndarray | _Repeat, rows: np.ndarray | None) -> np.ndarray:
    if isinstance(col, _Repeat):
        return col.take(rows)
    return col if rows is None else col[rows]


def feature_matrix(cols: dict[str, np.ndarray], names: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
    """Features ``names`` (in that order) of ``rows`` as one float64 matrix for LightGBM (what it would make of a frame).

    Categoricals become non-negative integer codes with NaN for missing: LightGBM reads a
    negative code as missing too, but warns on stdout, which corrupts ``supplycast run --json``.
    """
    n = len(rows) if rows is not None else len(_take(cols[names[0]], None))
    # column-major: each feature is one contiguous write, and LightGBM reads that layout as it is
    out = np.empty((n, len(names)), dtype=np.float64, order="F")
    for j, name in enumerate(names):
        v = _take(cols[name], rows)
        out[:, j] = np.where(v < 0, np.nan, v) if name in CATEGORICAL else v
    return out


def _feature_frame(cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """Every feature as a frame column, categoricals as int32 codes (the inspection view of the arrays)."""
    return pd.DataFrame({k: _take(cols[k], None) for k in FEATURES}).astype({c: np.int32 for c in CATEGORICAL})


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def training_features(panel: Panel, *, recent_days: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Leave-one-out features for every series and training day, with the targets.

    As a data frame (for inspection); :class:`forecasting.lgbm.GlobalLGBM` uses
    :func:`training_columns` and :func:`feature_matrix` and skips the frame.

    Each row's window statistics are computed over the training window without that
    row's own day, so the target never leaks into its features.

    Args:
        panel: The training panel.
        recent_days: Length of the trailing window behind ``win_recent_mean``.

    Returns:
        Features (rows series-major: series 0 day 0..T-1, series 1, ...) and targets.
    """
    cols, y = training_columns(panel, recent_days=recent_days)
    return _feature_frame(cols), y


def training_columns(panel: Panel, *, recent_days: int = 7,
                     rows: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """:func:`training_features` as flat arrays per feature (see :func:`feature_matrix`).

    Args:
        panel: The training panel.
        recent_days: Length of the trailing window behind ``win_recent_mean``.
        rows: Flat series-major row numbers (``series * n_days + day``) to compute, e.g. a
            training sample, so the rows left out are never built; None: every row.

    Returns:
        Features and targets of ``rows``, in their order.
    """
    n, t = panel.y.shape
    si, di = np.divmod(np.arange(n * t) if rows is None else np.asarray(rows, dtype=np.int64), t)
    y = panel.y
    yv = y[si, di]
    w = _window_sums(panel)
    wday = panel.dates.dayofweek.to_numpy()[di]
    loo_n = max(t - 1, 1)
    mean = (w["s"][si] - yv) / loo_n
    sq = (w["ss"][si] - np.square(yv)) / loo_n
    dow_sum = w["s_dow"][si, wday] - yv
    dow_cnt = w["c_dow"][wday] - 1
    snap = w["snap"][si, di]
    snap_sum = w["s_snap"][si] - yv * snap
    snap_cnt = w["c_snap"][si] - snap
    nosnap_sum = (w["s"] - w["s_snap"])[si] - yv * (1 - snap)
    nosnap_cnt = (t - w["c_snap"])[si] - (1 - snap)
    # Trailing mean of the last ``recent_days`` days before the target day (or of the
    # window's first days when there are none before it).
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(y, axis=1)], axis=1)
    start = np.maximum(di - recent_days, 0)
    recent = _div(csum[si, di] - csum[si, start], (di - start).astype(np.float64))
    window = {
        "win_mean": mean,
        "win_dow_mean": _div(dow_sum, dow_cnt),
        "win_snap_mean": _div(snap_sum, snap_cnt),
        "win_nosnap_mean": _div(nosnap_sum, nosnap_cnt),
        "win_zero_share": (w["z"][si] - (yv == 0)) / loo_n,
        "win_std": np.sqrt(np.clip(sq - np.square(mean), 0, None)),
        "win_recent_mean": np.where(np.isnan(recent), mean, recent),
    }
    per_date, per_cell = _day_values(panel, panel.dates, snap=w["snap"])
    day = {**{k: v[di] for k, v in per_date.items()}, **{k: v[si, di] for k, v in per_cell.items()}}
    static = {k: v[si] for k, v in _static(panel).items()}
    return {**static, **day, **window}, yv


def forecast_features(panel: Panel, dates: Sequence[pd.Timestamp], *, recent_days: int = 7) -> pd.DataFrame:
    """Features for future ``dates`` from the whole training window.

    Args:
        panel: The training panel (built with ``extra_dates`` covering ``dates``).
        dates: Days to forecast.
        recent_days: Length of the trailing window behind ``win_recent_mean``.

    Returns:
        Features, rows series-major (series 0 date 0..H-1, series 1, ...).
    """
    cols = forecast_columns(panel, dates, recent_days=recent_days)
    return _feature_frame(cols)


def forecast_columns(panel: Panel, dates: Sequence[pd.Timestamp], *, recent_days: int = 7) -> dict[str, np.ndarray]:
    """:func:`forecast_features` (same arguments and row order) as flat arrays per feature, the form
    :func:`feature_matrix` reads."""
    dates = pd.DatetimeIndex(pd.to_datetime(list(dates)))
    n, t = panel.y.shape
    h = len(dates)
    w = _window_sums(panel)
    mean = w["s"] / t
    std = np.sqrt(np.clip(w["ss"] / t - np.square(mean), 0, None))
    dow = _div(w["s_dow"], np.broadcast_to(w["c_dow"], w["s_dow"].shape))[:, dates.dayofweek.to_numpy()]
    snap_mean = _div(w["s_snap"], w["c_snap"])
    nosnap_mean = _div(w["s"] - w["s_snap"], t - w["c_snap"])
    recent = panel.y[:, -min(recent_days, t):].mean(axis=1)
    rep = lambda v: np.repeat(v, h)  # noqa: E731
    window = {
        "win_mean": rep(mean),
        "win_dow_mean": dow.ravel(),
        "win_snap_mean": rep(snap_mean),
        "win_nosnap_mean": rep(nosnap_mean),
        "win_zero_share": rep(w["z"] / t),
        "win_std": rep(std),
        "win_recent_mean": rep(recent),
    }
    return _columns(_static(panel), _day_block(panel, dates, n), window, h)
