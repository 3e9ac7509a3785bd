"""The purchase-order audit trail in the warehouse: read it, append to it (never rewrite it)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from warehouse.db import identifier, table_exists, transaction

__all__ = ["AUDIT_TABLE", "read_audit", "append_audit"]

AUDIT_TABLE = "po_audit"


def read_audit(con: duckdb.DuckDBPyConnection, *, columns: Sequence[str], table: str = AUDIT_TABLE) -> pd.DataFrame:
    """Every audit row so far; an empty frame with ``columns`` before the first append.

    Args:
        con: Warehouse connection.
        columns: The audit columns, for the empty frame.
        table: The audit table.
    """
    if not table_exists(con, table):
        return pd.DataFrame(columns=list(columns))
    return con.execute(f"SELECT * FROM {identifier(table)}").df()


def append_audit(con: duckdb.DuckDBPyConnection, changes: pd.DataFrame, *, table: str = AUDIT_TABLE) -> int:
    """Append ``changes`` to the audit table in one transaction, creating the table on first use.

    Args:
        con: Writable warehouse connection.
        changes: Rows to append, in the table's column order.
        table: The audit table.

    Returns:
        Rows appended.
    """
    name = identifier(table)
    with transaction(con):
        con.register("_audit_src", changes)
        try:
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM _audit_src LIMIT 0")
            con.execute(f"INSERT INTO {name} SELECT * FROM _audit_src")
        finally:
            con.unregister("_audit_src")
    return len(changes)
