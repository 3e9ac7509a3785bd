"""Purchase-order proposals from the MILP allocation: explained lines, approvals, substitutions.

Each store x item need (``order_qty`` of the replenishment proposals) is split across supplier
offers by :func:`procurement.allocation.allocate`. Every PO line then says in sentences a buyer
reads (:mod:`procurement.reasons`) why its supplier won and why a cheaper one lost (the numbers
stay in their own columns; ``explanation`` keeps the objective's formula), whether its PO needs a buyer
(:mod:`procurement.approval`: value tiers, supplier risk, substitutions, quantity anomalies) and, where the preferred supplier (lowest
``total_score``) could not serve, which alternative was used and why. Needs left short get a
substitute item from the same department at a similar price where a supplier has capacity left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from procurement.allocation import SolverSummary, allocate
from procurement.approval import DEFAULT_POLICY, ApprovalPolicy, assess_purchase_orders, demand_references, po_versions
from procurement.catalogue import with_lane_scores
from procurement.landed_cost import DEFAULT_COSTS, CostParams, landed_costs
from procurement.orders import po_ids
from procurement.policy import forecast_cumsums, offer_needs
from procurement.reasons import line_alternatives, line_reasons, rejection_reasons

__all__ = ["ProposalResult", "propose_purchase_orders", "priced_offers"]

_SCORE_COLS = ["supplier_id", "total_score", "risk_score", "cost_score", "carbon_score", "kg_co2e_per_kg", "p_late",
               "delay_days_p50_if_late"]


@dataclass
class ProposalResult:
    lines: pd.DataFrame
    substitutions: pd.DataFrame
    info: dict[str, float | str] = field(default_factory=dict)
    solver: SolverSummary | None = None


def priced_offers(catalogue: pd.DataFrame, scores: pd.DataFrame, params: CostParams) -> pd.DataFrame:
    """Catalogue offers with their lane's supplier scores and landed-cost parts."""
    return landed_costs(with_lane_scores(catalogue, scores, _SCORE_COLS), params)


def _needs(replenishment: pd.DataFrame, catalogue: pd.DataFrame, store_col: str, item_col: str) -> pd.DataFrame:
    """Store x item rows the plan orders now, with the need date and what offer_needs requires."""
    need = replenishment[replenishment["order_qty"] > 0].copy()
    protect = (need["lead_time_days"] + need["review_days"]).clip(lower=1)
    mean_daily = (need["demand_protection"] / protect).clip(lower=1e-6)
    position = need["on_hand"] + need["on_order"]
    # the need date is the day the current position would run out at the forecast's mean rate
    need["need_days"] = np.clip(np.floor(position / mean_daily), 1, protect).astype(int)
    need["need_qty"] = need["order_qty"].astype(int)
    dept = catalogue.drop_duplicates(item_col).set_index(item_col)["dept_id"]
    need["dept_id"] = need[item_col].map(dept)
    need["need_id"] = np.arange(len(need))
    need["position"] = position
    cols = ["need_id", store_col, item_col, "dept_id", "as_of", "need_qty", "need_days", "supplier_id", "position",
            "review_days", "service_level"]
    return need[cols].rename(
        columns={"supplier_id": "preferred_supplier"}
    )


def _explain(lines: pd.DataFrame) -> pd.Series:
    f = lambda s: s.round(2).astype(str)  # noqa: E731
    gap = lines["runner_up_objective"].fillna(0) - lines["objective_per_unit"]
    # a runner-up lower per unit lost on the order as a whole: its packs, MOQ, capacity or lead time
    lost_on = np.where(gap < 0, ": lower per unit, dearer for this order after packs, MOQ, capacity or lead time", "")
    runner = np.where(
        lines["runner_up"].notna(),
        "; next best " + lines["runner_up"].fillna("") + " at " + f(lines["runner_up_objective"].fillna(0))
        + " (difference " + f(gap) + lost_on + ")",
        "; only offer",
    )
    return (
        lines["supplier_id"] + " at " + f(lines["objective_per_unit"]) + " USD/unit = landed " + f(lines["landed_cost"])
        + " (price " + f(lines["unit_cost"]) + " + freight " + f(lines["freight_per_unit"]) + " + holding "
        + f(lines["holding_per_unit"]) + " + late stock-out " + f(lines["stockout_per_unit"]) + ") + risk "
        + f(lines["risk_penalty_per_unit"]) + " + carbon " + f(lines["carbon_cost_per_unit"]) + runner
    )


