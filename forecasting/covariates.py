"""Known-ahead inputs of the long-history forecaster, built as they were known at an origin.

A :class:`Covariates` holds the raw feeds (prices, promotions, events, store weather,
other known-ahead columns) and builds the feature columns for any set of series-days
and any forecast origin. The origin matters for the weather only: days after it get
the weather forecast or the climatology (:mod:`forecasting.weather_features`), so a
backtest from an earlier origin sees exactly what a run at that origin would have seen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from forecasting.calendar_features import event_distances
from forecasting.weather_features import WEATHER_FEATURES, weather_features

__all__ = ["Covariates", "price_features", "PRICE_FEATURES"]

PRICE_FEATURES: tuple[str, ...] = ("price", "price_change_7", "price_rel_mean", "price_rel_max")


def price_features(prices: pd.DataFrame, *, id_col: str = "unique_id", time_col: str = "ds",
                   price_col: str = "price") -> pd.DataFrame:
    """Price level and change per series-day.

    ``price_change_7`` is the relative change against 7 days earlier, ``price_rel_mean`` the
    price over the series' mean price and ``price_rel_max`` the price over its highest price
    so far (a discount shows below 1). Prices are known ahead, so the whole timeline
    (history and forecast days) is passed at once; gaps (not on sale) stay NaN.

    Args:
        prices: ``id_col, time_col, price_col``, one row per series-day.
        id_col: Series column.
        time_col: Date column.
        price_col: Price column.

    Returns:
        ``id_col, time_col`` and :data:`PRICE_FEATURES`, sorted by series and day.
    """
    p = prices[[id_col, time_col, price_col]].sort_values([id_col, time_col], kind="stable")
    g = p.groupby(id_col, sort=False)[price_col]
    v = p[price_col].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            id_col: p[id_col].to_numpy(),
            time_col: p[time_col].to_numpy(),
            "price": v,
            "price_change_7": v / g.shift(7).to_numpy(dtype=np.float64) - 1.0,
            "price_rel_mean": v / g.transform("mean").to_numpy(dtype=np.float64),
            "price_rel_max": v / g.cummax().to_numpy(dtype=np.float64),
        })
    return out


@dataclass
class Covariates:
    """Known-ahead feeds of a run; every frame is optional.

    Attributes:
        series: ``unique_id`` and the series' keys used to join the feeds (e.g. ``store_id``
            for the weather and per-store events).
        prices: ``unique_id, ds, price`` (history and forecast days).
        known: ``unique_id, ds`` plus numeric known-ahead columns (promotions, SNAP days, ...).
        events: ``date, event_type`` (plus ``event_by`` columns), past and scheduled events.
        event_by: Key columns of ``events`` found in ``series`` (e.g. ``("store_id",)``).
        event_max_days: Cap of the days to/since features.
        store_weather: ``store_id, date, tmax_f, tmin_f, prcp_in, snow_in, source``.
        use_weather: False leaves the weather out (to measure what it is worth).
    """

    series: pd.DataFrame | None = None
    prices: pd.DataFrame | None = None
    known: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    event_by: Sequence[str] = ()
    event_max_days: int = 30
    store_weather: pd.DataFrame | None = None
    use_weather: bool = True
    _price_cache: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def has_weather(self) -> bool:
        """Whether weather features are built."""
        return self.use_weather and self.store_weather is not None and len(self.store_weather) > 0

    def without_weather(self) -> Covariates:
        """The same feeds with the weather left out."""
        return replace(self, use_weather=False)

    def feature_names(self) -> list[str]:
        """Exogenous feature columns :meth:`build` adds (known after the first call)."""
        return list(getattr(self, "_names", []))

    def build(self, rows: pd.DataFrame, *, origin: pd.Timestamp, id_col: str = "unique_id",
              time_col: str = "ds") -> pd.DataFrame:
        """Feature columns for ``rows`` as known at ``origin``.

        Args:
            rows: ``id_col, time_col`` series-days (history and/or forecast days).
            origin: Last day of observed history.
            id_col: Series column.
            time_col: Date column.

        Returns:
            ``rows`` (same order) with the feature columns, plus ``weather_source`` when
            weather is used.
        """
        out = rows[[id_col, time_col]].reset_index(drop=True)
        names: list[str] = []
        if self.prices is not None:
            if self._price_cache is None:
                self._price_cache = price_features(self.prices.rename(columns={"unique_id": id_col, "ds": time_col}),
                                                   id_col=id_col, time_col=time_col)
            out = out.merge(self._price_cache, on=[id_col, time_col], how="left")
            names += [c for c in self._price_cache.columns if c not in (id_col, time_col)]
        if self.known is not None:
            known = self.known.rename(columns={"unique_id": id_col, "ds": time_col})
            out = out.merge(known, on=[id_col, time_col], how="left")
            names += [c for c in known.columns if c not in (id_col, time_col)]
        keyed = self._with_series_keys(out, id_col)
        if self.events is not None and len(self.events):
            days = keyed[[*self.event_by, time_col]].rename(columns={time_col: "date"})
            ev = _per_key_day(days, lambda u: event_distances(self.events, u, by=self.event_by,
                                                              max_days=self.event_max_days))
            cols = [c for c in ev.columns if c.startswith("days_")]
            out[cols] = ev[cols].to_numpy()
            names += cols
        if self.has_weather:
            days = keyed[["store_id", time_col]].rename(columns={time_col: "date"})
            wx = _per_key_day(days, lambda u: weather_features(self.store_weather, u, origin=origin))
            for c in (*WEATHER_FEATURES, "weather_source"):
                out[c] = wx[c].to_numpy()
            names += list(WEATHER_FEATURES)
        self._names = names
        return out

    def _with_series_keys(self, frame: pd.DataFrame, id_col: str) -> pd.DataFrame:
        need = [*self.event_by, *(["store_id"] if self.has_weather else [])]
        if not need:
            return frame
        if self.series is None or any(c not in self.series.columns for c in need):
            raise ValueError(f"Covariates.series must map {id_col} to {sorted(set(need))} for the events/weather")
        keys = self.series[[id_col, *dict.fromkeys(need)]].drop_duplicates(id_col)
        m = frame[[id_col]].merge(keys, on=id_col, how="left")
        return pd.concat([frame, m.drop(columns=id_col)], axis=1)


def _per_key_day(days: pd.DataFrame, features: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    """``features`` of each row of ``days``, computed once per distinct row (store x day), in ``days``' order.

    Events and weather depend on the store and the day only: a few thousand store-days behind the
    hundreds of thousands of series-days of a long history.
    """
    keys = list(days.columns)
    codes = days.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(codes, return_index=True)[1]
    unique = days.iloc[first].reset_index(drop=True)
    values = features(unique)
    return pd.DataFrame({c: values[c].to_numpy()[codes] for c in values.columns})
