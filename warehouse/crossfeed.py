"""Cross-feed checks in DuckDB SQL: rows of one feed that another feed does not know.

* every POS store x item has a price row and every POS date a calendar row (otherwise
  ``demand_history`` silently loses prices or events); prices and calendar are optional feeds:
  an absent one (empty table) is not checked;
* every shipment vendor is known: listed in the supplier catalogue (``raw_suppliers``) when one
  is provided; without a catalogue (the M5 layout), a vendor is known when it has a real name
  (not blank or a placeholder such as ``N/A`` / ``Unknown``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from warehouse.db import table_exists

__all__ = ["CrossCheck", "pos_items_priced_and_dated", "shipment_vendors_known", "PLACEHOLDER_VENDORS"]

PLACEHOLDER_VENDORS = ("", "N/A", "NA", "UNKNOWN", "NONE", "NULL", "-", "TBD")


@dataclass
class CrossCheck:
    """Outcome of one cross-feed check; ``examples`` holds a few offending keys."""

    name: str
    passed: bool
    bad: int
    checked: int
    description: str
    examples: pd.DataFrame


def pos_items_priced_and_dated(
    con: duckdb.DuckDBPyConnection, date_range: tuple[dt.date, dt.date] | None = None
) -> CrossCheck:
    """Every POS store x item (in ``date_range``) has >= 1 price row and every POS date a calendar row."""
    lo, hi = date_range or (dt.date(1900, 1, 1), dt.date(2999, 1, 1))
    scope = "WITH pos AS (SELECT * FROM raw_pos WHERE date BETWEEN ? AND ?) "
    # an absent optional feed (an empty table) has nothing to cross-check
    provided = "AND EXISTS (SELECT 1 FROM {table})"
    unpriced = con.execute(scope + f""",
        series AS (SELECT DISTINCT store_id, item_id FROM pos),
        priced AS (SELECT DISTINCT store_id, item_id FROM raw_prices)
        SELECT s.store_id, s.item_id FROM series s ANTI JOIN priced p USING (store_id, item_id)
        WHERE TRUE {provided.format(table='raw_prices')}
        ORDER BY 1, 2
    """, [lo, hi]).df()
    undated = con.execute(scope + "SELECT DISTINCT p.date FROM pos p ANTI JOIN raw_calendar c USING (date) "
                          f"WHERE TRUE {provided.format(table='raw_calendar')} ORDER BY 1", [lo, hi]).df()
    n_series = con.execute(scope + "SELECT count(DISTINCT (store_id, item_id)) FROM pos", [lo, hi]).fetchall()[0][0]
    bad = len(unpriced) + len(undated)
    parts = []
    if len(unpriced):
        ex = ", ".join(f"{r.store_id}/{r.item_id}" for r in unpriced.head(3).itertuples())
        parts.append(f"raw_pos: {len(unpriced):,} of {n_series:,} store x item series have no price row in raw_prices "
                     f"(columns store_id, item_id; e.g. {ex})")
    if len(undated):
        ex = ", ".join(str(pd.Timestamp(d).date()) for d in undated["date"].head(3))
        parts.append(f"raw_pos: {len(undated):,} dates have no row in raw_calendar (column date; e.g. {ex})")
    description = "; ".join(parts) or f"all {n_series:,} POS series have prices and every POS date is in the calendar"
    examples = pd.concat([unpriced.head(10).assign(problem="no price"),
                          undated.head(10).astype(str).assign(problem="no calendar row")], ignore_index=True)
    return CrossCheck("pos_items_priced_and_dated", bad == 0, bad, int(n_series), description, examples)


def shipment_vendors_known(con: duckdb.DuckDBPyConnection) -> CrossCheck:
    """Every vendor in ``raw_shipments`` is in ``raw_suppliers`` (or, without a catalogue, is named)."""
    has_catalogue = table_exists(con, "raw_suppliers") and con.execute(
        "SELECT count(*) FROM raw_suppliers").fetchall()[0][0] > 0
    if has_catalogue:
        unknown = con.execute("""
            SELECT s.vendor, count(*) AS lines FROM raw_shipments s
            WHERE NOT EXISTS (SELECT 1 FROM raw_suppliers k WHERE upper(trim(k.vendor)) = upper(trim(s.vendor)))
            GROUP BY ALL ORDER BY lines DESC, vendor
        """).df()
        rule = "not in the supplier catalogue raw_suppliers"
    else:
        unknown = con.execute("""
            SELECT s.vendor, count(*) AS lines FROM raw_shipments s
            WHERE s.vendor IS NULL OR list_contains(?, upper(trim(s.vendor)))
            GROUP BY ALL ORDER BY lines DESC, vendor
        """, [list(PLACEHOLDER_VENDORS)]).df()
        rule = "blank or a placeholder name (no supplier catalogue provided)"
    n_vendors = con.execute("SELECT count(DISTINCT vendor) FROM raw_shipments").fetchall()[0][0]
    lines = int(unknown["lines"].sum()) if len(unknown) else 0
    if len(unknown):
        ex = ", ".join(str(v) for v in unknown["vendor"].head(3))
        description = (f"raw_shipments: {len(unknown):,} vendors on {lines:,} lines are {rule} "
                       f"(column vendor; e.g. {ex})")
    else:
        description = f"all {n_vendors:,} shipment vendors are known ({'catalogue' if has_catalogue else 'named'})"
    return CrossCheck("shipment_vendors_known", not len(unknown), lines, int(n_vendors), description, unknown.head(10))
