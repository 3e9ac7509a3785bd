"""The buyer's record in a real DuckDB file: append-only tables, all-or-nothing batches, release, voids."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from procurement.audit import AUDIT_COLUMNS, audit_changes
from procurement.review import DecisionError, decisions_frame, load_approvers
from warehouse.review_store import (
    SUPPLIER_FILE_COLUMNS,
    append_audit,
    audit_voided_decisions,
    ensure_review_tables,
    record_decisions,
    release_purchase_orders,
    review_overview,
)


@pytest.fixture()
def con(review_warehouse: Path):
    c = duckdb.connect(str(review_warehouse))
    ensure_review_tables(c)  # as the pipeline's run leaves them
    yield c
    c.close()


@pytest.fixture()
def approvers(review_warehouse: Path) -> pd.DataFrame:
    return load_approvers(review_warehouse.parent / "approvers.csv")


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def _decide(con, approvers, *records, channel="cli"):
    return record_decisions(con, decisions_frame(list(records)), channel=channel, approvers=approvers)


def test_a_decision_is_appended_with_its_audit_row(con, approvers):
    rows = _decide(con, approvers, {"po_id": "PO-A", "decision": "approve", "approver": "ana", "note": "ok"})
    assert len(rows) == 1
    dec = con.execute("SELECT po_id, decision, approver, note, channel FROM po_decisions").fetchall()
    assert dec == [("PO-A", "approve", "ana", "ok", "cli")]
    audit = con.execute("SELECT po_id, action, actor, channel, from_status, to_status, reason FROM po_audit").fetchall()
    assert audit == [("PO-A", "approve", "ana", "cli", "needs_approval", "approved", "approve by ana: ok")]
    queue, decisions = review_overview(con)
    assert queue.set_index("po_id").loc["PO-A", "status"] == "approved" and len(decisions) == 1


def test_a_batch_with_one_problem_records_nothing(con, approvers):
    with pytest.raises(DecisionError, match="unknown PO id 'PO-X'"):
        _decide(con, approvers, {"po_id": "PO-C", "decision": "approve", "approver": "ana"},
                {"po_id": "PO-X", "decision": "approve", "approver": "ana"})
    assert _count(con, "po_decisions") == 0 and _count(con, "po_audit") == 0


def test_refusals_are_audited_as_refused_and_nothing_else(con, approvers):
    with pytest.raises(DecisionError) as err:
        _decide(con, approvers, {"po_id": "PO-A", "decision": "approve", "approver": "bo"},
                {"po_id": "PO-C", "decision": "approve", "approver": "bo"})
    assert err.value.refused
    assert _count(con, "po_decisions") == 0
    audit = con.execute("SELECT po_id, action, actor, from_status, to_status, reason FROM po_audit").fetchall()
    assert audit == [("PO-A", "refused", "bo", "needs_approval", "needs_approval",
                      "approve refused: PO value 55,800.00 USD is above bo's signing limit of 10,000.00 USD")]
    with pytest.raises(DecisionError, match="no approvers file"):
        _decide(con, None, {"po_id": "PO-C", "decision": "approve", "approver": "ana"})
    assert _count(con, "po_audit") == 2 and _count(con, "po_decisions") == 0


def test_deciding_twice_on_one_version_is_refused(con, approvers):
    _decide(con, approvers, {"po_id": "PO-B", "decision": "reject", "approver": "ana", "note": "on hold"})
    with pytest.raises(DecisionError, match="already decided: reject by ana"):
        _decide(con, approvers, {"po_id": "PO-B", "decision": "approve", "approver": "ana"})
    assert _count(con, "po_decisions") == 1


def test_release_writes_lines_and_one_file_per_supplier_once(con, approvers, tmp_path):
    _decide(con, approvers, {"po_id": "PO-A", "decision": "set_qty", "item_id": "FOODS_1", "ship_to": "CA_1",
                             "qty": 120, "approver": "ana", "note": "promo over"},
            {"po_id": "PO-A", "decision": "approve", "approver": "ana"})
    at = pd.Timestamp("2026-01-02 08:00", tz="UTC")
    result = release_purchase_orders(con, tmp_path / "exports", released_by="ana", at=at)
    lines = result.lines.set_index("item_id")
    # PO-B needs approval and is not released; PO-C is auto-approved
    assert sorted(lines.index) == ["FOODS_1", "FOODS_2", "HOUSEHOLD_1"]
    assert lines.loc["FOODS_1", ["qty", "proposed_qty", "order_value", "approver"]].tolist() == [120, 600, 6_200.0, "ana"]
    assert lines.loc["HOUSEHOLD_1", "approver"] == "auto-approved"
    folder = tmp_path / "exports" / "released" / "2026-01-02" / result.release_id
    assert sorted(p.name for p in folder.iterdir()) == ["acme.csv", "acme.xlsx", "calm.csv", "calm.xlsx"]
    sent = pd.read_csv(folder / "acme.csv")
    assert sent["qty"].tolist() == [120, 480]
    # the supplier gets the order, not the buyers' reasons, notes and names
    assert list(sent.columns) == SUPPLIER_FILE_COLUMNS
    assert not {"reason", "approval", "approver", "approval_note", "released_by", "proposed_qty"} & set(sent.columns)
    assert _count(con, "released_purchase_orders") == 3
    assert con.execute("SELECT count(*) FROM po_audit WHERE action = 'release'").fetchall()[0][0] == 2
    again = release_purchase_orders(con, tmp_path / "exports", released_by="ana")
    assert again.lines.empty and _count(con, "released_purchase_orders") == 3
    queue, _ = review_overview(con)
    assert queue.set_index("po_id")["status"].to_dict() == {"PO-B": "needs_approval", "PO-A": "released",
                                                           "PO-C": "released", "RJ-D": "rejected"}


def test_a_release_that_cannot_write_its_files_releases_nothing(con, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the exports folder should be")
    with pytest.raises(OSError):
        release_purchase_orders(con, blocker, released_by="ana")
    assert _count(con, "released_purchase_orders") == 0
    assert con.execute("SELECT count(*) FROM po_audit WHERE action = 'release'").fetchall()[0][0] == 0


def test_a_run_that_changes_a_po_voids_its_approval_once(con, approvers, po_lines):
    _decide(con, approvers, {"po_id": "PO-A", "decision": "approve", "approver": "ana"})
    lines = con.execute("SELECT * FROM purchase_order_proposals").df()
    assert audit_voided_decisions(con, lines, run_id="same") == 0  # unchanged: nothing void
    changed = lines.copy()
    changed.loc[changed["po_id"] == "PO-A", "po_version"] = "new-version1"
    con.register("_new", changed)
    con.execute("CREATE OR REPLACE TABLE purchase_order_proposals AS SELECT * FROM _new")
    con.unregister("_new")
    assert audit_voided_decisions(con, changed, run_id="run-2") == 1
    assert audit_voided_decisions(con, changed, run_id="run-3") == 0
    row = con.execute("SELECT action, from_status, to_status, run_id, reason FROM po_audit WHERE action = 'void'").fetchall()
    old = lines.loc[lines["po_id"] == "PO-A", "po_version"].iloc[0]
    assert row == [("void", "approved", "needs_approval", "run-2",
                    f"approve by ana on version {old} void: this run changed the PO to version new-version1; back in "
                    "the queue")]
    queue, _ = review_overview(con)
    assert queue.set_index("po_id").loc["PO-A", "status"] == "needs_approval"


def test_an_older_audit_gains_the_buyer_columns_and_line_statuses_ignore_decisions(con, approvers):
    old = pd.DataFrame([["PO-A", "FOODS_1", "CA_1", pd.Timestamp("2016-05-21"), "none", "needs_approval", "new",
                         "run-0", pd.Timestamp("2026-01-01", tz="UTC")]], columns=AUDIT_COLUMNS)
    con.register("_old", old)
    con.execute("DROP TABLE po_audit")
    con.execute("CREATE TABLE po_audit AS SELECT * FROM _old")
    con.unregister("_old")
    _decide(con, approvers, {"po_id": "PO-A", "decision": "approve", "approver": "ana"})
    audit = con.execute("SELECT * FROM po_audit ORDER BY recorded_at").df()
    assert len(audit) == 2 and audit["action"].tolist() == [None, "approve"]
    # the pipeline's next run sees only line statuses: the decision row is not a line that went away
    lines = con.execute("SELECT * FROM purchase_order_proposals WHERE po_id = 'PO-A' AND item_id = 'FOODS_1'").df()
    changes = audit_changes(audit, lines, run_id="run-1", recorded_at=pd.Timestamp("2026-01-03", tz="UTC"))
    assert changes.empty
    assert append_audit(con, changes) == 0
