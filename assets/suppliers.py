"""Supplier assets: scores from real shipments, and the synthetic catalogue they offer."""


from dagster import Config, MaterializeResult, asset
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets._metadata import OWNERS, WRITER_POOL, table_metadata
from assets._plots import safe_plot, supplier_scorecard_plot
from procurement.catalogue import synthetic_catalogue
from procurement.distance import lane_distances
from procurement.risk import fit_risk_model, lane_risk
from procurement.scoring import DEFAULT_DISTANCE_KM, ScoreWeights, score_suppliers
from warehouse.db import read_table, replace_table
from warehouse.queries import catalogue_items

__all__ = ["supplier_scores", "supplier_catalogue", "SUPPLIER_ASSETS", "SupplierScoreConfig"]

_COMMON = dict(group_name="suppliers", owners=OWNERS, pool=WRITER_POOL)


class SupplierScoreConfig(Config):
    risk_weight: float = Field(0.4, description="Weight of the risk penalty (late deliveries, lead-time spread)")
    cost_weight: float = Field(0.4, description="Weight of the cost penalty (price index, freight per kg)")
    carbon_weight: float = Field(0.2, description="Weight of the carbon penalty (kg CO2e per kg shipped)")
    min_lines: int = Field(10, description="Lanes with fewer shipment lines are not scored")
    distance_km: float = Field(DEFAULT_DISTANCE_KM, description="Distance charged to a vendor missing from the "
                                                                "origin table (others use real great-circle km)")
    risk_split_date: str = Field("2014-01-01", description="Time split of the late-delivery model: train before, "
                                                           "test on and after")


@asset(**_COMMON, kinds={"duckdb", "pandas", "lightgbm"}, deps=["shipment_stats", "raw_emission_factors", "raw_shipments"],
       description="Risk, cost and carbon penalties (0 best .. 1 worst) per vendor x mode lane, with their inputs "
                   "and a one-line explanation; risk from a LightGBM late-delivery model (time split; AUC and "
                   "reliability in supplier_risk_model), carbon from real great-circle distances; lowest "
                   "total_score is best.")
def supplier_scores(config: SupplierScoreConfig, duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        shipments = read_table(con, "raw_shipments")
        stats = read_table(con, "shipment_stats")
        model = fit_risk_model(shipments, split_date=config.risk_split_date)
        scores = score_suppliers(
            stats,
            read_table(con, "raw_emission_factors"),
            weights=ScoreWeights(config.risk_weight, config.cost_weight, config.carbon_weight),
            distance_km=config.distance_km,
            min_lines=config.min_lines,
            lane_risk=lane_risk(shipments, model),
            distances=lane_distances(stats["vendor"]),
        )
        evaluation = model.reliability.assign(**{k: v for k, v in model.metrics.items()},
                                              split_date=model.split_date)
        replace_table(con, "supplier_risk_model", evaluation)
        rows = replace_table(con, "supplier_scores", scores)
    card = scores[["rank", "supplier_id", "mode", "risk_score", "cost_score", "carbon_score", "total_score", "n_lines"]]
    m = model.metrics
    weights = {"risk": config.risk_weight, "cost": config.cost_weight, "carbon": config.carbon_weight}
    return MaterializeResult(metadata=table_metadata(
        rows, scorecard=card, weights=scores["weights"].iloc[0],
        scorecard_plot=safe_plot(supplier_scorecard_plot, scores, weights),
        risk_auc=float(m["auc"]), risk_brier=float(m["brier"]), risk_brier_base_rate=float(m["brier_base_rate"]),
        risk_ece=float(m["ece"]), risk_test_lines=int(m["test_lines"]), risk_reliability=model.reliability,
        explanation_best=scores["explanation"].iloc[0],
    ))


@asset(**_COMMON, kinds={"duckdb", "pandas"}, deps=["supplier_scores", "demand_history", "forecast"],
       description="SYNTHETIC supplier catalogue (no public data exists): offers per item with cost, MOQ, pack, "
                   "lead time and freight calibrated to the real USAID lanes and M5 prices.")
def supplier_catalogue(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        catalogue = synthetic_catalogue(catalogue_items(con), read_table(con, "supplier_scores"))
        rows = replace_table(con, "supplier_catalogue", catalogue)
    return MaterializeResult(
        metadata=table_metadata(rows, synthetic=True, items=int(catalogue["item_id"].nunique()),
                                suppliers=int(catalogue["supplier_id"].nunique()), provenance=catalogue["provenance"].iloc[0],
                                sample=catalogue.drop(columns=["provenance"]).head(5))
    )


SUPPLIER_ASSETS = [supplier_scores, supplier_catalogue]
