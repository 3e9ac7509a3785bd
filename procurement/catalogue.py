"""Deterministic, **synthetic** demo supplier base, catalogue and starting inventory.

No public data gives Walmart's suppliers or on-hand stock, so both are generated from a fixed
seed and calibrated to real data. The suppliers are fictitious ("Supplier A" ... in
``reference/demo_suppliers.csv``): regional distributors that deliver by road and importers that
ship by sea and then by road from the port. Each is calibrated on one real USAID SCMS lane
(vendor x freight mode, scored in ``supplier_scores``), named in ``calibrated_on_lane``:

* lead times keep the lane's real median, 90th percentile and spread, divided by
  ``LEAD_TIME_COMPRESSION`` from international pharmaceutical procurement (months) to retail
  replenishment (days); the lane's real on-time rate and late-delivery risk come with it;
* unit cost is the item's real M5 shelf price times a wholesale share, scaled by the lane's real
  cost index (its prices against the median price of the same product);
* freight is a share of the unit cost from published figures (road: transportation as a share of
  sales; sea: international transport cost as a share of import value, plus the road leg from the
  port); carbon is the repository's road and sea emission factors times the legs' distances.

Road lanes take the best-evidenced lanes (most shipment lines) that are not sea lanes, nearest
supplier on the fastest of them; importers take the best-evidenced sea lanes. Every figure and
its source is in ``reference/README.md``. Every row carries ``synthetic = True`` and a
``provenance`` note.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from procurement.distance import country_centroid, destination_centroid, great_circle_km

__all__ = [
    "synthetic_catalogue", "synthetic_inventory", "with_lane_scores", "demo_suppliers", "demo_parameters",
    "assign_lanes", "LEAD_TIME_COMPRESSION", "DEMO_SUPPLIERS_CSV", "FREIGHT_PARAMETERS_CSV",
]

_REFERENCE = Path(__file__).with_name("reference")
DEMO_SUPPLIERS_CSV = _REFERENCE / "demo_suppliers.csv"
FREIGHT_PARAMETERS_CSV = _REFERENCE / "freight_parameters.csv"


@lru_cache(maxsize=1)
def demo_parameters() -> dict[str, float]:
    """The figures of ``reference/freight_parameters.csv`` by name (sources in its README)."""
    table = pd.read_csv(FREIGHT_PARAMETERS_CSV, comment="#")
    return dict(zip(table["parameter"], table["value"].astype(float), strict=True))


def demo_suppliers(path: Path = DEMO_SUPPLIERS_CSV) -> pd.DataFrame:
    """The fictitious supplier base (``reference/demo_suppliers.csv``)."""
    base = pd.read_csv(path, comment="#", keep_default_na=False, dtype={"sea_origin": str})
    base["fallback"] = base["fallback"].astype(str).str.lower() == "true"
    return base


LEAD_TIME_COMPRESSION = demo_parameters()["lead_time_compression"]
# plausible unit weights (kg) by M5 category, low and high bounds (assumption; carbon only)
_UNIT_KG = {"FOODS": (0.2, 1.5), "HOUSEHOLD": (0.3, 3.0), "HOBBIES": (0.1, 2.0)}
_PACK_SIZES = np.array([1, 2, 4, 6, 12, 24])
_LANE_COLS = ["supplier_id", "vendor", "mode", "n_lines", "late_rate", "lead_time_p50", "lead_time_p90",
              "lead_time_std", "cost_index"]


def _stable_hash(values: pd.Series, seed: int) -> np.ndarray:
    """Per-key uniform numbers in [0, 1) that do not depend on row order or on other keys."""
    h = pd.util.hash_pandas_object(values.astype(str), index=False, hash_key=f"{seed:016d}"[-16:])
    return (h.to_numpy() % 1_000_003) / 1_000_003


def with_lane_scores(catalogue: pd.DataFrame, scores: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Catalogue offers joined with the ``supplier_scores`` of the lane each offer stands on.

    A synthetic offer names its real lane in ``calibrated_on_lane``; an offer of a real catalogue
    (no such column) is its own lane (``supplier_id``). Figures the catalogue holds itself (the
    demo supplier's own kg CO2e per kg, say) win over the lane's.

    Args:
        catalogue: ``supplier_catalogue`` offers.
        scores: ``supplier_scores``.
        columns: score columns wanted (``supplier_id`` is the join key and is not taken).

    Returns:
        The offers that have a scored lane, in catalogue order, with the wanted columns.
    """
    lane = catalogue["calibrated_on_lane"] if "calibrated_on_lane" in catalogue else catalogue["supplier_id"]
    wanted = [c for c in columns if c != "supplier_id" and c not in catalogue]
    lanes = scores[["supplier_id", *wanted]].rename(columns={"supplier_id": "_lane"})
    return catalogue.assign(_lane=lane.to_numpy()).merge(lanes, on="_lane").drop(columns="_lane")


