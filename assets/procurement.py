"""Procurement assets: synthetic starting stock, replenishment and purchase-order proposals."""


import pandas as pd
from dagster import Config, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets._metadata import OWNERS, markdown_table, table_metadata
from assets._plots import po_by_supplier_status, po_status_table, safe_plot, stockout_risk, stockout_risk_plot
from procurement.catalogue import synthetic_inventory
from procurement.orders import preferred_offers
from procurement.orders import purchase_order_proposals as propose_orders
from procurement.policy import replenishment_proposals as propose_replenishment
from warehouse.db import read_table, replace_table

__all__ = ["inventory_snapshot", "replenishment_proposals", "purchase_order_proposals", "PROCUREMENT_ASSETS"]

_COMMON = dict(group_name="procurement", owners=OWNERS, kinds={"duckdb", "pandas"})


def _forecast_as_of(con) -> pd.Timestamp:
    first = con.execute("SELECT min(date) FROM forecast").fetchall()[0][0]
    return pd.Timestamp(first) - pd.Timedelta(days=1)


class ReplenishmentConfig(Config):
    review_days: int = Field(7, description="Review period R in days")
    service_level: float = Field(0.95, description="Cycle service level for the safety stock")


class PurchaseOrderConfig(Config):
    approval_threshold_usd: float = Field(250.0, description="Order value (goods + freight) above which a line needs approval")
    high_risk_score: float = Field(0.7, description="Supplier risk score above which a line needs approval")


@asset(**_COMMON, deps=["demand_history", "forecast"],
       description="SYNTHETIC starting stock per store x item at the forecast's as-of date: a seeded 2-12 days of "
                   "the item's real mean daily sales (no public on-hand data exists).")
def inventory_snapshot(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        as_of = _forecast_as_of(con)
        demand = con.execute("SELECT store_id, item_id, date, units FROM demand_history").df()
        inventory = synthetic_inventory(demand, as_of=as_of)
        rows = replace_table(con, "inventory_snapshot", inventory)
    return MaterializeResult(
        metadata=table_metadata(rows, synthetic=True, as_of=str(as_of.date()), total_on_hand=int(inventory["on_hand"].sum()))
    )


@asset(**_COMMON, deps=["forecast", "inventory_snapshot", "supplier_catalogue", "supplier_scores"],
       description="Order-up-to proposals per store x item from forecast quantiles over lead time + review period.")
def replenishment_proposals(config: ReplenishmentConfig, duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        as_of = _forecast_as_of(con)
        offers = preferred_offers(read_table(con, "supplier_catalogue"), read_table(con, "supplier_scores"))
        proposals = propose_replenishment(
            read_table(con, "forecast"), read_table(con, "inventory_snapshot"), offers,
            as_of=as_of, review_days=config.review_days, service_level=config.service_level,
        )
        rows = replace_table(con, "replenishment_proposals", proposals)
    ordering = proposals[proposals["order_qty"] > 0]
    return MaterializeResult(
        metadata=table_metadata(
            rows, as_of=str(as_of.date()), items_to_order=len(ordering), units_to_order=int(ordering["order_qty"].sum()),
            biggest_orders=ordering.nlargest(10, "order_qty")[
                ["store_id", "item_id", "on_hand", "safety_stock", "reorder_point", "order_up_to", "order_qty"]
            ],
            stockout_risk_plot=safe_plot(stockout_risk_plot, proposals),
            stockout_risk=safe_plot(lambda: markdown_table(stockout_risk(proposals))),
        )
    )


@asset(**_COMMON, deps=["replenishment_proposals", "supplier_catalogue", "supplier_scores"],
       description="Purchase-order lines: best supplier by total score, MOQ and pack rounding, approval status.")
def purchase_order_proposals(config: PurchaseOrderConfig, duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        offers = preferred_offers(read_table(con, "supplier_catalogue"), read_table(con, "supplier_scores"))
        orders = propose_orders(
            read_table(con, "replenishment_proposals"), offers,
            approval_threshold_usd=config.approval_threshold_usd, high_risk_score=config.high_risk_score,
        )
        rows = replace_table(con, "purchase_order_proposals", orders)
    by_po = (
        orders.groupby(["po_id", "supplier_id", "ship_to"], as_index=False)
        .agg(lines=("item_id", "size"), value_usd=("order_value", "sum"), co2e_kg=("co2e_kg", "sum"),
             needs_approval=("status", lambda s: int((s == "needs_approval").sum())))
        .sort_values("value_usd", ascending=False)
    )
    status = orders["status"].value_counts().reindex(["auto_approved", "needs_approval", "rejected"], fill_value=0)
    top = orders.nlargest(10, "order_value")[["po_id", "supplier_id", "item_id", "qty", "unit_cost", "order_value", "status", "reason"]]
    return MaterializeResult(
        metadata=table_metadata(
            rows, purchase_orders=int(orders["po_id"].nunique()), total_value_usd=float(orders["order_value"].sum()),
            total_co2e_kg=float(orders["co2e_kg"].sum()),
            auto_approved=int(status["auto_approved"]), needs_approval=int(status["needs_approval"]),
            rejected=int(status["rejected"]), top_proposals=MetadataValue.md(top.to_markdown(index=False, floatfmt=".2f")),
            by_purchase_order=markdown_table(by_po),
            by_supplier_and_status_plot=safe_plot(po_by_supplier_status, orders),
            by_supplier_and_status=safe_plot(lambda: markdown_table(po_status_table(orders), floatfmt=",.2f")),
        )
    )


PROCUREMENT_ASSETS = [inventory_snapshot, replenishment_proposals, purchase_order_proposals]
