"""Procurement decisions: supplier scoring, synthetic catalogue and inventory, replenishment
policy and purchase-order proposals. Plain pandas; never imports Dagster.

The names below load their module on first use, so ``procurement.review`` (the buyer's command
line) does not pay for the allocation solver's imports.
"""

from __future__ import annotations

import importlib

__all__ = [
    "ScoreWeights",
    "score_suppliers",
    "synthetic_catalogue",
    "synthetic_inventory",
    "replenishment_proposals",
    "propose_purchase_orders",
]

_HOME = {
    "ScoreWeights": "procurement.scoring",
    "score_suppliers": "procurement.scoring",
    "synthetic_catalogue": "procurement.catalogue",
    "synthetic_inventory": "procurement.catalogue",
    "replenishment_proposals": "procurement.policy",
    "propose_purchase_orders": "procurement.proposals",
}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'procurement' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
