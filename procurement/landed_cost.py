"""Landed cost per unit of each catalogue offer, and the allocation objective built on it.

landed cost = unit price
            + freight (the offer's own freight per unit, else unit weight x USD per kg)
            + holding cost of the goods while in transit (unit price x annual rate / 365 x lead days)
            + expected stock-out cost from lateness (P(late) x share of the review cycle the delay
              eats x the gross margin lost per unit short).

The allocation minimises landed cost + a risk penalty (risk score x rate x unit price) + a carbon
price (USD per tonne CO2e x kg CO2e per unit / 1000). Every part stays a column, so a PO line can
say exactly why its supplier won.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from procurement.catalogue import LEAD_TIME_COMPRESSION

__all__ = ["CostParams", "DEFAULT_COSTS", "landed_costs"]


@dataclass(frozen=True)
class CostParams:
    """Money parameters of the allocation; all configurable from Dagster config."""

    holding_rate_annual: float = 0.25
    stockout_margin: float = 0.4
    risk_penalty_rate: float = 0.05
    carbon_price_usd_per_tonne: float = 100.0
    review_days: int = 7


DEFAULT_COSTS = CostParams()


def landed_costs(offers: pd.DataFrame, params: CostParams = DEFAULT_COSTS) -> pd.DataFrame:
    """Add the per-unit cost parts and ``objective_per_unit`` to catalogue offers.

    Args:
        offers: catalogue rows joined with ``supplier_scores`` (unit_cost, unit_weight_kg,
            freight_per_unit or freight_usd_per_kg, lead_time_days, p_late, delay_days_p50_if_late, risk_score,
            kg_co2e_per_kg).
        params: holding rate, margin lost per unit short (share of the unit price), risk rate,
            carbon price, review period.

    Returns:
        ``offers`` with ``freight_per_unit, holding_per_unit, stockout_per_unit, landed_cost,
        risk_penalty_per_unit, co2e_kg_per_unit, carbon_cost_per_unit, objective_per_unit``.
    """
    out = offers.copy()
    price = out["unit_cost"].astype(float)
    if "freight_per_unit" not in out:  # a catalogue may state freight per unit itself
        out["freight_per_unit"] = out["unit_weight_kg"] * out["freight_usd_per_kg"]
    out["holding_per_unit"] = price * params.holding_rate_annual / 365.0 * out["lead_time_days"]
    # a late delivery (delay compressed like the lead times) leaves the shelf short for that many
    # days of the review cycle; each unit short loses the gross margin
    delay = out["delay_days_p50_if_late"].fillna(0) / LEAD_TIME_COMPRESSION
    share_short = np.minimum(1.0, delay / max(params.review_days, 1))
    margin = price * params.stockout_margin / (1 - params.stockout_margin)
    out["stockout_per_unit"] = out["p_late"].fillna(0) * share_short * margin
    out["landed_cost"] = price + out["freight_per_unit"] + out["holding_per_unit"] + out["stockout_per_unit"]
    out["risk_penalty_per_unit"] = out["risk_score"] * params.risk_penalty_rate * price
    out["co2e_kg_per_unit"] = out["unit_weight_kg"] * out["kg_co2e_per_kg"]
    out["carbon_cost_per_unit"] = out["co2e_kg_per_unit"] / 1000.0 * params.carbon_price_usd_per_tonne
    out["objective_per_unit"] = out["landed_cost"] + out["risk_penalty_per_unit"] + out["carbon_cost_per_unit"]
    return out