def _substitute_items(short: pd.DataFrame, offers: pd.DataFrame, spare: pd.Series, tolerance: float) -> pd.DataFrame:
    """Same-department item with the nearest unit cost (within ``tolerance``) and spare capacity."""
    avail = offers.assign(spare=offers["offer_key"].map(spare).fillna(offers["capacity_units_per_week"]))
    avail = avail[avail["spare"] > 0].sort_values("unit_cost")
    # an item nobody offers has no price to match a substitute against
    unpriced = short[short["unit_cost"].isna()].assign(substitute_item=pd.NA, substitute_supplier=pd.NA)
    short = short[short["unit_cost"].notna()]
    if short.empty or avail.empty:
        return pd.concat([short.assign(substitute_item=pd.NA, substitute_supplier=pd.NA), unpriced], ignore_index=True)
    left = short.sort_values("unit_cost")
    match = pd.merge_asof(
        left, avail[["dept_id", "unit_cost", "item_id", "supplier_id", "spare"]].rename(
            columns={"item_id": "substitute_item", "supplier_id": "substitute_supplier", "unit_cost": "sub_cost"}
        ).assign(unit_cost=lambda d: d["sub_cost"]).sort_values("unit_cost"),
        on="unit_cost", by="dept_id", direction="nearest",
    )
    ok = (match["substitute_item"] != match["item_id"]) & (
        (match["sub_cost"] - match["unit_cost"]).abs() <= tolerance * match["unit_cost"]
    )
    match.loc[~ok, ["substitute_item", "substitute_supplier"]] = pd.NA
    return pd.concat([match, unpriced], ignore_index=True) if not unpriced.empty else match


