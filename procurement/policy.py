"""Periodic-review (R, s, S) order-up-to policy driven by the forecast's mean and daily spread.

Every R days the inventory position is compared with the reorder point s; at or below it, an
order raises the position to the order-up-to level S.

Protection period P = lead time L + review period R. With daily forecast mean mu_t and a daily
spread sigma_t (the forecast's ``yhat_var``, else read off its central 80 % interval; see
:func:`forecast_variance`), demand over P has mean sum(mu_t)
and, assuming independent days and lead-time spread sigma_L, standard deviation
sqrt(sum(sigma_t^2) + mean_daily^2 * sigma_L^2). Safety stock is z_service times that.
S = mean demand over P + safety stock; s = S - one day of mean demand (at least 1 unit): the next
order cannot arrive before R + L days, so s must protect the same period as S.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = [
    "replenishment_proposals", "item_service_levels", "offer_needs", "forecast_cumsums", "forecast_variance",
    "ForecastSums",
    "SERVICE_BY_CLASS", "SPREAD_COLUMNS",
]

_Z90 = float(norm.ppf(0.9))
# the forecast columns a plan reads its daily spread from (see forecast_variance), where present
SPREAD_COLUMNS = ("yhat_q10", "yhat_q50", "yhat_q90", "yhat_var")
# cycle service target per ABC (share of sales value) x XYZ (demand variability) class: the few
# items that carry the revenue and sell steadily get the highest target
SERVICE_BY_CLASS = {
    "AX": 0.99, "AY": 0.98, "AZ": 0.97,
    "BX": 0.97, "BY": 0.96, "BZ": 0.95,
    "CX": 0.95, "CY": 0.93, "CZ": 0.90,
}


def forecast_variance(forecast: pd.DataFrame) -> pd.Series:
    """Daily demand variance a plan uses: the forecast's ``yhat_var`` where it has one, else the
    variance implied by its quantiles, ((q90 - q10) / (2 z_0.90))^2.

    ``yhat_var`` is the variance at the series' recent demand level
    (:func:`forecasting.quantiles.level_variance`): quantiles around a seasonal-naive mean widen
    with the same noise that lifted the mean, and a plan read off them stocks twice for it.

    From the quantiles, the central interval, not its upper half ((q90 - q50) / z_0.90): daily
    retail demand is right-skewed (the forecast's quantiles are negative binomial), so the upper
    half of the interval overstates the standard deviation. Measured on the real CA_1 demand of
    the 14 days before 2016-05-08 (per series, summed): real sd 3,990 units, upper half 5,288
    (+33 %), central 3,568 (-11 %); for negative-binomial demand with mean 3-30 and dispersion
    0.5-3 the upper half is 16-36 % high and the central interval 0-27 % low. Without
    ``yhat_q10`` the upper half is used.
    """
    if "yhat_q10" in forecast:
        spread = (forecast["yhat_q90"] - forecast["yhat_q10"]).clip(lower=0) / (2 * _Z90)
    else:
        spread = (forecast["yhat_q90"] - forecast["yhat_q50"]).clip(lower=0) / _Z90
    if "yhat_var" not in forecast:
        return spread**2
    stated = pd.to_numeric(forecast["yhat_var"], errors="coerce")
    return stated.where(stated.notna(), spread**2)


def item_service_levels(
    history: pd.DataFrame, *, abc_cuts: tuple[float, float] = (0.8, 0.95), xyz_cuts: tuple[float, float] = (0.5, 1.0),
    service_by_class: dict[str, float] | None = None, id_cols: tuple[str, str] = ("store_id", "item_id"),
    target_col: str = "units", price_col: str = "sell_price",
) -> pd.DataFrame:
    """ABC/XYZ class and service target per store x item.

    ABC: items sorted by sales value; A up to ``abc_cuts[0]`` of cumulative value, B up to
    ``abc_cuts[1]``, C the rest. XYZ: coefficient of variation of daily units; X below
    ``xyz_cuts[0]``, Y below ``xyz_cuts[1]``, Z above (intermittent items land in Z).

    Returns:
        ``store_id, item_id, abc, xyz, abc_xyz, service_level``.
    """
    keys = list(id_cols)
    value = history[target_col] * history[price_col].fillna(0)
    g = history.assign(_value=value).groupby(keys, observed=True)
    stats = g.agg(_value=("_value", "sum"), _mean=(target_col, "mean"), _std=(target_col, "std")).reset_index()
    stats = stats.sort_values("_value", ascending=False)
    # share of value held by the items ranked above: the item that crosses a cut still belongs to it
    share_before = (stats["_value"].cumsum() - stats["_value"]) / max(stats["_value"].sum(), 1e-9)
    stats["abc"] = np.select([share_before < abc_cuts[0], share_before < abc_cuts[1]], ["A", "B"], "C")
    cv = (stats["_std"].fillna(0) / stats["_mean"].where(stats["_mean"] > 0)).fillna(np.inf)
    stats["xyz"] = np.select([cv < xyz_cuts[0], cv < xyz_cuts[1]], ["X", "Y"], "Z")
    stats["abc_xyz"] = stats["abc"] + stats["xyz"]
    stats["service_level"] = stats["abc_xyz"].map(service_by_class or SERVICE_BY_CLASS)
    return stats[[*keys, "abc", "xyz", "abc_xyz", "service_level"]].reset_index(drop=True)


def _spread_source(forecast: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per series, where its daily spread came from: ``level_variance`` (every day has ``yhat_var``) or ``quantiles``."""
    stated = forecast["yhat_var"].notna() if "yhat_var" in forecast else pd.Series(False, index=forecast.index)
    every_day = stated.groupby([forecast[k] for k in keys], observed=True).all()
    return pd.Series(np.where(every_day, "level_variance", "quantiles"), index=every_day.index)


def replenishment_proposals(
    forecast: pd.DataFrame,
    inventory: pd.DataFrame,
    lead_times: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    review_days: int = 7,
    service_level: float | pd.DataFrame = 0.95,
    id_cols: tuple[str, str] = ("store_id", "item_id"),
    time_col: str = "date",
) -> pd.DataFrame:
    """Order quantities per store x item.

    Args:
        forecast: ``forecast`` table (store_id, item_id, date, yhat, yhat_q50, yhat_q90; optional
            yhat_q10 and yhat_var, see :func:`forecast_variance`).
        inventory: on_hand and on_order per store x item.
        lead_times: per item: ``lead_time_days`` and ``lead_time_std_days`` of its preferred supplier.
        as_of: decision date; forecast day 1 is ``as_of + 1``.
        review_days: review period R in days.
        service_level: cycle service level for the safety factor: one number, or a table per
            store x item (``item_service_levels``) with ``service_level`` (and ``abc_xyz``).

    Returns:
        CONTRACTS §3 columns plus the inputs behind them (``spread_source``: ``level_variance`` or
        ``quantiles``, which spread the safety stock was set from).
    """
    keys = list(id_cols)
    if isinstance(service_level, pd.DataFrame):
        levels = service_level.set_index(keys)
    else:
        levels = pd.DataFrame({"service_level": [service_level]})
    if not levels["service_level"].between(0.5, 1, inclusive="left").all():
        raise ValueError(f"service_level must be in [0.5, 1), got {sorted(levels['service_level'].unique())[:5]}")
    sums = forecast_cumsums(forecast, as_of=as_of, id_cols=id_cols, time_col=time_col)

    base = inventory[keys + ["on_hand", "on_order"]].merge(
        lead_times[[id_cols[1], "supplier_id", "lead_time_days", "lead_time_std_days"]], on=id_cols[1], how="left"
    )
    missing = base["lead_time_days"].isna()
    if missing.any():
        raise ValueError(f"{int(missing.sum())} store x item rows have no supplier lead time")
    base = base.set_index(keys)
    lead = base["lead_time_days"].astype(int)
    protect = lead + review_days

    if not base.index.is_unique:
        raise ValueError(f"inventory: {int(base.index.duplicated().sum())} store x item rows appear more than once")
    rows = sums.rows(base.index)
    mu_lead, _ = sums.over_first(rows, lead.to_numpy())
    mu_protect, var_protect = sums.over_first(rows, protect.to_numpy())
    mu_lead, mu_protect, var_protect = (pd.Series(v, index=base.index) for v in (mu_lead, mu_protect, var_protect))
    mean_daily = mu_protect / protect
    sigma = np.sqrt(var_protect + mean_daily**2 * base["lead_time_std_days"].fillna(0) ** 2)
    out = base.copy()
    if isinstance(service_level, pd.DataFrame):
        out["service_level"] = levels["service_level"].reindex(out.index).fillna(0.95)
        out["abc_xyz"] = levels["abc_xyz"].reindex(out.index).fillna("") if "abc_xyz" in levels else ""
    else:
        out["service_level"] = float(service_level)
        out["abc_xyz"] = ""
    z = norm.ppf(out["service_level"].to_numpy())
    out["as_of"] = pd.Timestamp(as_of)
    out["review_days"] = review_days
    out["demand_lead_time"] = mu_lead.round(2)
    out["demand_protection"] = mu_protect.round(2)
    out["sigma_protection"] = sigma.round(3)
    out["safety_stock"] = np.ceil(z * sigma).astype(int)
    out["order_up_to"] = np.ceil(mu_protect + out["safety_stock"]).astype(int)
    # the next order can only arrive after R + L days, so s protects the whole period too; it sits
    # one day of mean demand below S so that orders smaller than a day's sales are skipped
    out["reorder_point"] = np.maximum(out["safety_stock"], out["order_up_to"] - np.maximum(1, np.ceil(mean_daily)))
    out["reorder_point"] = out["reorder_point"].astype(int)
    position = out["on_hand"] + out["on_order"]
    out["order_qty"] = np.where(position <= out["reorder_point"], (out["order_up_to"] - position).clip(lower=0), 0)
    out["order_qty"] = out["order_qty"].astype(int)
    out["spread_source"] = _spread_source(forecast, keys).reindex(out.index).fillna("quantiles")
    cols = [
        "as_of", "on_hand", "on_order", "safety_stock", "reorder_point", "order_up_to", "order_qty", "supplier_id",
        "lead_time_days", "lead_time_std_days", "review_days", "service_level", "demand_lead_time",
        "demand_protection", "sigma_protection", "spread_source", "abc_xyz",
    ]
    return out[cols].reset_index()


@dataclass(frozen=True)
class ForecastSums:
    """Per series running sums of the forecast's daily mean and variance, by day ahead.

    Built once by :func:`forecast_cumsums` and read by every rule that needs demand over a
    number of days (the replenishment policy, each PO offer, the approval guard).

    Attributes:
        index: The series (one row of the arrays each).
        keys: The id columns of ``index``.
        cum_mu: ``(series, horizon + 1)``: column d holds the mean summed over days 1..d
            (a missing day or value counts as 0).
        cum_var: The same for the daily variance.
        last_day: Per series, its last forecast day.
        mean_mu: Per series, its mean day (over the values present), carried past ``last_day``.
        mean_var: The same for the variance.
    """

    index: pd.MultiIndex
    keys: list[str]
    cum_mu: np.ndarray
    cum_var: np.ndarray
    last_day: np.ndarray
    mean_mu: np.ndarray
    mean_var: np.ndarray

    @property
    def horizon(self) -> int:
        """The last forecast day of any series."""
        return self.cum_mu.shape[1] - 1

    def rows(self, keys: pd.MultiIndex | pd.DataFrame) -> np.ndarray:
        """Each key's row in the arrays (-1 for a series without forecast)."""
        keys = pd.MultiIndex.from_frame(keys[self.keys]) if isinstance(keys, pd.DataFrame) else keys
        return self.index.get_indexer(keys)

    def over_first(self, rows: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance summed over each series' first ``days`` forecast days.

        Past a series' last forecast day its mean day is carried forward; a row of -1 gets NaN.
        """
        found = rows >= 0
        at, days = np.where(found, rows, 0), np.asarray(days)
        inside = np.minimum(days, self.last_day[at])
        beyond = days - inside
        mu = self.cum_mu[at, inside] + beyond * self.mean_mu[at]
        var = self.cum_var[at, inside] + beyond * self.mean_var[at]
        return np.where(found, mu, np.nan), np.where(found, var, np.nan)


def forecast_cumsums(
    forecast: pd.DataFrame, *, as_of: pd.Timestamp, id_cols: tuple[str, str] = ("store_id", "item_id"),
    time_col: str = "date",
) -> ForecastSums:
    """Per series cumulative forecast mean and variance by day ahead (see :class:`ForecastSums`).

    Args:
        forecast: ``forecast`` table (ids, ``time_col``, ``yhat`` and the spread columns of
            :func:`forecast_variance`).
        as_of: decision date; forecast day 1 is ``as_of + 1``.
    """
    keys, as_of = list(id_cols), pd.Timestamp(as_of)
    spread = [c for c in SPREAD_COLUMNS if c in forecast]
    f = forecast[keys + [time_col, "yhat", *spread]].copy()
    f["step"] = (f[time_col] - as_of).dt.days.to_numpy()
    if (f["step"] < 1).any():
        raise ValueError(f"forecast has {(f['step'] < 1).sum()} rows on or before as_of {as_of:%Y-%m-%d}")
    f["var"] = forecast_variance(f)
    grid = _step_grid(f, keys)
    if grid is not None:
        index, h = grid
        mu, var = (f[c].to_numpy(dtype=np.float64).reshape(-1, h) for c in ("yhat", "var"))
        last_day = np.full(len(index), h)
    else:
        index, mu, var, last_day = _scatter_by_step(f, keys)
    zero = np.zeros((len(mu), 1))
    with np.errstate(invalid="ignore"):  # a series whose values are all missing: NaN mean
        mean_mu, mean_var = np.nanmean(mu, axis=1), np.nanmean(var, axis=1)
    return ForecastSums(
        index=index, keys=keys, last_day=last_day, mean_mu=mean_mu, mean_var=mean_var,
        cum_mu=np.concatenate([zero, np.nancumsum(mu, axis=1)], axis=1),
        cum_var=np.concatenate([zero, np.nancumsum(var, axis=1)], axis=1),
    )


def _step_grid(f: pd.DataFrame, keys: list[str]) -> tuple[pd.MultiIndex, int] | None:
    """The series index and horizon when every series' rows are its steps 1..h in order, one
    block after another (the forecast table's layout): its values then reshape to the
    (series, day) grid without grouping 10^6 rows. None for any other layout."""
    step = f["step"].to_numpy()
    if not len(step) or step[0] != 1:
        return None
    h = int(step.max())
    if len(step) % h or not np.array_equal(step, np.tile(np.arange(1, h + 1), len(step) // h)):
        return None
    blocks = [f[c].to_numpy().reshape(-1, h) for c in keys]
    if not all((b == b[:, :1]).all() for b in blocks):
        return None
    index = pd.MultiIndex.from_arrays([b[:, 0] for b in blocks], names=keys)
    return (index, h) if index.is_unique else None


def _scatter_by_step(f: pd.DataFrame, keys: list[str]) -> tuple[pd.MultiIndex, np.ndarray, np.ndarray, np.ndarray]:
    """Series index, ``(series, horizon)`` grids of mean and variance (NaN where a day has no
    value; rows of the same series and day summed) and each series' last day, for rows in any
    order."""
    codes, index = pd.MultiIndex.from_frame(f[keys]).factorize()
    index = index.set_names(keys)
    step = f["step"].to_numpy(dtype=np.int64)
    h = int(step.max()) if len(step) else 0
    cells = codes * h + step - 1
    grids = []
    for col in ("yhat", "var"):
        values = f[col].to_numpy(dtype=np.float64)
        present = ~np.isnan(values)
        total = np.bincount(cells[present], weights=values[present], minlength=len(index) * h)
        counted = np.bincount(cells[present], minlength=len(index) * h)
        grids.append(np.where(counted > 0, total, np.nan).reshape(len(index), h))
    last_day = np.zeros(len(index), dtype=np.int64)
    np.maximum.at(last_day, codes, step)
    return index, grids[0], grids[1], last_day


def offer_needs(pairs: pd.DataFrame, cums: ForecastSums) -> pd.Series:
    """Units to order from each candidate offer: its own order-up-to level minus the position.

    The same (R, S) rule as :func:`replenishment_proposals`, evaluated with each offer's lead time
    and lead-time spread, so a fast supplier is asked for less than a slow one.

    Args:
        pairs: store x item x offer rows with ``position, lead_time_days, lead_time_std_days,
            review_days, service_level``.
        cums: :func:`forecast_cumsums` of the ``forecast`` table.

    Returns:
        Units (may be <= 0 when the position already covers that offer's protection period).
    """
    row = cums.rows(pairs)
    if (row < 0).any():
        raise ValueError(f"{int((row < 0).sum())} offer rows have no forecast")
    protect = (pairs["lead_time_days"] + pairs["review_days"]).to_numpy(dtype=int)
    m_p, v_p = cums.over_first(row, protect)
    daily = m_p / np.maximum(protect, 1)
    z = norm.ppf(pairs["service_level"].to_numpy(dtype=float))
    sigma = np.sqrt(v_p + daily**2 * pairs["lead_time_std_days"].fillna(0).to_numpy(dtype=float) ** 2)
    level = np.ceil(m_p + np.ceil(z * sigma))
    return pd.Series(level - pairs["position"].to_numpy(dtype=float), index=pairs.index)
