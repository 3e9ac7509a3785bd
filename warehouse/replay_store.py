"""The replay's frontier in DuckDB: ``replay_frontier``, one row per policy x service level.

The table is replaced whole in one transaction; the run's facts (as-of date, actuals file, seed,
when it was written) reach SQL as bound parameters and the rows as a registered frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from warehouse.db import transaction

__all__ = ["FRONTIER_COLUMNS", "write_replay_frontier", "read_replay_frontier"]

# CONTRACTS §3 columns first, then the rest of the KPIs and the run's facts
FRONTIER_COLUMNS = {
    "policy": "VARCHAR", "service_level": "DOUBLE", "fill_rate": "DOUBLE",
    "fill_rate_after_first_arrival": "DOUBLE", "avg_on_hand_units": "DOUBLE",
    "avg_on_hand_units_after_first_arrival": "DOUBLE", "total_cost": "DOUBLE", "holding_cost": "DOUBLE",
    "stockout_cost": "DOUBLE", "ordering_cost": "DOUBLE", "stockout_units": "DOUBLE", "demand_units": "DOUBLE",
    "orders": "BIGINT", "series": "BIGINT", "days": "BIGINT", "first_day": "DATE", "last_day": "DATE",
}
_RUN_COLUMNS = {"as_of": "DATE", "actuals_file": "VARCHAR", "seed": "BIGINT", "written_at": "TIMESTAMP"}


def write_replay_frontier(con: duckdb.DuckDBPyConnection, frontier: pd.DataFrame, *, as_of: pd.Timestamp,
                          actuals_file: str, seed: int) -> int:
    """Replace ``replay_frontier`` with ``frontier`` and the run's facts.

    Args:
        con: Warehouse connection.
        frontier: :func:`procurement.replay.replay_frontier` rows.
        as_of: The replayed plan's as-of date.
        actuals_file: The file of real demand replayed.
        seed: Seed of the lead-time draws.

    Returns:
        Rows written.
    """
    missing = [c for c in FRONTIER_COLUMNS if c not in frontier]
    if missing:
        raise ValueError(f"replay_frontier rows lack column(s) {missing}")
    schema = ", ".join(f"{c} {t}" for c, t in {**FRONTIER_COLUMNS, **_RUN_COLUMNS}.items())
    cols = ", ".join(FRONTIER_COLUMNS)
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE replay_frontier ({schema})")
        con.register("_frontier_src", frontier[list(FRONTIER_COLUMNS)])
        try:
            con.execute(f"INSERT INTO replay_frontier SELECT {cols}, CAST(? AS DATE), ?, ?, current_timestamp "
                        "FROM _frontier_src", [pd.Timestamp(as_of).date(), str(actuals_file), int(seed)])
        finally:
            con.unregister("_frontier_src")
    return len(frontier)


def read_replay_frontier(con: duckdb.DuckDBPyConnection, *, policies: Sequence[str] | None = None) -> pd.DataFrame:
    """``replay_frontier`` rows, ordered by policy and service level; only ``policies`` when given."""
    if policies is None:
        return con.execute("SELECT * FROM replay_frontier ORDER BY policy, service_level NULLS LAST").df()
    return con.execute("SELECT * FROM replay_frontier WHERE list_contains(?, policy) "
                       "ORDER BY policy, service_level NULLS LAST", [list(policies)]).df()
