"""Dagster glue, one module per domain; every asset makes one call into the pure packages."""

from assets.checks import CROSS_FEED_CHECKS, GX_CHECKS
from assets.exports import EXPORT_ASSETS
from assets.forecast import FORECAST_ASSETS
from assets.forecast_checks import FORECAST_CHECKS
from assets.ingest import INGEST_ASSETS
from assets.procurement import PROCUREMENT_ASSETS
from assets.replay import REPLAY_ASSETS
from assets.review import REVIEW_ASSETS
from assets.suppliers import SUPPLIER_ASSETS
from assets.warehouse import WAREHOUSE_ASSETS

ALL_ASSETS = [*INGEST_ASSETS, *WAREHOUSE_ASSETS, *FORECAST_ASSETS, *SUPPLIER_ASSETS, *PROCUREMENT_ASSETS]
ALL_ASSETS += EXPORT_ASSETS
ALL_ASSETS += REPLAY_ASSETS
ALL_ASSETS += REVIEW_ASSETS
ALL_CHECKS = [*GX_CHECKS, *CROSS_FEED_CHECKS, *FORECAST_CHECKS]

__all__ = ["ALL_ASSETS", "ALL_CHECKS"]
