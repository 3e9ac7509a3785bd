"""Procurement decisions: supplier scoring, synthetic catalogue and inventory, replenishment
policy and purchase-order proposals. Plain pandas; never imports Dagster."""

from procurement.catalogue import synthetic_catalogue, synthetic_inventory
from procurement.policy import replenishment_proposals
from procurement.proposals import propose_purchase_orders
from procurement.scoring import ScoreWeights, score_suppliers

__all__ = [
    "ScoreWeights",
    "score_suppliers",
    "synthetic_catalogue",
    "synthetic_inventory",
    "replenishment_proposals",
    "propose_purchase_orders",
]
