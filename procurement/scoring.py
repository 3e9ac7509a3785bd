"""Supplier scoring on risk, cost and carbon from real shipment statistics.

Every score is a *penalty* in [0, 1]: lower is better. ``total_score`` is their weighted sum
(weights normalised to 1), so the best supplier is the one with the lowest ``total_score``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ScoreWeights", "score_suppliers", "supplier_id", "DEFAULT_DISTANCE_KM"]

# Documented proxy until a real origin->destination distance source is wired in: every lane is
# charged the same distance, so carbon ranks lanes by their mode's emission factor.
DEFAULT_DISTANCE_KM = 5_000.0
# Bayesian shrinkage of late rates toward the mode's pooled rate, in pseudo-lines.
_PRIOR_LINES = 20.0


@dataclass(frozen=True)
class ScoreWeights:
    """Relative weights of the three penalties; they need not sum to 1."""

    risk: float = 0.4
    cost: float = 0.4
    carbon: float = 0.2

    def normalised(self) -> tuple[float, float, float]:
        total = self.risk + self.cost + self.carbon
        if total <= 0 or min(self.risk, self.cost, self.carbon) < 0:
            raise ValueError(f"score weights must be >= 0 and not all zero, got {self}")
        return self.risk / total, self.cost / total, self.carbon / total


DEFAULT_WEIGHTS = ScoreWeights()


def supplier_id(vendor: pd.Series, mode: pd.Series) -> pd.Series:
    """Stable, readable id per vendor x freight-mode lane, e.g. ``orgenics-ltd-air``."""
    slug = vendor.str.lower().map(lambda v: re.sub(r"[^a-z0-9]+", "-", v).strip("-")[:40])
    return slug + "-" + mode


def _minmax(x: pd.Series) -> pd.Series:
    lo, hi = x.min(), x.max()
    if not np.isfinite(hi - lo) or hi - lo <= 0:
        return pd.Series(0.0, index=x.index)
    return (x - lo) / (hi - lo)


def score_suppliers(
    stats: pd.DataFrame,
    emission_factors: pd.DataFrame,
    *,
    weights: ScoreWeights = DEFAULT_WEIGHTS,
    distance_km: float = DEFAULT_DISTANCE_KM,
    min_lines: int = 10,
) -> pd.DataFrame:
    """Score each vendor x mode lane with at least ``min_lines`` shipment lines.

    Args:
        stats: ``shipment_stats`` mart (vendor, mode, n_lines, late_rate, lead_time_p50,
            lead_time_std, mean_delay_days, freight_usd_per_kg, cost_index, ...).
        emission_factors: ``mode, g_co2e_per_tonne_km``.
        weights: relative weights of risk, cost and carbon.
        distance_km: transport distance charged to every lane (documented proxy).
        min_lines: lanes with fewer lines are too thin to score.

    Returns:
        One row per supplier lane with the inputs behind each score, the three penalties,
        ``total_score`` and ``rank`` (1 = best).
    """
    w_risk, w_cost, w_carbon = weights.normalised()
    lanes = stats[(stats["n_lines"] >= min_lines) & (stats["mode"] != "unknown")].copy()
    if lanes.empty:
        raise ValueError(f"no supplier lane has at least {min_lines} shipment lines")
    factors = emission_factors.set_index("mode")["g_co2e_per_tonne_km"]
    missing = sorted(set(lanes["mode"]) - set(factors.index))
    if missing:
        raise ValueError(f"emission factors lack mode(s) {missing}")

    pooled_late = lanes.groupby("mode")["late_rate"].transform(
        lambda s: np.average(s, weights=lanes.loc[s.index, "n_lines"])
    )
    lanes["late_rate_shrunk"] = (lanes["late_rate"] * lanes["n_lines"] + pooled_late * _PRIOR_LINES) / (
        lanes["n_lines"] + _PRIOR_LINES
    )
    lanes["lead_time_cv"] = (lanes["lead_time_std"] / lanes["lead_time_p50"].clip(lower=1)).fillna(0).clip(upper=3)
    lanes["freight_usd_per_kg"] = lanes["freight_usd_per_kg"].fillna(
        lanes.groupby("mode")["freight_usd_per_kg"].transform("median")
    ).fillna(stats["freight_usd_per_kg"].median())
    lanes["cost_index"] = lanes["cost_index"].fillna(1.0)
    lanes["g_co2e_per_tonne_km"] = lanes["mode"].map(factors)
    lanes["distance_km"] = distance_km
    lanes["kg_co2e_per_kg"] = lanes["g_co2e_per_tonne_km"] * 1e-6 * distance_km

    lanes["risk_score"] = _minmax(0.7 * _minmax(lanes["late_rate_shrunk"]) + 0.3 * _minmax(lanes["lead_time_cv"]))
    freight_rel = lanes["freight_usd_per_kg"] / lanes["freight_usd_per_kg"].median()
    lanes["cost_score"] = _minmax(0.7 * _minmax(lanes["cost_index"]) + 0.3 * _minmax(np.log(freight_rel)))
    lanes["carbon_score"] = _minmax(np.log(lanes["kg_co2e_per_kg"]))
    lanes["total_score"] = (
        w_risk * lanes["risk_score"] + w_cost * lanes["cost_score"] + w_carbon * lanes["carbon_score"]
    )
    lanes.insert(0, "supplier_id", supplier_id(lanes["vendor"], lanes["mode"]))
    lanes["rank"] = lanes["total_score"].rank(method="first").astype(int)
    lanes["weights"] = f"risk={w_risk:.2f} cost={w_cost:.2f} carbon={w_carbon:.2f}"
    cols = [
        "supplier_id", "vendor", "mode", "rank", "risk_score", "cost_score", "carbon_score", "total_score",
        "n_lines", "late_rate", "late_rate_shrunk", "mean_delay_days", "lead_time_p50", "lead_time_p90",
        "lead_time_std", "lead_time_cv", "cost_index", "freight_usd_per_kg", "g_co2e_per_tonne_km",
        "distance_km", "kg_co2e_per_kg", "weights",
    ]
    return lanes[cols].sort_values("rank").reset_index(drop=True)
