"""The buyer's record in DuckDB: append-only ``po_decisions``, ``po_audit`` and ``released_purchase_orders``.

Every write here is one transaction: a batch of decisions lands whole or not at all, and a
release inserts its lines, audits them and writes the supplier files before it commits. Values
reach SQL as bound parameters or registered frames, never pasted into the text. The rules
themselves (what is valid, what a PO's status is, what may be released) are in
:mod:`procurement.review`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from procurement.review import (
    DecisionError,
    Problem,
    po_state,
    releasable_lines,
    safe_name,
    validate_decisions,
    voided_decisions,
)
from warehouse.db import table_columns, table_exists, transaction
from warehouse.exports import export_table

__all__ = [
    "DECISION_COLUMNS",
    "AUDIT_SCHEMA",
    "RELEASED_COLUMNS",
    "ensure_review_tables",
    "append_audit",
    "read_review_state",
    "record_decisions",
    "audit_voided_decisions",
    "release_purchase_orders",
    "ReleaseResult",
    "released_lines",
    "recent_demand",
    "review_overview",
]

_DECISIONS_DDL = """CREATE TABLE IF NOT EXISTS po_decisions (
    decision_id VARCHAR, batch_id VARCHAR, po_id VARCHAR, po_version VARCHAR, decision VARCHAR,
    item_id VARCHAR, ship_to VARCHAR, qty BIGINT, approver VARCHAR, note VARCHAR, channel VARCHAR,
    decided_at TIMESTAMPTZ)"""
DECISION_COLUMNS = ["decision_id", "batch_id", "po_id", "po_version", "decision", "item_id", "ship_to", "qty",
                    "approver", "note", "channel", "decided_at"]

# the pipeline's line status changes and the buyers' acts share one audit: ``action`` tells them apart
AUDIT_SCHEMA = {
    "po_id": "VARCHAR", "item_id": "VARCHAR", "ship_to": "VARCHAR", "order_date": "TIMESTAMP",
    "from_status": "VARCHAR", "to_status": "VARCHAR", "reason": "VARCHAR", "run_id": "VARCHAR",
    "recorded_at": "TIMESTAMPTZ", "actor": "VARCHAR", "channel": "VARCHAR", "action": "VARCHAR",
    "po_version": "VARCHAR",
}

_RELEASED_DDL = """CREATE TABLE IF NOT EXISTS released_purchase_orders (
    po_id VARCHAR, line_no BIGINT, supplier_id VARCHAR, item_id VARCHAR, ship_to VARCHAR, qty BIGINT,
    proposed_qty BIGINT, unit_cost DOUBLE, freight_cost DOUBLE, co2e_kg DOUBLE, order_value DOUBLE,
    order_date TIMESTAMP, expected_arrival TIMESTAMP, status VARCHAR, reason VARCHAR, po_version VARCHAR,
    approval VARCHAR, approver VARCHAR, approval_note VARCHAR, release_id VARCHAR, released_at TIMESTAMPTZ,
    released_by VARCHAR)"""
# what a supplier's file carries: the order, not the buyers' reasons, notes or names
SUPPLIER_FILE_COLUMNS = ["release_id", "po_id", "po_version", "line_no", "supplier_id", "item_id", "ship_to", "qty",
                         "unit_cost", "order_date", "expected_arrival", "released_at"]
RELEASED_COLUMNS = ["po_id", "line_no", "supplier_id", "item_id", "ship_to", "qty", "proposed_qty", "unit_cost",
                    "freight_cost", "co2e_kg", "order_value", "order_date", "expected_arrival", "status", "reason",
                    "po_version", "approval", "approver", "approval_note", "release_id", "released_at", "released_by"]


def ensure_review_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the three tables if missing; give an older ``po_audit`` the buyer columns."""
    con.execute(_DECISIONS_DDL)
    con.execute(_RELEASED_DDL)
    cols = ", ".join(f"{c} {t}" for c, t in AUDIT_SCHEMA.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS po_audit ({cols})")
    have = set(table_columns(con, "po_audit"))
    for c, t in AUDIT_SCHEMA.items():
        if c not in have:
            # names and types come from AUDIT_SCHEMA above, not from input
            con.execute(f"ALTER TABLE po_audit ADD COLUMN {c} {t}")


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame, columns: Sequence[str]) -> int:
    if rows.empty:
        return 0
    src = rows.reindex(columns=list(columns))
    con.register("_review_src", src)
    try:
        # columns matched by name; the table name is one of this module's constants
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _review_src")
    finally:
        con.unregister("_review_src")
    return len(rows)


