"""Supplier assets: scores from real shipments, and the synthetic catalogue they offer."""


from dagster import Config, MaterializeResult, asset
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets._metadata import OWNERS, table_metadata
from assets._plots import safe_plot, supplier_scorecard_plot
from procurement.catalogue import synthetic_catalogue
from procurement.scoring import DEFAULT_DISTANCE_KM, ScoreWeights, score_suppliers
from warehouse.db import read_table, replace_table

__all__ = ["supplier_scores", "supplier_catalogue", "SUPPLIER_ASSETS", "SupplierScoreConfig"]

_COMMON = dict(group_name="suppliers", owners=OWNERS)


class SupplierScoreConfig(Config):
    risk_weight: float = Field(0.4, description="Weight of the risk penalty (late deliveries, lead-time spread)")
    cost_weight: float = Field(0.4, description="Weight of the cost penalty (price index, freight per kg)")
    carbon_weight: float = Field(0.2, description="Weight of the carbon penalty (kg CO2e per kg shipped)")
    min_lines: int = Field(10, description="Lanes with fewer shipment lines are not scored")
    distance_km: float = Field(DEFAULT_DISTANCE_KM, description="Distance charged to every lane (proxy)")
    carbon_price_usd_per_tonne: float = Field(
        0.0, description="Shadow carbon price, USD per tonne CO2e: shown as carbon_usd_per_kg on the scorecard (0 = unpriced)"
    )


@asset(**_COMMON, kinds={"duckdb", "pandas"}, deps=["shipment_stats", "raw_emission_factors"],
       description="Risk, cost and carbon penalties (0 best .. 1 worst) per vendor x mode lane, with their inputs; "
                   "lowest total_score is best.")
def supplier_scores(config: SupplierScoreConfig, duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        scores = score_suppliers(
            read_table(con, "shipment_stats"),
            read_table(con, "raw_emission_factors"),
            weights=ScoreWeights(config.risk_weight, config.cost_weight, config.carbon_weight),
            distance_km=config.distance_km,
            min_lines=config.min_lines,
        )
        rows = replace_table(con, "supplier_scores", scores)
    card = scores[["rank", "supplier_id", "mode", "risk_score", "cost_score", "carbon_score", "total_score", "n_lines"]]
    card = card.assign(carbon_usd_per_kg=scores["kg_co2e_per_kg"] * config.carbon_price_usd_per_tonne / 1000.0)
    weights = {"risk": config.risk_weight, "cost": config.cost_weight, "carbon": config.carbon_weight}
    return MaterializeResult(metadata=table_metadata(
        rows, scorecard=card, weights=scores["weights"].iloc[0],
        scorecard_plot=safe_plot(supplier_scorecard_plot, scores, weights),
        carbon_price_usd_per_tonne=float(config.carbon_price_usd_per_tonne),
    ))


@asset(**_COMMON, kinds={"duckdb", "pandas"}, deps=["supplier_scores", "demand_history"],
       description="SYNTHETIC supplier catalogue (no public data exists): offers per item with cost, MOQ, pack, "
                   "lead time and freight calibrated to the real USAID lanes and M5 prices.")
def supplier_catalogue(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        items = con.execute(
            "SELECT item_id, any_value(dept_id) AS dept_id, any_value(cat_id) AS cat_id, "
            "median(sell_price) AS sell_price FROM demand_history GROUP BY item_id"
        ).df()
        catalogue = synthetic_catalogue(items, read_table(con, "supplier_scores"))
        rows = replace_table(con, "supplier_catalogue", catalogue)
    return MaterializeResult(
        metadata=table_metadata(rows, synthetic=True, items=int(catalogue["item_id"].nunique()),
                                suppliers=int(catalogue["supplier_id"].nunique()), provenance=catalogue["provenance"].iloc[0],
                                sample=catalogue.drop(columns=["provenance"]).head(5))
    )


SUPPLIER_ASSETS = [supplier_scores, supplier_catalogue]
