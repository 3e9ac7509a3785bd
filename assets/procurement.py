"""Procurement assets: synthetic starting stock, replenishment and purchase-order proposals."""


import pandas as pd
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets._metadata import OWNERS, WRITER_POOL, markdown_table, table_metadata
from assets._plots import po_by_supplier_status, po_status_table, safe_plot, stockout_risk, stockout_risk_plot
from assets.review import ApprovalConfig, queue_metadata
from procurement.audit import AUDIT_COLUMNS, audit_changes
from procurement.catalogue import synthetic_inventory
from procurement.landed_cost import CostParams
from procurement.orders import preferred_offers
from procurement.policy import SPREAD_COLUMNS, item_service_levels
from procurement.policy import replenishment_proposals as propose_replenishment
from procurement.proposals import propose_purchase_orders
from procurement.review import add_released_on_order
from warehouse.audit_store import read_audit
from warehouse.db import read_table, replace_table, table_columns, transaction
from warehouse.queries import demand_frame, forecast_as_of
from warehouse.review_store import append_audit, audit_voided_decisions, recent_demand, released_lines, review_overview

__all__ = ["inventory_snapshot", "replenishment_proposals", "purchase_order_proposals", "PROCUREMENT_ASSETS"]

_COMMON = dict(group_name="procurement", owners=OWNERS, pool=WRITER_POOL, kinds={"duckdb", "pandas"})


class ReplenishmentConfig(Config):
    review_days: int = Field(7, description="Review period R in days")
    service_level: float = Field(0.95, description="Cycle service level when use_abc_xyz is off")
    use_abc_xyz: bool = Field(True, description="Service target per ABC (sales value) x XYZ (demand variability) class")


class PurchaseOrderConfig(ApprovalConfig):
    carbon_price_usd_per_tonne: float = Field(100.0, description="Carbon price charged in the allocation objective")
    risk_penalty_rate: float = Field(0.05, description="Risk penalty per unit = risk score x this x unit price")
    holding_rate_annual: float = Field(0.25, description="Annual holding cost as a share of the unit price")
    stockout_margin: float = Field(0.4, description="Gross margin (share of shelf price) lost per unit short")
    budget_usd: float = Field(0.0, description="Most USD of goods all PO lines may spend; 0 = no limit")
    time_limit_seconds: float = Field(60.0, description="MILP (HiGHS) time limit for the whole allocation; item "
                                      "MILPs not solved by then keep the better of HiGHS's incumbent and greedy, "
                                      "and a re-run may then propose different POs (full M5 solves in about 25 "
                                      "solver seconds)")


# what the plan reads of the forecast: the mean and the columns behind its spread (not the
# text columns, a third of the full-M5 table's read time)
_PLANNING_COLUMNS = ("store_id", "item_id", "date", "yhat", *SPREAD_COLUMNS)


def _planning_forecast(con) -> pd.DataFrame:
    present = set(table_columns(con, "forecast"))
    return read_table(con, "forecast", [c for c in _PLANNING_COLUMNS if c in present])


@asset(**_COMMON, deps=["demand_history", "forecast", "supplier_catalogue", "supplier_scores"],
       description="SYNTHETIC starting stock per store x item at the forecast's as-of date: a seeded 2-12 days of "
                   "the item's real mean daily sales on hand, and on order the steady-state pipeline of its preferred "
                   "lane (mean daily sales x lead time); no public on-hand data exists.")
