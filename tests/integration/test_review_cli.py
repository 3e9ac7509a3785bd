"""``supplycast review`` as a buyer runs it (one real subprocess, the rest through the same ``main`` in process) on a
warehouse with hand-made proposals.

PO-A (acme, 55,800 USD) needs approval by value, PO-B (risky) by supplier risk, PO-C (calm,
280 USD) is auto-approved, RJ-D had no feasible offer. ``approvers.csv``: ana 100,000, bo 10,000.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _state_env(warehouse: Path) -> dict[str, str]:
    return {"SUPPLYCAST_HOME": str(warehouse.parent), "SUPPLYCAST_EXPORTS": str(warehouse.parent / "exports")}


def _process(warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    """``supplycast review ...`` in its own process, as a buyer types it."""
    return subprocess.run([sys.executable, "-m", "pipelines", "review", *args, "--warehouse", str(warehouse)],
                          cwd=ROOT, env={**os.environ, **_state_env(warehouse)}, capture_output=True, text=True,
                          timeout=300)


def _cli(warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    """The same command line in this process (the same ``main``, its exit code and both streams):
    a dozen decisions would otherwise pay a dozen interpreter start-ups."""
    from pipelines.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in _state_env(warehouse)}
    os.environ.update(_state_env(warehouse))
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(["review", *args, "--warehouse", str(warehouse)])
            except SystemExit as exit_:  # argparse refusals
                code = exit_.code
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(["supplycast", "review", *args], code, out.getvalue(), err.getvalue())


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _counts(warehouse: Path) -> tuple[int, int]:
    return (_rows(warehouse, "SELECT count(*) FROM po_decisions")[0][0],
            _rows(warehouse, "SELECT count(*) FROM po_audit")[0][0])


def test_list_json_has_the_contract_fields(review_warehouse: Path):
    out = _process(review_warehouse, "list", "--json")
    assert out.returncode == 0, out.stderr
    pos = {p["po_id"]: p for p in json.loads(out.stdout)}
    assert set(pos) == {"PO-A", "PO-B", "PO-C", "RJ-D"}
    for p in pos.values():
        assert {"po_id", "supplier_id", "status", "value_usd", "reason"} <= set(p)
    assert {k: p["status"] for k, p in pos.items()} == {"PO-A": "needs_approval", "PO-B": "needs_approval",
                                                         "PO-C": "auto_approved", "RJ-D": "rejected"}
    assert pos["PO-A"]["value_usd"] == 55_800 and pos["PO-A"]["rank"] == 1
    text = _cli(review_warehouse, "list")
    assert text.returncode == 0 and "2 of 3 purchase orders need approval" in text.stdout


def test_decision_paths_and_their_outcomes(review_warehouse: Path, tmp_path: Path):
    wh = review_warehouse
    bad = [
        (("approve", "PO-X", "--by", "ana"), "PO_ID: unknown PO id 'PO-X'"),
        (("approve", "PO-A"), "--by: missing: every decision needs a named approver"),
        (("reject", "PO-B", "--by", "ana"), "--note: missing: a reject decision needs a note"),
        (("set-qty", "PO-A", "FOODS_1", "CA_1", "30", "--by", "ana", "--note", "x"),
         "QTY: 30 is not a multiple of the pack size 12 for FOODS_1"),
        (("set-qty", "PO-A", "FOODS_1", "CA_1", "6", "--by", "ana", "--note", "x"), "QTY: 6 is below the MOQ of 12"),
        (("approve", "PO-A", "--by", "ana", "--version", "000000000000"), "--version: stale version 000000000000"),
    ]
    for args, message in bad:
        out = _cli(wh, *args)
        assert out.returncode == 1, args
        assert message in out.stderr and "nothing recorded" in out.stderr, out.stderr
    assert _counts(wh) == (0, 0)

    refused = _cli(wh, "approve", "PO-A", "--by", "bo")
    assert refused.returncode == 1
    assert "PO value 55,800.00 USD is above bo's signing limit of 10,000.00 USD" in refused.stderr
    unknown = _cli(wh, "approve", "PO-C", "--by", "eve")
    assert unknown.returncode == 1 and "unknown approver 'eve'" in unknown.stderr
    assert _counts(wh) == (0, 2)
    assert _rows(wh, "SELECT actor, action, channel FROM po_audit ORDER BY recorded_at") == [
        ("bo", "refused", "cli"), ("eve", "refused", "cli")]

    ok = _cli(wh, "set-qty", "PO-A", "FOODS_1", "CA_1", "120", "--by", "ana", "--note", "promo over")
    assert ok.returncode == 0, ok.stderr
    assert "recorded: set_qty qty 120 for FOODS_1 to CA_1 on PO-A" in ok.stdout
    assert _cli(wh, "approve", "PO-A", "--by", "ana", "--note", "checked").returncode == 0
    twice = _cli(wh, "approve", "PO-A", "--by", "ana")
    assert twice.returncode == 1 and "was already decided: approve by ana" in twice.stderr
    assert _cli(wh, "reject", "PO-B", "--by", "ana", "--note", "supplier on hold").returncode == 0
    assert _rows(wh, "SELECT decision, po_id, qty, approver, channel FROM po_decisions ORDER BY decided_at") == [
        ("set_qty", "PO-A", 120, "ana", "cli"), ("approve", "PO-A", None, "ana", "cli"),
        ("reject", "PO-B", None, "ana", "cli")]

    # only a listed approver sends orders to suppliers
    stranger = _cli(wh, "release", "--by", "eve")
    assert stranger.returncode == 1 and "'eve' is not listed there" in stranger.stderr
    assert "nothing recorded" in stranger.stderr and not (wh.parent / "exports" / "released").exists()
    release = _cli(wh, "release", "--by", "ANA", "--json")
    assert release.returncode == 0, release.stderr
    done = json.loads(release.stdout)
    # PO-A (approved, FOODS_1 cut to 120: 6,200 + 24,800) and PO-C (auto-approved, 280); PO-B rejected
    assert done["purchase_orders"] == ["PO-A", "PO-C"] and done["lines"] == 3 and done["value_usd"] == 31_280
    for supplier in ("acme", "calm"):
        assert {Path(p).suffix for p in done["files"][supplier].values()} == {".csv", ".xlsx"}
        assert all(Path(p).is_file() for p in done["files"][supplier].values())
    again = _cli(wh, "release", "--by", "ana")
    assert again.returncode == 0 and "nothing to release" in again.stdout
    assert _rows(wh, "SELECT count(*) FROM released_purchase_orders")[0][0] == 3
    statuses = {p["po_id"]: p["status"] for p in json.loads(_cli(wh, "list", "--json").stdout)}
    assert statuses == {"PO-A": "released", "PO-B": "rejected", "PO-C": "released", "RJ-D": "rejected"}


def test_a_buyer_takes_back_an_approval_and_a_quantity_typo_before_release(review_warehouse: Path):
    wh = review_warehouse
    assert _cli(wh, "set-qty", "PO-A", "FOODS_1", "CA_1", "12", "--by", "ana", "--note", "promo over").returncode == 0
    # the typo (12 for 120) is corrected while PO-A waits: the later quantity replaces it
    fix = _cli(wh, "set-qty", "PO-A", "FOODS_1", "CA_1", "120", "--by", "ana", "--note", "typo: 120")
    assert fix.returncode == 0, fix.stderr
    assert _cli(wh, "approve", "PO-A", "--by", "ana").returncode == 0
    nothing = _cli(wh, "reopen", "PO-C", "--by", "ana", "--note", "x")
    assert nothing.returncode == 1 and "no approval or rejection to reopen" in nothing.stderr
    no_note = _cli(wh, "reopen", "PO-A", "--by", "ana")
    assert no_note.returncode == 1 and "--note: missing: a reopen decision needs a note" in no_note.stderr
    back = _cli(wh, "reopen", "PO-A", "--by", "bo", "--note", "DC has no room this week")
    assert back.returncode == 0, back.stderr
    assert "recorded: reopen on PO-A" in back.stdout
    po_a = {p["po_id"]: p for p in json.loads(_cli(wh, "list", "--json").stdout)}["PO-A"]
    assert po_a["status"] == "needs_approval"
    assert po_a["reason"].startswith("reopened by bo: DC has no room this week; quantity changed by ana on 1 line(s)")
    # FOODS_1 at 120: 120 x 50 + 1,000 x 120/600 + 24,800 = 31,000
    assert po_a["value_usd"] == 31_000
    assert _rows(wh, "SELECT action, from_status, to_status, actor FROM po_audit WHERE action = 'reopen'") == [
        ("reopen", "approved", "needs_approval", "bo")]
    release = _cli(wh, "release", "--by", "ana", "--json")
    assert json.loads(release.stdout)["purchase_orders"] == ["PO-C"]  # a reopened PO waits for its approval
    assert _cli(wh, "approve", "PO-A", "--by", "ana", "--note", "room found").returncode == 0
    release = _cli(wh, "release", "--by", "ana", "--json")
    assert json.loads(release.stdout)["purchase_orders"] == ["PO-A"]
    assert _rows(wh, "SELECT item_id, qty FROM released_purchase_orders WHERE po_id = 'PO-A' ORDER BY item_id") == [
        ("FOODS_1", 120), ("FOODS_2", 480)]
    late = _cli(wh, "reopen", "PO-A", "--by", "ana", "--note", "too late")
    assert late.returncode == 1 and "already released" in late.stderr


def test_spreadsheet_with_a_mistake_records_nothing_then_the_fixed_one_records_all(review_warehouse: Path, filled_in_sheet,
                                                                                 tmp_path: Path):
    wh = review_warehouse
    wrong = filled_in_sheet(wh, tmp_path, {0: {"new_qty": 120, "approver": "ana", "note": "promo over", "decision": "approve"},
                                  1: {"new_qty": 100, "approver": "ana", "note": "fewer", "decision": "approve"},
                                  2: {"decision": "reject", "approver": "ana", "note": "on hold"}})
    out = _cli(wh, "import", str(wrong))
    assert out.returncode == 1
    assert ("filled_in.xlsx row 3, column F (new_qty): 100 is not a multiple of the pack size 12 for FOODS_2"
            in out.stderr), out.stderr
    assert _counts(wh) == (0, 0)
    fixed = filled_in_sheet(wh, tmp_path, {0: {"new_qty": 120, "approver": "ana", "note": "promo over", "decision": "approve"},
                                  1: {"new_qty": 96, "approver": "ana", "note": "fewer", "decision": "approve"},
                                  2: {"decision": "reject", "approver": "ana", "note": "on hold"}})
    out = _cli(wh, "import", str(fixed))
    assert out.returncode == 0, out.stderr
    rows = pd.DataFrame(_rows(wh, "SELECT po_id, decision, item_id, qty, channel FROM po_decisions"),
                        columns=["po_id", "decision", "item_id", "qty", "channel"])
    assert sorted(rows[["po_id", "decision"]].itertuples(index=False, name=None)) == [
        ("PO-A", "approve"), ("PO-A", "set_qty"), ("PO-A", "set_qty"), ("PO-B", "reject")]
    assert set(rows["channel"]) == {"spreadsheet"}
    assert _rows(wh, "SELECT count(*) FROM po_audit WHERE channel = 'spreadsheet'")[0][0] == 4
