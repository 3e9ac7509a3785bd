"""Deterministic, **synthetic** supplier catalogue and starting inventory.

No public data gives Walmart's suppliers or on-hand stock, so both are generated from a fixed
seed and calibrated to real data:

* each department is offered by several real USAID vendor lanes (scored in ``supplier_scores``);
* lead times keep each lane's real median and spread, compressed by ``LEAD_TIME_COMPRESSION``
  from international pharmaceutical procurement (months) to retail replenishment (days); the
  ranking of lanes and their coefficient of variation are unchanged;
* freight per kg is the lane's real figure; unit cost is the item's real M5 shelf price times a
  wholesale share, scaled by the vendor's real cost index;
* on-hand stock is a seeded number of days of the item's real mean daily sales; stock on order
  is the steady-state pipeline of the item's preferred lane (mean daily sales x lead time).

Every row carries ``synthetic = True`` and a ``provenance`` note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["synthetic_catalogue", "synthetic_inventory", "LEAD_TIME_COMPRESSION"]

LEAD_TIME_COMPRESSION = 14.0
_WHOLESALE_SHARE = 0.6
# plausible unit weights (kg) by M5 category, low and high bounds
_UNIT_KG = {"FOODS": (0.2, 1.5), "HOUSEHOLD": (0.3, 3.0), "HOBBIES": (0.1, 2.0)}
_PACK_SIZES = np.array([1, 2, 4, 6, 12, 24])


def _stable_hash(values: pd.Series, seed: int) -> np.ndarray:
    """Per-key uniform numbers in [0, 1) that do not depend on row order or on other keys."""
    h = pd.util.hash_pandas_object(values.astype(str), index=False, hash_key=f"{seed:016d}"[-16:])
    return (h.to_numpy() % 1_000_003) / 1_000_003


def synthetic_catalogue(
    items: pd.DataFrame,
    suppliers: pd.DataFrame,
    *,
    offers_per_item: int = 3,
    seed: int = 42,
    item_col: str = "item_id",
    dept_col: str = "dept_id",
    cat_col: str = "cat_id",
    price_col: str = "sell_price",
    weekly_col: str = "weekly_units",
) -> pd.DataFrame:
    """Offers (supplier x item) with cost, pack size, MOQ, lead time, weight and capacity.

    Args:
        items: one row per item with department, category, a real shelf price and (optional)
            ``weekly_col``, its real mean weekly unit sales over all stores, to size capacity.
        suppliers: ``supplier_scores`` (supplier_id, mode, lead_time_p50, lead_time_std,
            cost_index, freight_usd_per_kg, ...).
        offers_per_item: number of supplier lanes offering each department.
        seed: makes the catalogue reproducible.

    Returns:
        One row per offer; ``synthetic`` is always True.
    """
    if items.empty or suppliers.empty:
        raise ValueError("synthetic_catalogue needs at least one item and one supplier")
    lanes = suppliers.sort_values("supplier_id").reset_index(drop=True)
    depts = np.sort(items[dept_col].unique())
    by_mode = {m: g["supplier_id"].tolist() for m, g in lanes.groupby("mode")}
    modes = sorted(by_mode)
    # department i takes one lane per freight mode (rotating within each mode), so every
    # department can choose between fast-and-dear and slow-and-cheap supply
    rows = [
        (d, by_mode[modes[j % len(modes)]][(i + j // len(modes)) % len(by_mode[modes[j % len(modes)]])])
        for i, d in enumerate(depts)
        for j in range(offers_per_item)
    ]
    dept_lanes = pd.DataFrame(rows, columns=[dept_col, "supplier_id"]).drop_duplicates()
    item_cols = [item_col, dept_col, cat_col, price_col] + ([weekly_col] if weekly_col in items else [])
    offers = items[item_cols].merge(dept_lanes, on=dept_col).merge(
        lanes[["supplier_id", "vendor", "mode", "lead_time_p50", "lead_time_std", "cost_index", "freight_usd_per_kg"]],
        on="supplier_id",
    )
    key = offers["supplier_id"] + "|" + offers[item_col]
    u1, u2, u3 = (_stable_hash(key, seed + s) for s in (1, 2, 3))
    u_item = _stable_hash(offers[item_col], seed)

    price = offers[price_col].fillna(offers.groupby(dept_col)[price_col].transform("median")).fillna(1.0)
    cost_index = offers["cost_index"].clip(0.8, 1.25)
    offers["unit_cost"] = (price * _WHOLESALE_SHARE * cost_index * (0.95 + 0.1 * u1)).round(2)
    lo = offers[cat_col].map(lambda c: _UNIT_KG.get(c, (0.2, 2.0))[0])
    hi = offers[cat_col].map(lambda c: _UNIT_KG.get(c, (0.2, 2.0))[1])
    offers["unit_weight_kg"] = (lo + (hi - lo) * u_item).round(3)
    offers["pack_size"] = _PACK_SIZES[(u2 * len(_PACK_SIZES)).astype(int)]
    offers["moq"] = offers["pack_size"] * (1 + (u3 * 4).astype(int))
    offers["lead_time_days"] = np.maximum(1, np.round(offers["lead_time_p50"] / LEAD_TIME_COMPRESSION)).astype(int)
    offers["lead_time_std_days"] = (offers["lead_time_std"] / LEAD_TIME_COMPRESSION).round(2)
    if weekly_col in offers:
        # calibrated to the item's real weekly sales over all stores: a lane can carry 1.5x-4x of
        # them (an order covers lead time + review + safety stock), so some lanes bind and needs get split
        weekly = offers[weekly_col].fillna(0).clip(lower=1)
        offers["capacity_units_per_week"] = np.maximum(offers["moq"], np.ceil(weekly * (1.5 + 2.5 * u1))).astype(int)
    else:
        offers["capacity_units_per_week"] = (offers["moq"] * (20 + (u1 * 80).astype(int))).astype(int)
    offers["synthetic"] = True
    offers["provenance"] = (
        "SYNTHETIC offer: lane stats from real USAID shipments (lead time /"
        f" {LEAD_TIME_COMPRESSION:g}, freight per kg as measured), cost from real M5 price x"
        f" {_WHOLESALE_SHARE} x vendor cost index; seed {seed}"
    )
    cols = [
        "supplier_id", "vendor", "mode", item_col, dept_col, cat_col, "unit_cost", "unit_weight_kg", "pack_size",
        "moq", "lead_time_days", "lead_time_std_days", "freight_usd_per_kg", "capacity_units_per_week",
        "synthetic", "provenance",
    ]
    return offers[cols].sort_values(["supplier_id", item_col]).reset_index(drop=True)


def synthetic_inventory(
    demand: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    seed: int = 42,
    lead_times: pd.DataFrame | None = None,
    id_cols: tuple[str, str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
    min_days: float = 2.0,
    max_days: float = 12.0,
) -> pd.DataFrame:
    """Starting stock per store x item: a seeded ``min_days``..``max_days`` of cover on hand and,
    with ``lead_times``, the pipeline stock of a store that has been replenishing in steady state.

    Cover is measured in the item's real mean daily sales up to ``as_of``. On hand, 2-12 days
    (7 on average) is the cycle stock of a 7-day review (3.5 days on average) plus a few days of
    safety stock. On order: a store that has been ordering every review from a lane with lead
    time L holds, by Little's law, L days of demand in its pipeline (``on_order = mean daily x L``,
    arriving over the next L days). Without it a store whose cover is shorter than its lead time
    would run dry before anything it orders can land, which no replenished store does; the
    pipeline is set from the real lead time of the item's preferred lane (``lead_times``), never
    from what happens after ``as_of``.

    Args:
        demand: real daily demand (``id_cols``, ``time_col``, ``target_col``).
        as_of: last day of history used.
        seed: seed of the days of cover.
        lead_times: per item (``id_cols[1]``): ``lead_time_days`` of its preferred offer; None =
            nothing on order (the pre-issue-6 start, kept for callers without a catalogue).
        min_days: fewest days of cover on hand.
        max_days: most days of cover on hand.

    Returns:
        ``store_id, item_id, mean_daily_units, days_of_cover, on_hand, on_order, pipeline_days,
        as_of, synthetic, provenance``.
    """
    hist = demand[demand[time_col] <= as_of]
    mean_daily = hist.groupby(list(id_cols), observed=True)[target_col].mean().rename("mean_daily_units").reset_index()
    key = mean_daily[id_cols[0]].astype(str) + "|" + mean_daily[id_cols[1]].astype(str)
    days = min_days + (max_days - min_days) * _stable_hash(key, seed)
    mean_daily["days_of_cover"] = days.round(1)
    mean_daily["on_hand"] = np.round(mean_daily["mean_daily_units"] * days).astype(int)
    if lead_times is None:
        mean_daily["pipeline_days"] = 0
    else:
        lead = lead_times.drop_duplicates(id_cols[1]).set_index(id_cols[1])["lead_time_days"]
        mean_daily["pipeline_days"] = mean_daily[id_cols[1]].map(lead).fillna(0).astype(int)
    mean_daily["on_order"] = np.round(mean_daily["mean_daily_units"] * mean_daily["pipeline_days"]).astype(int)
    mean_daily["as_of"] = pd.Timestamp(as_of)
    mean_daily["synthetic"] = True
    mean_daily["provenance"] = (
        f"SYNTHETIC: seeded {min_days:g}-{max_days:g} days of cover of real mean daily sales on hand; on order the "
        f"steady-state pipeline, real mean daily sales x the preferred lane's lead time; seed {seed}"
    )
    return mean_daily
