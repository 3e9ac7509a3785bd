"""Periodic-review (R, s, S) order-up-to policy driven by forecast quantiles.

Every R days the inventory position is compared with the reorder point s; at or below it, an
order raises the position to the order-up-to level S.

Protection period P = lead time L + review period R. With daily forecast mean mu_t and a daily
spread sigma_t read off the quantiles ((q90 - q50) / z_0.90), demand over P has mean sum(mu_t)
and, assuming independent days and lead-time spread sigma_L, standard deviation
sqrt(sum(sigma_t^2) + mean_daily^2 * sigma_L^2). Safety stock is z_service times that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = ["replenishment_proposals"]

_Z90 = float(norm.ppf(0.9))


def _period_sums(forecast: pd.DataFrame, days: pd.Series, keys: list[str], col: str) -> pd.Series:
    """Sum of ``col`` over each series' first ``days`` forecast days.

    Beyond the forecast horizon the series' mean daily value is carried forward.
    """
    f = forecast[keys + ["step", col]].merge(days.rename("_days").reset_index(), on=keys)
    inside = f[f["step"] <= f["_days"]].groupby(keys, observed=True)[col].sum()
    horizon = f.groupby(keys, observed=True)["step"].max()
    mean = f.groupby(keys, observed=True)[col].mean()
    extra = (days - horizon).clip(lower=0) * mean
    return inside.reindex(days.index, fill_value=0.0) + extra.reindex(days.index, fill_value=0.0)


def replenishment_proposals(
    forecast: pd.DataFrame,
    inventory: pd.DataFrame,
    lead_times: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    review_days: int = 7,
    service_level: float = 0.95,
    id_cols: tuple[str, str] = ("store_id", "item_id"),
    time_col: str = "date",
) -> pd.DataFrame:
    """Order quantities per store x item.

    Args:
        forecast: ``forecast`` table (store_id, item_id, date, yhat, yhat_q50, yhat_q90).
        inventory: on_hand and on_order per store x item.
        lead_times: per item: ``lead_time_days`` and ``lead_time_std_days`` of its preferred supplier.
        as_of: decision date; forecast day 1 is ``as_of + 1``.
        review_days: review period R in days.
        service_level: cycle service level used for the safety factor.

    Returns:
        CONTRACTS §3 columns plus the inputs behind them.
    """
    if not 0.5 <= service_level < 1:
        raise ValueError(f"service_level must be in [0.5, 1), got {service_level}")
    keys = list(id_cols)
    f = forecast[keys + [time_col, "yhat", "yhat_q50", "yhat_q90"]].copy()
    f["step"] = (f[time_col] - pd.Timestamp(as_of)).dt.days
    if (f["step"] < 1).any():
        raise ValueError(f"forecast has {(f['step'] < 1).sum()} rows on or before as_of {as_of:%Y-%m-%d}")
    f["var"] = ((f["yhat_q90"] - f["yhat_q50"]).clip(lower=0) / _Z90) ** 2

    base = inventory[keys + ["on_hand", "on_order"]].merge(
        lead_times[[id_cols[1], "supplier_id", "lead_time_days", "lead_time_std_days"]], on=id_cols[1], how="left"
    )
    missing = base["lead_time_days"].isna()
    if missing.any():
        raise ValueError(f"{int(missing.sum())} store x item rows have no supplier lead time")
    base = base.set_index(keys)
    lead = base["lead_time_days"].astype(int)
    protect = lead + review_days

    mu_lead = _period_sums(f, lead, keys, "yhat")
    mu_protect = _period_sums(f, protect, keys, "yhat")
    var_protect = _period_sums(f, protect, keys, "var")
    mean_daily = mu_protect / protect
    sigma = np.sqrt(var_protect + mean_daily**2 * base["lead_time_std_days"].fillna(0) ** 2)
    z = float(norm.ppf(service_level))

    out = base.copy()
    out["as_of"] = pd.Timestamp(as_of)
    out["review_days"] = review_days
    out["service_level"] = service_level
    out["demand_lead_time"] = mu_lead.round(2)
    out["demand_protection"] = mu_protect.round(2)
    out["sigma_protection"] = sigma.round(3)
    out["safety_stock"] = np.ceil(z * sigma).astype(int)
    out["reorder_point"] = np.ceil(mu_lead + out["safety_stock"]).astype(int)
    out["order_up_to"] = np.ceil(mu_protect + out["safety_stock"]).astype(int)
    position = out["on_hand"] + out["on_order"]
    out["order_qty"] = np.where(position <= out["reorder_point"], (out["order_up_to"] - position).clip(lower=0), 0)
    out["order_qty"] = out["order_qty"].astype(int)
    cols = [
        "as_of", "on_hand", "on_order", "safety_stock", "reorder_point", "order_up_to", "order_qty", "supplier_id",
        "lead_time_days", "lead_time_std_days", "review_days", "service_level", "demand_lead_time",
        "demand_protection", "sigma_protection",
    ]
    return out[cols].reset_index()