def assign_lanes(base: pd.DataFrame, lanes: pd.DataFrame, *, compression: float = LEAD_TIME_COMPRESSION) -> pd.DataFrame:
    """The real lane each demo supplier is calibrated on.

    Importers (``mode == 'sea'``) take sea lanes, road suppliers the other lanes; in each pool the
    lanes with the most shipment lines (the best-evidenced lead-time distributions) are used, and
    among those the fastest goes to the nearest supplier. A lane whose median lead time is under
    ``compression`` days would round to less than a day and is not used. When a pool runs short
    the other pool's unused lanes fill in, then lanes are reused.

    Args:
        base: :func:`demo_suppliers` rows.
        lanes: ``supplier_scores`` (supplier_id, mode, n_lines, lead_time_p50, ...).
        compression: lead-time divisor (see ``LEAD_TIME_COMPRESSION``).

    Returns:
        ``base`` with ``calibrated_on_lane`` and the lane's statistics (``lane_*`` columns).
    """
    usable = lanes[lanes["lead_time_p50"] >= compression].sort_values(["n_lines", "supplier_id"],
                                                                       ascending=[False, True])
    if usable.empty:
        raise ValueError(f"no supplier lane has a median lead time of at least {compression:g} days "
                         f"({len(lanes)} lanes in supplier_scores)")
    pools = {"sea": usable[usable["mode"] == "sea"], "road": usable[usable["mode"] != "sea"]}
    taken: list[str] = []
    parts = []
    for kind in ("road", "sea"):
        slots = base[(base["mode"] == "sea") == (kind == "sea")].sort_values(["road_km", "supplier_id"])
        if slots.empty:
            continue
        other = pools["road" if kind == "sea" else "sea"]
        order = pd.concat([pools[kind], other[~other["supplier_id"].isin(taken)]])
        order = order[~order["supplier_id"].isin(taken)]
        if len(order) < len(slots):  # too few lanes: reuse them, best-evidenced first
            order = pd.concat([order, usable] * (len(slots) // max(len(usable), 1) + 1))
        chosen = order.head(len(slots)).sort_values(["lead_time_p50", "supplier_id"])
        taken += chosen["supplier_id"].tolist()
        parts.append(slots.assign(calibrated_on_lane=chosen["supplier_id"].to_numpy()))
    out = pd.concat(parts).sort_values("supplier_id").reset_index(drop=True)
    stats = lanes[[c for c in _LANE_COLS if c in lanes]].rename(
        columns={c: f"lane_{c}" for c in _LANE_COLS if c != "supplier_id"})
    return out.merge(stats.rename(columns={"supplier_id": "calibrated_on_lane"}), on="calibrated_on_lane", how="left")


def _leg_distances(base: pd.DataFrame) -> pd.DataFrame:
    """Road km (as listed) and sea km (great circle, origin country's city centroid -> the M5 stores)."""
    dest = destination_centroid()
    sea_km = pd.Series(0.0, index=base.index)
    for iso in sorted(set(base["sea_origin"]) - {""}):
        lat, lon = country_centroid(iso)
        sea_km[base["sea_origin"] == iso] = float(great_circle_km(np.array([lat]), np.array([lon]), *dest)[0])
    return base.assign(road_km=base["road_km"].astype(float), sea_km=sea_km.round(0))


def _offers_by_category(items: pd.DataFrame, base: pd.DataFrame, cat_col: str) -> pd.DataFrame:
    """Item x demo supplier pairs: suppliers listing the item's category, else the fallback ones."""
    listed = base.assign(**{cat_col: base["categories"].str.split(";")}).explode(cat_col)
    listed = listed[listed[cat_col] != ""]
    cats = items[cat_col].astype(str)
    known = cats.isin(set(listed[cat_col]))
    by_cat = items[known].assign(**{cat_col: cats[known]}).merge(listed[[cat_col, "supplier_id"]], on=cat_col)
    fallback = items[~known].merge(base.loc[base["fallback"], ["supplier_id"]], how="cross")
    return pd.concat([by_cat, fallback], ignore_index=True)


def synthetic_catalogue(
    items: pd.DataFrame,
    suppliers: pd.DataFrame,
    *,
    base: pd.DataFrame | None = None,
    seed: int = 42,
    item_col: str = "item_id",
    dept_col: str = "dept_id",
    cat_col: str = "cat_id",
    price_col: str = "sell_price",
    weekly_col: str = "weekly_units",
) -> pd.DataFrame:
    """Offers (demo supplier x item) with cost, freight, pack size, MOQ, lead time, carbon and capacity.

    Args:
        items: one row per item with department, category, a real shelf price and (optional)
            ``weekly_col``, its real mean weekly unit sales over all stores, to size capacity.
        suppliers: ``supplier_scores`` (supplier_id, vendor, mode, n_lines, late_rate,
            lead_time_p50, lead_time_p90, lead_time_std, cost_index, ...): the real lanes.
        base: the demo supplier base; default :func:`demo_suppliers`.
        seed: makes the catalogue reproducible.

    Returns:
        One row per offer; ``synthetic`` is always True and ``calibrated_on_lane`` names the real
        lane behind the offer's lead times, on-time rate and cost index.
    """
    if items.empty or suppliers.empty:
        raise ValueError("synthetic_catalogue needs at least one item and one supplier lane")
    params = demo_parameters()
    demo = _leg_distances(assign_lanes(demo_suppliers() if base is None else base, suppliers))
    item_cols = [item_col, dept_col, cat_col, price_col] + ([weekly_col] if weekly_col in items else [])
    offers = _offers_by_category(items[item_cols], demo, cat_col).merge(
        demo.drop(columns=["categories", "fallback"]), on="supplier_id")
    key = offers["supplier_id"] + "|" + offers[item_col]
    u1, u2, u3, u4, u5 = (_stable_hash(key, seed + s) for s in (1, 2, 3, 4, 5))
    u_item = _stable_hash(offers[item_col], seed)

    price = offers[price_col].fillna(offers.groupby(dept_col)[price_col].transform("median")).fillna(1.0)
    cost_index = offers["lane_cost_index"].fillna(1.0).clip(0.8, 1.25)
    offers["unit_cost"] = (price * params["wholesale_share"] * cost_index * (0.95 + 0.1 * u1)).round(2)
    lo = offers[cat_col].map(lambda c: _UNIT_KG.get(c, (0.2, 2.0))[0])
    hi = offers[cat_col].map(lambda c: _UNIT_KG.get(c, (0.2, 2.0))[1])
    offers["unit_weight_kg"] = (lo + (hi - lo) * u_item).round(3)
    offers["pack_size"] = _PACK_SIZES[(u2 * len(_PACK_SIZES)).astype(int)]
    offers["moq"] = offers["pack_size"] * (1 + (u3 * 4).astype(int))

    compression = LEAD_TIME_COMPRESSION
    offers["lead_time_days"] = np.maximum(1, np.round(offers["lane_lead_time_p50"] / compression)).astype(int)
    offers["lead_time_std_days"] = (offers["lane_lead_time_std"] / compression).round(2)
    offers["lead_time_p90_days"] = (offers["lane_lead_time_p90"] / compression).round(2)
    offers["on_time_rate"] = (1 - offers["lane_late_rate"]).round(4)

    # freight: a road share around the published average for every supplier (its DC, or the port,
    # to the stores), plus for importers an ocean share inside the published range
    spread = params["road_share_spread"]
    road_share = params["road_freight_share"] * (1 - spread + 2 * spread * u4)
    sea = offers["mode"] == "sea"
    sea_share = params["sea_freight_share_low"] + (params["sea_freight_share_high"] - params["sea_freight_share_low"]) * u5
    offers["freight_share"] = (road_share + np.where(sea, sea_share, 0.0)).round(4)
    offers["freight_per_unit"] = (offers["unit_cost"] * offers["freight_share"]).round(4)
    offers["freight_usd_per_kg"] = (offers["freight_per_unit"] / offers["unit_weight_kg"]).round(4)
    offers["distance_km"] = offers["road_km"] + offers["sea_km"]
    offers["kg_co2e_per_kg"] = ((params["road_g_co2e_per_tonne_km"] * offers["road_km"]
                                 + params["sea_g_co2e_per_tonne_km"] * offers["sea_km"]) * 1e-6).round(6)
    if weekly_col in offers:
        # calibrated to the item's real weekly sales over all stores: a supplier can carry 1.5x-4x of
        # them (an order covers lead time + review + safety stock), so some offers bind and needs get split
        weekly = offers[weekly_col].fillna(0).clip(lower=1)
        offers["capacity_units_per_week"] = np.maximum(offers["moq"], np.ceil(weekly * (1.5 + 2.5 * u1))).astype(int)
    else:
        offers["capacity_units_per_week"] = (offers["moq"] * (20 + (u1 * 80).astype(int))).astype(int)
    offers["origin"] = np.where(
        sea, offers["sea_origin"] + " by sea (" + offers["sea_km"].map("{:,.0f}".format) + " km) + "
        + offers["road_km"].map("{:,.0f}".format) + " km by road from the port",
        offers["road_km"].map("{:,.0f}".format) + " km by road from its DC")
    offers["synthetic"] = True
    offers["provenance"] = (
        "SYNTHETIC demo supplier (fictitious); lead times and on-time rate of the real USAID lane "
        + offers["calibrated_on_lane"] + f" (days = lane days / {compression:g}); unit cost = real M5 price x "
        f"{params['wholesale_share']:g} x lane cost index; freight share from published figures "
        f"(reference/README.md); seed {seed}"
    )
    cols = [
        "supplier_id", "supplier_name", "role", "mode", "origin", "distance_km", "calibrated_on_lane", item_col,
        dept_col, cat_col, "unit_cost", "unit_weight_kg", "pack_size", "moq", "lead_time_days", "lead_time_std_days",
        "lead_time_p90_days", "on_time_rate", "freight_share", "freight_per_unit", "freight_usd_per_kg",
        "kg_co2e_per_kg", "capacity_units_per_week", "synthetic", "provenance",
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
