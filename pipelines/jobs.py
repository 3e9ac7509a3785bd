"""Jobs selected by asset group."""

from dagster import AssetSelection, RunConfig, define_asset_job

from assets.forecast import ForecastConfig
from assets.procurement import PurchaseOrderConfig, ReplenishmentConfig
from pipelines.review_jobs import REVIEW_JOBS

__all__ = ["daily_refresh", "procurement_review", "procurement_replay", "PROCUREMENT_REVIEW_CONFIG", "JOBS"]

daily_refresh = define_asset_job(
    "daily_refresh",
    # the replay needs real demand after the as-of date, which a refresh does not have: it has its own job;
    # decisions are a buyer's act, not part of a refresh (review_purchase_orders)
    selection=AssetSelection.all() - AssetSelection.assets("replay_kpis", "po_decisions"),
    description="Ingest every feed, gate it, forecast, score suppliers and propose purchase orders.",
)

# The Launchpad opens pre-filled with this config, every field typed and described: the analyst's
# four levers are the forecast horizon, the service level, the carbon price and the approval threshold.
PROCUREMENT_REVIEW_CONFIG = RunConfig(
    ops={
        "forecast": ForecastConfig(horizon=28),
        "replenishment_proposals": ReplenishmentConfig(service_level=0.95, use_abc_xyz=True),
        # the carbon price is charged where it changes decisions: in the PO allocation objective
        "purchase_order_proposals": PurchaseOrderConfig(approval_threshold_usd=75_000.0,
                                                                carbon_price_usd_per_tonne=100.0),
    }
)

# The forecast group (champion, forecast, its review) is included because the horizon is its config; ingest
# and the warehouse marts are not: the review works from the demand history already in the warehouse (run daily_refresh for new feeds).
procurement_review = define_asset_job(
    "procurement_review",
    selection=AssetSelection.groups("forecast", "suppliers", "procurement")
    - AssetSelection.assets("replay_kpis"),
    config=PROCUREMENT_REVIEW_CONFIG,
    description="Analyst what-if from the current demand history: re-forecast (horizon), re-score suppliers, "
                "re-plan stock (service level) and re-allocate orders (carbon price, approval threshold), "
                "then export them. Launch from the Launchpad; the config opens pre-filled.",
)

procurement_replay = define_asset_job(
    "procurement_replay",
    selection=AssetSelection.assets("replay_kpis"),
    description="Replay the stored plan against a file of real demand after its as-of date (supplycast vs "
                "seasonal-naive base stock vs perfect foresight) and write replay_kpis. Set actuals_path in the "
                "Launchpad (or $SUPPLYCAST_REPLAY_ACTUALS); the same as `supplycast replay --actuals FILE`.",
)

JOBS = [daily_refresh, procurement_review, procurement_replay, *REVIEW_JOBS]