def append_audit(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> int:
    """Append audit rows (missing columns stay NULL); the pipeline's rows default to actor/channel ``pipeline``."""
    ensure_review_tables(con)
    rows = rows.copy()
    for c, default in (("actor", "pipeline"), ("channel", "pipeline"), ("action", "status")):
        rows[c] = rows[c].fillna(default) if c in rows else default
    return _insert(con, "po_audit", rows, list(AUDIT_SCHEMA))


def read_review_state(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(purchase_order_proposals, po_decisions, released_purchase_orders)``.

    Raises:
        LookupError: no proposals yet, or proposals written before PO versions existed.
    """
    if not table_exists(con, "purchase_order_proposals"):
        raise LookupError("no purchase_order_proposals in this warehouse: run `supplycast run` first")
    lines = con.execute("SELECT * FROM purchase_order_proposals").df()
    if "po_version" not in lines:
        raise LookupError("purchase_order_proposals has no po_version column: it was written by an older "
                          "supplycast; run `supplycast run` again")
    # before the first decision the tables may not exist yet (and a read-only reader does not create them)
    decisions = (con.execute("SELECT * FROM po_decisions ORDER BY decided_at, decision_id").df()
                 if table_exists(con, "po_decisions") else pd.DataFrame(columns=DECISION_COLUMNS))
    released = (con.execute("SELECT * FROM released_purchase_orders").df()
                if table_exists(con, "released_purchase_orders") else pd.DataFrame(columns=RELEASED_COLUMNS))
    return lines, decisions, released


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _po_dates(lines: pd.DataFrame) -> pd.Series:
    return lines.groupby("po_id")["order_date"].first()


def _decision_audit(rows: pd.DataFrame, lines: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame, *,
                    action: pd.Series | str, reason: pd.Series, batch_id: str, channel: str,
                    at: pd.Timestamp) -> pd.DataFrame:
    b = before.set_index("po_id")["status"]
    a = after.set_index("po_id")["status"] if after is not None else b
    return pd.DataFrame({
        "po_id": rows["po_id"].to_numpy(), "item_id": rows["item_id"].to_numpy(), "ship_to": rows["ship_to"].to_numpy(),
        "order_date": rows["po_id"].map(_po_dates(lines)).to_numpy(),
        "from_status": rows["po_id"].map(b).to_numpy(), "to_status": rows["po_id"].map(a).to_numpy(),
        "reason": reason.to_numpy(), "run_id": batch_id, "recorded_at": at, "actor": rows["approver"].to_numpy(),
        "channel": channel, "action": action if isinstance(action, str) else action.to_numpy(),
        "po_version": rows["po_version"].to_numpy(),
    })


def record_decisions(
    con: duckdb.DuckDBPyConnection,
    batch: pd.DataFrame,
    *,
    channel: str,
    approvers: pd.DataFrame | None,
    approvers_path: str = "approvers.csv",
    at: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Validate and append a batch of decisions in one transaction.

    Args:
        con: warehouse connection (writable).
        batch: :func:`procurement.review.decisions_frame`.
        channel: ``ui``, ``spreadsheet`` or ``cli``.
        approvers: :func:`procurement.review.load_approvers` (None: no file).
        approvers_path: the approvers file, for messages.
        at: decision time (default now, UTC).

    Returns:
        The ``po_decisions`` rows appended.

    Raises:
        DecisionError: nothing recorded (``refused=True``: only the refusals, in ``po_audit``).
    """
    at = at if at is not None else _now()
    batch_id = "B-" + uuid.uuid4().hex[:12]
    with transaction(con):
        ensure_review_tables(con)
        lines, decisions, released = read_review_state(con)
        check = validate_decisions(batch, lines, decisions, released, approvers, approvers_path=approvers_path)
        if check.problems:
            raise DecisionError(check.problems)
        before = po_state(lines, decisions, released)
        if len(check.refused):
            r = check.refused
            append_audit(con, _decision_audit(r, lines, before, None, action="refused",
                                              reason=r["decision"] + " refused: " + r["refusal"], batch_id=batch_id,
                                              channel=channel, at=at))
            problems = [_refusal(r.iloc[i], batch) for i in range(len(r))]
            refused = DecisionError(problems, refused=True)
        else:
            acc = check.accepted
            rows = acc.assign(decision_id=[f"D-{uuid.uuid4().hex[:12]}" for _ in range(len(acc))], batch_id=batch_id,
                              channel=channel, decided_at=at)
            rows["qty"] = rows["qty"].astype("Int64")
            _insert(con, "po_decisions", rows, DECISION_COLUMNS)
            after = po_state(lines, pd.concat([decisions, rows[DECISION_COLUMNS]], ignore_index=True), released)
            what = rows["decision"] + " by " + rows["approver"] + pd.Series(
                [f": {n}" if n else "" for n in rows["note"]], index=rows.index) + pd.Series(
                [f" (qty {q})" if pd.notna(q) else "" for q in rows["qty"]], index=rows.index)
            append_audit(con, _decision_audit(rows, lines, before, after, action=rows["decision"], reason=what,
                                              batch_id=batch_id, channel=channel, at=at))
            return rows[DECISION_COLUMNS]
    raise refused


def _refusal(row: pd.Series, batch: pd.DataFrame) -> Problem:
    label = batch.attrs.get("labels", {}).get("approver", "approver")
    return Problem(row["_source"], label, row["refusal"])


def audit_voided_decisions(con: duckdb.DuckDBPyConnection, lines: pd.DataFrame, *, run_id: str,
                           at: pd.Timestamp | None = None) -> int:
    """After a run wrote new proposals: audit every decision a changed PO voided (once each).

    Call inside the run's write, with the lines it wrote (``po_version`` column).

    Returns:
        Audit rows appended (POs back in the queue).
    """
    ensure_review_tables(con)
    decisions = con.execute("SELECT * FROM po_decisions").df()
    if decisions.empty:
        return 0
    released = con.execute("SELECT po_id FROM released_purchase_orders").df()
    done = con.execute("SELECT po_id, po_version FROM po_audit WHERE action = 'void'").df()
    void = voided_decisions(lines, decisions, released, done)
    if void.empty:
        return 0
    rows = pd.DataFrame({
        "po_id": void["po_id"], "item_id": None, "ship_to": None,
        "order_date": void["po_id"].map(_po_dates(lines)), "from_status": void["decision"].map(
            {"approve": "approved", "reject": "rejected", "set_qty": "needs_approval"}),
        "to_status": "needs_approval",
        "reason": void["decision"] + " by " + void["approver"] + " on version " + void["po_version"]
        + " void: this run changed the PO to version " + void["new_version"] + "; back in the queue",
        "run_id": run_id, "recorded_at": at if at is not None else _now(), "actor": "pipeline",
        "channel": "pipeline", "action": "void", "po_version": void["po_version"],
    })
    return append_audit(con, rows)


@dataclass
class ReleaseResult:
    """What one release did: the lines inserted and the supplier files written."""

    release_id: str
    lines: pd.DataFrame
    files: dict[str, dict[str, Path]] = field(default_factory=dict)


def release_purchase_orders(con: duckdb.DuckDBPyConnection, folder: str | Path, *, released_by: str,
                            channel: str = "cli", at: pd.Timestamp | None = None,
                            formats: Sequence[str] = ("csv", "xlsx")) -> ReleaseResult:
    """Release every approved and auto-approved PO not released before, in one transaction.

    Writes ``<folder>/released/<date>/<release_id>/<supplier_id>.{csv,xlsx}`` (one per supplier,
    :data:`SUPPLIER_FILE_COLUMNS` only) before committing; if writing fails nothing is released.
    """
    at = at if at is not None else _now()
    with transaction(con):
        ensure_review_tables(con)
        lines, decisions, released = read_review_state(con)
        out = releasable_lines(lines, decisions, released)
        if out.empty:
            return ReleaseResult("", out)
        digest = hashlib.sha1("|".join(sorted(out["po_id"].unique())).encode()).hexdigest()[:6].upper()
        release_id = f"REL-{at:%Y%m%dT%H%M%S}-{digest}"
        before = po_state(lines, decisions, released)
        out = out.assign(status="released", release_id=release_id, released_at=at, released_by=released_by)
        _insert(con, "released_purchase_orders", out, RELEASED_COLUMNS)
        heads = out.drop_duplicates("po_id").assign(item_id=None, ship_to=None)
        after = before.assign(status=before["status"].where(~before["po_id"].isin(heads["po_id"]), "released"))
        append_audit(con, _decision_audit(
            heads.assign(approver=released_by), lines, before, after, action="release",
            reason="released to " + heads["supplier_id"] + " in " + release_id + " (" + heads["approval"] + ", "
            + heads["approver"] + ")", batch_id=release_id, channel=channel, at=at))
        target = Path(folder) / "released" / f"{at:%Y-%m-%d}" / release_id
        files = {}
        for supplier, part in out.groupby("supplier_id", sort=True):
            files[supplier] = export_table(part[SUPPLIER_FILE_COLUMNS], target, safe_name(supplier), formats=formats,
                                           sheet_name="purchase_order", title_columns=["po_id"])
    return ReleaseResult(release_id, out[RELEASED_COLUMNS], files)


def released_lines(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Released PO lines (what the next plan counts as on order); empty when nothing was released."""
    if not table_exists(con, "released_purchase_orders"):
        return pd.DataFrame(columns=["ship_to", "item_id", "qty", "order_date", "expected_arrival"])
    return con.execute("SELECT ship_to, item_id, qty, order_date, expected_arrival, po_id "
                       "FROM released_purchase_orders").df()


def recent_demand(con: duckdb.DuckDBPyConnection, *, as_of: pd.Timestamp, days: int) -> pd.DataFrame:
    """Daily sales of the ``days`` days up to ``as_of`` (the approval policy's recent-sales rate)."""
    return con.execute(
        "SELECT store_id, item_id, date, units FROM demand_history WHERE date > ? AND date <= ?",
        [pd.Timestamp(as_of) - pd.Timedelta(days=days), pd.Timestamp(as_of)],
    ).df()


def review_overview(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(queue, decisions)``: one row per PO with its status after decisions, ranked (POs needing
    approval first, most at stake first), and the decisions so far (newest first)."""
    from procurement.approval import review_queue

    lines, decisions, released = read_review_state(con)
    state = po_state(lines, decisions, released).set_index("po_id")
    lines = lines.assign(status=lines["po_id"].map(state["status"]),
                         approval_reason=lines["po_id"].map(state["status_reason"]))
    queue = review_queue(lines)
    queue["value_usd"] = queue["po_id"].map(state["value_usd"])
    queue["approver"] = queue["po_id"].map(state["approver"]).fillna("")
    return queue, decisions.sort_values("decided_at", ascending=False).reset_index(drop=True)