def propose_purchase_orders(
    replenishment: pd.DataFrame,
    catalogue: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    forecast: pd.DataFrame | None = None,
    params: CostParams = DEFAULT_COSTS,
    budget: float | None = None,
    history: pd.DataFrame | None = None,
    approval: ApprovalPolicy = DEFAULT_POLICY,
    time_limit: float = 60.0,
    substitute_price_tolerance: float = 0.25,
    store_col: str = "store_id",
    item_col: str = "item_id",
    **allocation: Any,
) -> ProposalResult:
    """PO lines (CONTRACTS §3 columns and more), substitutions and solver figures.

    Args:
        replenishment: ``replenishment_proposals`` (order_qty, safety_stock, demand_protection, ...).
        catalogue: ``supplier_catalogue`` offers.
        scores: ``supplier_scores``.
        forecast: the ``forecast`` table; when given, each offer is asked for the quantity its own
            lead time needs (order-up-to at that lead time minus the position), so a fast
            supplier gets a smaller order than the plan made for the preferred one.
        params: landed-cost and objective parameters (carbon price, risk rate, ...).
        budget: USD of goods all lines may spend (None: no limit).
        history: daily sales (``store_id, item_id, date, units``) of the recent days the
            approval policy's quantity anomaly guard compares with; None = no guard.
        approval: the approval policy (:class:`procurement.approval.ApprovalPolicy`).
        time_limit: MILP time limit in seconds.
        substitute_price_tolerance: a substitute item's unit cost may differ by this share.
        **allocation: further settings of :func:`procurement.allocation.allocate` (``workers``,
            ``needs_per_milp``, ``mip_rel_gap``, ...).

    Returns:
        ``ProposalResult(lines, substitutions, info)``.
    """
    offers = priced_offers(catalogue, scores, params)
    offers["offer_key"] = offers["supplier_id"] + "|" + offers[item_col]
    needs = _needs(replenishment, catalogue, store_col, item_col)
    pair_need_fn = cums = None
    as_of = pd.Timestamp(replenishment["as_of"].iloc[0])
    if forecast is not None:
        cums = forecast_cumsums(forecast, as_of=as_of)
        pair_need_fn = lambda pairs: offer_needs(pairs, cums).clip(lower=1)  # noqa: E731
    result = allocate(needs, offers, budget=budget, time_limit=time_limit, item_col=item_col,
                      pair_need_fn=pair_need_fn, **allocation)
    pairs = needs.merge(offers, on=item_col, suffixes=("", "_offer"))
    lines = result.lines.copy()
    lines["need_qty"] = np.ceil(lines["pair_need"]).astype(int)

    # runner-up: the cheapest other offer of the same item (per unit objective)
    ranked = pairs.sort_values(["need_id", "objective_per_unit", "supplier_id"])
    firsts = ranked.drop_duplicates("need_id").set_index("need_id")
    seconds_ = ranked[ranked.groupby("need_id").cumcount() == 1].set_index("need_id")
    best_other_sup = np.where(lines["supplier_id"] == lines["need_id"].map(firsts["supplier_id"]),
                              lines["need_id"].map(seconds_["supplier_id"]), lines["need_id"].map(firsts["supplier_id"]))
    best_other_obj = np.where(lines["supplier_id"] == lines["need_id"].map(firsts["supplier_id"]),
                              lines["need_id"].map(seconds_["objective_per_unit"]),
                              lines["need_id"].map(firsts["objective_per_unit"]))
    lines["runner_up"] = pd.Series(best_other_sup, index=lines.index).where(lambda s: s.notna(), None)
    lines["runner_up_objective"] = pd.to_numeric(pd.Series(best_other_obj, index=lines.index), errors="coerce")

    lines["ship_to"] = lines[store_col]
    lines["order_date"] = pd.to_datetime(lines["as_of"])
    lines["expected_arrival"] = lines["order_date"] + pd.to_timedelta(lines["lead_time_days"], unit="D")
    weight = lines["qty"] * lines["unit_weight_kg"]
    lines["line_value"] = (lines["qty"] * lines["unit_cost"]).round(2)
    lines["freight_cost"] = (weight * lines["freight_usd_per_kg"]).round(2)
    lines["co2e_kg"] = (lines["qty"] * lines["co2e_kg_per_unit"]).round(3)
    lines["landed_value"] = (lines["qty"] * lines["landed_cost"]).round(2)
    lines["order_value"] = (lines["line_value"] + lines["freight_cost"]).round(2)
    lines["po_id"] = po_ids(lines["supplier_id"], lines["ship_to"], lines["order_date"])
    lines["po_value"] = lines.groupby("po_id")["order_value"].transform("sum").round(2)

    # substitutions: the preferred supplier (best total score) did not get the need
    pref = lines["preferred_supplier"]
    used_cap = lines.groupby("offer_key")["qty"].sum()
    pref_key = pref + "|" + lines[item_col]
    pref_offer = offers.set_index("offer_key")
    pref_cap = pref_key.map(pref_offer["capacity_units_per_week"])
    pref_lead = pref_key.map(pref_offer["lead_time_days"])
    pref_pack = pref_key.map(pref_offer["pack_size"]).fillna(1)
    misses = pref_lead > lines["need_days"]
    full = pref_key.map(used_cap).fillna(0) + pref_pack > pref_cap
    subst = np.select(
        [lines["supplier_id"] == pref, misses, full],
        ["", "preferred " + pref + " lead time " + pref_lead.fillna(0).astype(int).astype(str)
         + " d misses need date in " + lines["need_days"].astype(str) + " d",
         "preferred " + pref + " out of capacity (" + pref_cap.fillna(0).astype(int).astype(str) + " units/week)"],
        "preferred " + pref + " dearer per unit after MOQ/pack rounding, risk and carbon",
    )
    lines["substitution"] = subst
    lines["preferred_issue"] = np.select([lines["supplier_id"] == pref, misses, full], ["", "slower", "full"], "dearer")
    names = offers.drop_duplicates("supplier_id").set_index("supplier_id")
    names = names["supplier_name"] if "supplier_name" in names else pd.Series(names.index, index=names.index)
    lines["preferred_name"] = pref.map(names)

    lines["preferred_landed_cost"] = pref_key.map(pref_offer["landed_cost"])
    # approval per PO with line exceptions (procurement.approval); the reason ends with its verdict
    refs = demand_references(lines, forecast, history, as_of=as_of, review_days=lines["review_days"],
                             policy=approval, cumsums=cums)
    lines = lines.join(assess_purchase_orders(lines, refs, approval))
    gate = lines["approval_reason"]
    started = time.perf_counter()
    lines = lines.join(line_alternatives(lines, pairs, used_cap))
    lines["shelf_empty_date"] = lines["order_date"] + pd.to_timedelta(lines["need_days"], unit="D")
    lines["explanation"] = _explain(lines)
    lines["reason"] = line_reasons(lines, approval=gate)
    reason_seconds = time.perf_counter() - started

    # needs the allocation could not cover: rejected lines with a substitute item where one fits
    short = result.needs[result.needs["shortage"] > 0].merge(
        offers.groupby(item_col, as_index=False)["unit_cost"].min(), on=item_col, how="left"
    )
    spare = offers.set_index("offer_key")["capacity_units_per_week"] - used_cap.reindex(offers["offer_key"]).fillna(0).values
    subs = _substitute_items(short, offers, spare, substitute_price_tolerance)
    rejected = subs.assign(
        supplier_id=subs["preferred_supplier"], qty=subs["shortage"].astype(int), ship_to=subs[store_col],
        order_date=pd.to_datetime(subs["as_of"]), status="rejected", reason=rejection_reasons(subs, names),
        supplier_name=subs["preferred_supplier"].map(names),
    )
    if not rejected.empty:
        rejected["expected_arrival"] = pd.NaT
        rejected["po_id"] = po_ids(rejected["supplier_id"].fillna("none"), rejected["ship_to"], rejected["order_date"])
        rejected["po_id"] = rejected["po_id"].str.replace("PO-", "RJ-", regex=False)
        lines = pd.concat([lines, rejected[[c for c in rejected.columns if c in lines.columns or c in (
            "substitute_item", "substitute_supplier")]]], ignore_index=True)
    lines["line_no"] = lines.sort_values([item_col, "supplier_id"]).groupby("po_id").cumcount().reindex(lines.index) + 1
    lines["po_version"] = po_versions(lines)
    lines["approval_reason"] = lines["approval_reason"].fillna("no feasible offer: nothing to approve")
    lines["line_hold"] = lines["line_hold"].astype("boolean").fillna(False).astype(bool)

    substitutions = pd.concat([
        lines.loc[lines["substitution"].fillna("").str.startswith("preferred") & ~lines["substitution"].fillna("").str.contains("dearer"),
                  [store_col, item_col, "preferred_supplier", "supplier_id", "qty", "substitution"]].rename(
            columns={"supplier_id": "alternative_supplier", "substitution": "reason"}).assign(kind="supplier"),
        subs.loc[subs["substitute_item"].notna(), [store_col, item_col, "preferred_supplier", "substitute_item",
                                                   "substitute_supplier", "shortage"]].rename(
            columns={"substitute_supplier": "alternative_supplier", "shortage": "qty"}).assign(
            kind="item", reason="need not covered by any feasible offer"),
    ], ignore_index=True)

    cols = [
        "po_id", "line_no", "supplier_id", item_col, "ship_to", "qty", "unit_cost", "freight_cost", "co2e_kg",
        "order_date", "expected_arrival", "status", "reason", "need_qty", "need_days", "moq", "pack_size",
        "line_value", "order_value", "po_value", "landed_value", "lead_time_days", "total_score", "risk_score",
        "p_late", "landed_cost", "freight_per_unit", "holding_per_unit", "stockout_per_unit", "risk_penalty_per_unit",
        "carbon_cost_per_unit", "objective_per_unit", "preferred_supplier", "substitution", "runner_up",
        "runner_up_objective", "explanation", "supplier_name", "mode", "shelf_empty_date", "alternative_supplier",
        "alternative_landed_cost", "alternative_lead_time_days", "alternative_issue",
        # approval (procurement.approval): the PO's verdict, line exceptions and what is at stake
        "po_version", "approval_reason", "approval_tier", "line_hold", "line_exception", "justified_qty",
        "anomaly_ratio", "forecast_units", "history_units", "at_stake_usd", "preferred_landed_cost",
    ]
    for c in cols:
        if c not in lines:
            lines[c] = pd.NA
    info = {**result.info, "carbon_price_usd_per_tonne": params.carbon_price_usd_per_tonne,
            "reason_seconds": round(reason_seconds, 3)}
    return ProposalResult(lines=lines[cols].sort_values(["po_id", "line_no"]).reset_index(drop=True),
                          substitutions=substitutions, info=info, solver=result.summary)
