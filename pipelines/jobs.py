"""Jobs selected by asset group."""

from dagster import AssetSelection, define_asset_job

__all__ = ["daily_refresh", "procurement_review", "JOBS"]

daily_refresh = define_asset_job(
    "daily_refresh",
    selection=AssetSelection.all(),
    description="Ingest every feed, gate it, forecast, score suppliers and propose purchase orders.",
)

procurement_review = define_asset_job(
    "procurement_review",
    selection=AssetSelection.groups("suppliers", "procurement"),
    description="Re-score suppliers and re-propose orders from the current forecast (for analysts).",
)

JOBS = [daily_refresh, procurement_review]
