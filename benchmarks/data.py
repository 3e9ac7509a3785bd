"""Where the benchmarks find the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["shared_data"]


def shared_data() -> Path:
    """``$SUPPLYCAST_SHARED`` or the nearest ``shared/data`` above the project (``../shared/data``).

    Returns:
        The folder holding ``m5/``, ``walmart_store_sales/`` and the logistics feeds.
    """
    env = os.environ.get("SUPPLYCAST_SHARED")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return Path("../shared/data")
