"""Preferred offer per item and deterministic PO ids, shared by the allocation (``procurement.proposals``)."""

from __future__ import annotations

import hashlib

import pandas as pd

from procurement.catalogue import with_lane_scores

__all__ = ["preferred_offers", "po_ids", "PO_STATUSES"]

PO_STATUSES = ("auto_approved", "needs_approval", "rejected")


def preferred_offers(catalogue: pd.DataFrame, scores: pd.DataFrame, *, item_col: str = "item_id") -> pd.DataFrame:
    """Per item, the catalogue offer from the supplier with the lowest ``total_score`` (of the
    lane it stands on: ``procurement.catalogue.with_lane_scores``).

    Ties go to the lower unit cost, then the supplier id, so the choice is deterministic.
    """
    offers = with_lane_scores(
        catalogue, scores, ["total_score", "risk_score", "cost_score", "carbon_score", "kg_co2e_per_kg"]
    )
    offers["n_offers"] = offers.groupby(item_col)["supplier_id"].transform("size")
    offers = offers.sort_values([item_col, "total_score", "unit_cost", "supplier_id"])
    return offers.drop_duplicates(item_col, keep="first").reset_index(drop=True)


def po_ids(supplier: pd.Series, ship_to: pd.Series, order_date: pd.Series) -> pd.Series:
    """Deterministic PO number per row: ``PO-<yyyymmdd>-<hash of supplier, ship-to and order date>``."""
    key = supplier + "|" + ship_to + "|" + order_date.dt.strftime("%Y-%m-%d")
    # content-derived ids: a re-run of the same decision yields the same PO numbers
    return "PO-" + order_date.dt.strftime("%Y%m%d") + "-" + key.map(
        lambda k: hashlib.sha1(k.encode()).hexdigest()[:8].upper()
    )
