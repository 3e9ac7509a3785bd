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

# Used only when no origin->destination table is given (``distances=None``): every lane is then
# charged the same distance, so carbon ranks lanes by their mode's emission factor. The pipeline
# passes real great-circle distances (procurement.distance).
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


def _explain(lanes: pd.DataFrame, w_risk: float, w_cost: float, w_carbon: float) -> pd.Series:
    """One sentence per lane: each weighted contribution to the total and the facts behind it."""
    return (
        "total " + lanes["total_score"].round(3).astype(str)
        + " = risk " + (w_risk * lanes["risk_score"]).round(3).astype(str)
        + " (P(late) " + (100 * lanes["p_late"]).round(1).astype(str) + "%, lead-time CV "
        + lanes["lead_time_cv"].round(2).astype(str) + ") + cost " + (w_cost * lanes["cost_score"]).round(3).astype(str)
        + " (price index " + lanes["cost_index"].round(2).astype(str) + ", freight "
        + lanes["freight_usd_per_kg"].round(2).astype(str) + " USD/kg) + carbon "
        + (w_carbon * lanes["carbon_score"]).round(3).astype(str) + " (" + lanes["mode"] + ", "
        + lanes["distance_km"].round(0).astype(int).astype(str) + " km, "
        + lanes["kg_co2e_per_kg"].round(3).astype(str) + " kg CO2e/kg)"
    )


def score_suppliers(
    stats: pd.DataFrame,
    emission_factors: pd.DataFrame,
    *,
    weights: ScoreWeights = DEFAULT_WEIGHTS,
    distance_km: float = DEFAULT_DISTANCE_KM,
    min_lines: int = 10,
    lane_risk: pd.DataFrame | None = None,
    distances: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score each vendor x mode lane with at least ``min_lines`` shipment lines.

    Args:
        stats: ``shipment_stats`` mart (vendor, mode, n_lines, late_rate, lead_time_p50,
            lead_time_std, mean_delay_days, freight_usd_per_kg, cost_index, ...).
        emission_factors: ``mode, g_co2e_per_tonne_km``.
        weights: relative weights of risk, cost and carbon.
        distance_km: transport distance charged to every lane when ``distances`` is None.
        min_lines: lanes with fewer lines are too thin to score.
        lane_risk: ``procurement.risk.lane_risk`` output (vendor, mode, p_late, delay quantiles);
            when given, the learned late probability replaces the shrunk late rate.
        distances: ``procurement.distance.lane_distances`` output (vendor, origin_country,
            distance_km, distance_source); when given, carbon uses each vendor's real distance.

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
    if distances is None:
        lanes["origin_country"] = ""
        lanes["distance_km"] = distance_km
        lanes["distance_source"] = f"proxy: {distance_km:g} km for every lane"
    else:
        lanes = lanes.merge(distances[["vendor", "origin_country", "distance_km", "distance_source"]], on="vendor",
                            how="left")
        lanes["distance_source"] = lanes["distance_source"].fillna(f"proxy: {distance_km:g} km (vendor not in table)")
        lanes["distance_km"] = lanes["distance_km"].fillna(distance_km)
        lanes["origin_country"] = lanes["origin_country"].fillna("")
    # kg CO2e per kg shipped = tonnes (1e-3) x km x kg CO2e per tonne-km (g / 1e3)
    lanes["kg_co2e_per_kg"] = lanes["g_co2e_per_tonne_km"] * 1e-6 * lanes["distance_km"]

    if lane_risk is None:
        lanes["p_late"] = lanes["late_rate_shrunk"]
        lanes["delay_days_p50_if_late"] = lanes["mean_delay_days"] / lanes["late_rate"].where(lanes["late_rate"] > 0)
        lanes["risk_source"] = "shrunk observed late rate"
    else:
        cols = ["vendor", "mode", "p_late", "delay_days_p50_if_late", "delay_days_p90_if_late", "lead_time_p10"]
        lanes = lanes.merge(lane_risk[cols], on=["vendor", "mode"], how="left")
        lanes["p_late"] = lanes["p_late"].fillna(lanes["late_rate_shrunk"])
        lanes["risk_source"] = "LightGBM late-delivery probability (time split)"
    lanes["delay_days_p50_if_late"] = lanes["delay_days_p50_if_late"].fillna(0.0)

    lanes["risk_score"] = _minmax(0.7 * _minmax(lanes["p_late"]) + 0.3 * _minmax(lanes["lead_time_cv"]))
    freight_rel = lanes["freight_usd_per_kg"] / lanes["freight_usd_per_kg"].median()
    lanes["cost_score"] = _minmax(0.7 * _minmax(lanes["cost_index"]) + 0.3 * _minmax(np.log(freight_rel)))
    lanes["carbon_score"] = _minmax(np.log(lanes["kg_co2e_per_kg"]))
    lanes["total_score"] = (
        w_risk * lanes["risk_score"] + w_cost * lanes["cost_score"] + w_carbon * lanes["carbon_score"]
    )
    lanes.insert(0, "supplier_id", supplier_id(lanes["vendor"], lanes["mode"]))
    lanes["rank"] = lanes["total_score"].rank(method="first").astype(int)
    lanes["weights"] = f"risk={w_risk:.2f} cost={w_cost:.2f} carbon={w_carbon:.2f}"
    lanes["explanation"] = _explain(lanes, w_risk, w_cost, w_carbon)
    extra = [c for c in ("delay_days_p90_if_late", "lead_time_p10") if c in lanes]
    cols = [
        "supplier_id", "vendor", "mode", "rank", "risk_score", "cost_score", "carbon_score", "total_score",
        "n_lines", "late_rate", "late_rate_shrunk", "mean_delay_days", "lead_time_p50", "lead_time_p90",
        "lead_time_std", "lead_time_cv", "cost_index", "freight_usd_per_kg", "g_co2e_per_tonne_km",
        "distance_km", "kg_co2e_per_kg", "weights", "p_late", "delay_days_p50_if_late", "risk_source",
        "origin_country", "distance_source", "explanation", *extra,
    ]
    return lanes[cols].sort_values("rank").reset_index(drop=True)
