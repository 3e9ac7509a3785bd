"""Dagster glue, one module per domain; every asset makes one call into the pure packages.

``ALL_ASSETS`` and ``ALL_CHECKS`` are built on first use, so a light command (``supplycast review``)
that needs only :mod:`assets.settings` does not import every asset module and its libraries.
"""

from __future__ import annotations

__all__ = ["ALL_ASSETS", "ALL_CHECKS"]


def _all_assets() -> list:
    from assets.exports import EXPORT_ASSETS
    from assets.forecast import FORECAST_ASSETS
    from assets.ingest import INGEST_ASSETS
    from assets.procurement import PROCUREMENT_ASSETS
    from assets.replay import REPLAY_ASSETS
    from assets.review import REVIEW_ASSETS
    from assets.suppliers import SUPPLIER_ASSETS
    from assets.warehouse import WAREHOUSE_ASSETS

    return [*INGEST_ASSETS, *WAREHOUSE_ASSETS, *FORECAST_ASSETS, *SUPPLIER_ASSETS, *PROCUREMENT_ASSETS,
            *EXPORT_ASSETS, *REPLAY_ASSETS, *REVIEW_ASSETS]


def _all_checks() -> list:
    from assets.checks import CROSS_FEED_CHECKS, GX_CHECKS
    from assets.forecast_checks import FORECAST_CHECKS

    return [*GX_CHECKS, *CROSS_FEED_CHECKS, *FORECAST_CHECKS]


_BUILDERS = {"ALL_ASSETS": _all_assets, "ALL_CHECKS": _all_checks}


def __getattr__(name: str) -> list:
    if name not in _BUILDERS:
        raise AttributeError(f"module 'assets' has no attribute {name!r}")
    value = _BUILDERS[name]()
    globals()[name] = value  # built once: Dagster needs the same definition objects every time
    return value
