"""Purchase-order proposals: choose the supplier, round to MOQ and packs, set the status."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

__all__ = ["preferred_offers", "purchase_order_proposals", "PO_STATUSES"]

PO_STATUSES = ("auto_approved", "needs_approval", "rejected")


def preferred_offers(catalogue: pd.DataFrame, scores: pd.DataFrame, *, item_col: str = "item_id") -> pd.DataFrame:
    """Per item, the catalogue offer from the supplier with the lowest ``total_score``.

    Ties go to the lower unit cost, then the supplier id, so the choice is deterministic.
    """
    offers = catalogue.merge(
        scores[["supplier_id", "total_score", "risk_score", "cost_score", "carbon_score", "kg_co2e_per_kg"]],
        on="supplier_id",
    )
    offers["n_offers"] = offers.groupby(item_col)["supplier_id"].transform("size")
    offers = offers.sort_values([item_col, "total_score", "unit_cost", "supplier_id"])
    return offers.drop_duplicates(item_col, keep="first").reset_index(drop=True)


def _po_id(supplier: pd.Series, ship_to: pd.Series, order_date: pd.Series) -> pd.Series:
    key = supplier + "|" + ship_to + "|" + order_date.dt.strftime("%Y-%m-%d")
    # content-derived ids: a re-run of the same decision yields the same PO numbers
    return "PO-" + order_date.dt.strftime("%Y%m%d") + "-" + key.map(
        lambda k: hashlib.sha1(k.encode()).hexdigest()[:8].upper()
    )


def purchase_order_proposals(
    replenishment: pd.DataFrame,
    offers: pd.DataFrame,
    *,
    approval_threshold_usd: float = 250.0,
    high_risk_score: float = 0.7,
    item_col: str = "item_id",
    store_col: str = "store_id",
) -> pd.DataFrame:
    """One row per PO line for every store x item with a positive order quantity.

    Args:
        replenishment: ``replenishment_proposals`` (store_id, item_id, as_of, order_qty).
        offers: ``preferred_offers`` output (one offer per item).
        approval_threshold_usd: a line whose order value (goods + freight) is higher needs a
            buyer's approval; ``po_value`` (all lines of the PO) is reported beside it.
        high_risk_score: lines from a supplier with a higher risk score need approval.

    Returns:
        CONTRACTS §3 columns (po_id, supplier_id, item_id, ship_to, qty, unit_cost, freight_cost,
        co2e_kg, order_date, expected_arrival, status, reason) plus line details.
    """
    need = replenishment[replenishment["order_qty"] > 0]
    lines = need[[store_col, item_col, "as_of", "order_qty"]].merge(offers, on=item_col, how="left")
    no_offer = lines["supplier_id"].isna()

    qty = lines["order_qty"].astype(float)
    moq = lines["moq"].fillna(1)
    pack = lines["pack_size"].fillna(1)
    lines["qty"] = (np.ceil(np.maximum(qty, moq) / pack) * pack).fillna(qty).astype(int)
    lines["ship_to"] = lines[store_col]
    lines["order_date"] = pd.to_datetime(lines["as_of"])
    lines["expected_arrival"] = lines["order_date"] + pd.to_timedelta(lines["lead_time_days"].fillna(0), unit="D")
    weight_kg = lines["qty"] * lines["unit_weight_kg"]
    lines["line_value"] = (lines["qty"] * lines["unit_cost"]).round(2)
    lines["freight_cost"] = (weight_kg * lines["freight_usd_per_kg"]).round(2)
    lines["co2e_kg"] = (weight_kg * lines["kg_co2e_per_kg"]).round(3)
    lines["po_id"] = _po_id(lines["supplier_id"].fillna("none"), lines["ship_to"], lines["order_date"])
    po_value = lines.groupby("po_id")["line_value"].transform("sum") + lines.groupby("po_id")["freight_cost"].transform(
        "sum"
    )
    lines["po_value"] = po_value.round(2)

    lines["order_value"] = (lines["line_value"] + lines["freight_cost"]).round(2)
    over_value = lines["order_value"] > approval_threshold_usd
    risky = lines["risk_score"] > high_risk_score
    lines["status"] = np.select([no_offer, over_value | risky], ["rejected", "needs_approval"], "auto_approved")
    rounding = np.where(
        lines["qty"] != lines["order_qty"],
        "; need " + lines["order_qty"].astype(str) + " rounded to " + lines["qty"].astype(str)
        + " (MOQ " + moq.astype(int).astype(str) + ", pack " + pack.astype(int).astype(str) + ")",
        "",
    )
    choice = (
        "best of " + lines["n_offers"].fillna(0).astype(int).astype(str) + " offers, total score "
        + lines["total_score"].round(3).astype(str) + " (risk " + lines["risk_score"].round(2).astype(str)
        + ", cost " + lines["cost_score"].round(2).astype(str) + ", carbon " + lines["carbon_score"].round(2).astype(str)
        + ")"
    )
    gate = np.select(
        [no_offer, over_value & risky, over_value, risky],
        [
            "no supplier offers this item",
            "order value over threshold and high-risk supplier",
            "order value " + lines["order_value"].astype(str) + " over threshold " + f"{approval_threshold_usd:g}",
            "high-risk supplier",
        ],
        "under thresholds",
    )
    lines["reason"] = np.where(no_offer, gate, choice + rounding + "; " + gate)
    lines["line_no"] = lines.groupby("po_id").cumcount() + 1
    cols = [
        "po_id", "line_no", "supplier_id", "item_id", "ship_to", "qty", "unit_cost", "freight_cost", "co2e_kg",
        "order_date", "expected_arrival", "status", "reason", "order_qty", "moq", "pack_size", "line_value",
        "order_value", "po_value", "lead_time_days", "total_score", "risk_score",
    ]
    return lines[cols].sort_values(["po_id", "line_no"]).reset_index(drop=True)