def inventory_snapshot(duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        as_of = forecast_as_of(con)
        demand = demand_frame(con)
        lanes = preferred_offers(read_table(con, "supplier_catalogue"), read_table(con, "supplier_scores"))
        inventory = synthetic_inventory(demand, as_of=as_of, lead_times=lanes)
        # released POs not yet arrived are on order too (procurement.review.released_on_order)
        inventory = add_released_on_order(inventory, released_lines(con), as_of=as_of)
        rows = replace_table(con, "inventory_snapshot", inventory)
    return MaterializeResult(
        metadata=table_metadata(rows, synthetic=True, as_of=str(as_of.date()), total_on_hand=int(inventory["on_hand"].sum()),
                                total_on_order=int(inventory["on_order"].sum()),
                                on_order_from_released_pos=int(inventory["on_order_released"].sum()))
    )


@asset(**_COMMON, deps=["forecast", "inventory_snapshot", "supplier_catalogue", "supplier_scores"],
       description="Order-up-to proposals per store x item over lead time + review period: the forecast mean plus a "
                   "safety stock from its daily variance (`yhat_var`, else its quantiles; `spread_source` says which).")
def replenishment_proposals(config: ReplenishmentConfig, duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        as_of = forecast_as_of(con)
        offers = preferred_offers(read_table(con, "supplier_catalogue"), read_table(con, "supplier_scores"))
        service = config.service_level
        if config.use_abc_xyz:
            history = demand_frame(con, ("store_id", "item_id", "date", "units", "sell_price"), until=as_of)
            service = item_service_levels(history)
        proposals = propose_replenishment(
            _planning_forecast(con), read_table(con, "inventory_snapshot"), offers,
            as_of=as_of, review_days=config.review_days, service_level=service,
        )
        rows = replace_table(con, "replenishment_proposals", proposals)
    ordering = proposals[proposals["order_qty"] > 0]
    return MaterializeResult(
        metadata=table_metadata(
            rows, as_of=str(as_of.date()), items_to_order=len(ordering), units_to_order=int(ordering["order_qty"].sum()),
            # series whose safety stock comes from the forecast's yhat_var / from its quantiles
            spread_sources=MetadataValue.json(proposals["spread_source"].value_counts().to_dict()),
            biggest_orders=ordering.nlargest(10, "order_qty")[
                ["store_id", "item_id", "on_hand", "safety_stock", "reorder_point", "order_up_to", "order_qty"]
            ],
            stockout_risk_plot=safe_plot(stockout_risk_plot, proposals),
            stockout_risk=safe_plot(lambda: markdown_table(stockout_risk(proposals))),
        )
    )


@asset(**_COMMON, deps=["replenishment_proposals", "supplier_catalogue", "supplier_scores"],
       description="Purchase-order lines: each need split across suppliers by a MILP (HiGHS) minimising landed cost "
                   "+ risk penalty + carbon price under MOQ, pack, capacity and budget; explained line by line; "
                   "approval status; substitutions in po_substitutions; every status change in po_audit.")
def purchase_order_proposals(context: AssetExecutionContext, config: PurchaseOrderConfig,
                             duckdb: DuckDBResource) -> MaterializeResult:
    params = CostParams(holding_rate_annual=config.holding_rate_annual, stockout_margin=config.stockout_margin,
                        risk_penalty_rate=config.risk_penalty_rate,
                        carbon_price_usd_per_tonne=config.carbon_price_usd_per_tonne)
    with duckdb.get_connection() as con:
        replenishment = read_table(con, "replenishment_proposals")
        result = propose_purchase_orders(
            replenishment, read_table(con, "supplier_catalogue"), read_table(con, "supplier_scores"),
            forecast=_planning_forecast(con), params=params, budget=config.budget_usd or None,
            history=recent_demand(con, as_of=replenishment["as_of"].max(), days=config.anomaly_history_days),
            approval=config.approval_policy(), time_limit=config.time_limit_seconds,
        )
        orders = result.lines
        unproven = result.solver.components - result.solver.components_optimal
        if unproven:
            context.log.warning(
                "purchase_order_proposals: %s of %s item MILPs were not solved within the %s s time limit; they keep "
                "HiGHS's incumbent or greedy, and a re-run on the same data may propose different POs (and void their "
                "decisions): raise time_limit_seconds", unproven, result.solver.components, config.time_limit_seconds)
        changes = audit_changes(read_audit(con, columns=AUDIT_COLUMNS), orders, run_id=context.run_id,
                                recorded_at=pd.Timestamp.now(tz="UTC"),
                                order_dates=list(pd.to_datetime(replenishment["as_of"]).unique()))
        with transaction(con):
            # append-only audit; the proposals of this order date are replaced (deterministic ids: no duplicates)
            append_audit(con, changes)
        rows = replace_table(con, "purchase_order_proposals", orders)
        # decisions on a PO this run changed are void: audited, the PO is back in the queue
        with transaction(con):
            voided = audit_voided_decisions(con, orders, run_id=context.run_id)
        queue, decisions = review_overview(con)
        replace_table(con, "po_substitutions", result.substitutions)
    by_po = (
        orders.groupby(["po_id", "supplier_id", "ship_to"], as_index=False)
        .agg(lines=("item_id", "size"), value_usd=("order_value", "sum"), co2e_kg=("co2e_kg", "sum"),
             needs_approval=("status", lambda s: int((s == "needs_approval").sum())))
        .sort_values("value_usd", ascending=False)
    )
    status = orders["status"].value_counts().reindex(["auto_approved", "needs_approval", "rejected"], fill_value=0)
    top = orders.nlargest(10, "order_value")[["po_id", "supplier_id", "item_id", "qty", "unit_cost", "order_value", "status", "reason"]]
    solver = result.solver
    return MaterializeResult(
        metadata=table_metadata(
            rows, purchase_orders=int(orders["po_id"].nunique()), total_value_usd=float(orders["order_value"].sum()),
            total_co2e_kg=float(orders["co2e_kg"].sum()),
            auto_approved=int(status["auto_approved"]), needs_approval=int(status["needs_approval"]),
            rejected=int(status["rejected"]), top_proposals=markdown_table(top),
            by_purchase_order=markdown_table(by_po), allocation_method=solver.method,
            milp_seconds=solver.seconds, milp_variables=solver.variables,
            milp_status=solver.status[:500], substitutions=len(result.substitutions),
            milp_items_optimal=f"{solver.components_optimal}/{solver.components}",
            milp_max_block_gap=solver.max_mip_gap, milp_block_gaps=solver.block_gaps[:1000],
            audit_rows_appended=len(changes), decisions_voided=voided, **queue_metadata(queue, decisions),
            carbon_price_usd_per_tonne=float(config.carbon_price_usd_per_tonne),
            by_supplier_and_status_plot=safe_plot(po_by_supplier_status, orders),
            by_supplier_and_status=safe_plot(lambda: markdown_table(po_status_table(orders))),
        )
    )


PROCUREMENT_ASSETS = [inventory_snapshot, replenishment_proposals, purchase_order_proposals]
