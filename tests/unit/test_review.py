"""Decision rules on purchase orders: validation, authority, status, release, on order, spreadsheets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from procurement.approval import assess_purchase_orders
from procurement.review import (
    DecisionError,
    add_released_on_order,
    decisions_frame,
    effective_lines,
    load_approvers,
    parse_decision_sheet,
    po_state,
    releasable_lines,
    released_on_order,
    validate_decisions,
    voided_decisions,
    with_decision_columns,
)
from warehouse.exports import export_table

AS_OF = pd.Timestamp("2016-05-21")
DECISION_COLS = ["decision_id", "batch_id", "po_id", "po_version", "decision", "item_id", "ship_to", "qty",
                 "approver", "note", "channel", "decided_at"]


def no_decisions() -> pd.DataFrame:
    return pd.DataFrame(columns=DECISION_COLS)


def no_releases() -> pd.DataFrame:
    return pd.DataFrame(columns=["po_id", "po_version", "released_at", "approver"])


APPROVERS = pd.DataFrame({"approver": ["Ana", "bo"], "limit_usd": [100_000.0, 10_000.0]})


def batch(*records: dict) -> pd.DataFrame:
    return decisions_frame(list(records))


def rec(po="PO-A", decision="approve", approver="ana", **kw) -> dict:
    return {"po_id": po, "decision": decision, "approver": approver, **kw}


def accepted_rows(check, at="2026-01-01 10:00") -> pd.DataFrame:
    return check.accepted.assign(decision_id="D", batch_id="B", channel="cli", decided_at=pd.Timestamp(at, tz="UTC"))[
        DECISION_COLS]


def test_policy_statuses_of_the_fixture(po_lines):
    state = po_state(po_lines(), no_decisions(), no_releases()).set_index("po_id")
    assert state["status"].to_dict() == {"PO-A": "needs_approval", "PO-B": "needs_approval", "PO-C": "auto_approved",
                                         "RJ-D": "rejected"}
    assert state.loc["PO-A", "value_usd"] == 55_800


def test_approvers_file(tmp_path: Path):
    assert load_approvers(tmp_path / "approvers.csv") is None
    good = tmp_path / "approvers.csv"
    good.write_text("approver,limit_usd\nAna,100000\nbo,\"10,000\"\n")
    assert load_approvers(good).to_dict("list") == {"approver": ["Ana", "bo"], "limit_usd": [100_000.0, 10_000.0]}
    bad = tmp_path / "bad.csv"
    bad.write_text("approver,limit_usd\nAna,lots\nana,5\n")
    with pytest.raises(DecisionError) as err:
        load_approvers(bad)
    assert [str(p) for p in err.value.problems] == [
        "bad.csv row 2, limit_usd: 'lots' is not a signing limit in USD (a number >= 0)",
        "bad.csv row 3, approver: 'ana' already listed in row 2"]


@pytest.mark.parametrize(("record", "column", "message"), [
    (rec(po="PO-X"), "po_id", "unknown PO id 'PO-X'"),
    (rec(po_version="0123456789ab"), "po_version", "stale version 0123456789ab"),
    (rec(approver=""), "approver", "missing: every decision needs a named approver"),
    (rec(decision="reject"), "note", "a reject decision needs a note"),
    (rec(decision="okay"), "decision", "'okay' is not one of approve, reject, set_qty"),
    (rec(decision="set_qty", item_id="FOODS_1", qty=6, note="n"), "qty", "6 is below the MOQ of 12"),
    (rec(decision="set_qty", item_id="FOODS_1", qty=30, note="n"), "qty",
     "30 is not a multiple of the pack size 12 for FOODS_1 (nearest: 24 or 36)"),
    (rec(decision="set_qty", item_id="FOODS_1", qty="ten", note="n"), "qty", "'ten' is not a whole number"),
    (rec(decision="set_qty", item_id="FOODS_9", qty=12, note="n"), "item_id", "PO-A has no line for item 'FOODS_9'"),
    (rec(po="RJ-D"), "po_id", "no feasible offer"),
])
def test_problems_record_nothing_and_say_where(record, column, message, po_lines):
    check = validate_decisions(batch(record), po_lines(), no_decisions(), no_releases(), APPROVERS)
    assert check.accepted.empty and check.refused.empty
    assert len(check.problems) == 1
    assert check.problems[0].column == column and message in check.problems[0].message
    assert check.problems[0].source == "decision 1"


def test_one_bad_decision_stops_the_whole_batch(po_lines):
    check = validate_decisions(batch(rec(po="PO-C"), rec(po="PO-X")), po_lines(), no_decisions(), no_releases(),
                               APPROVERS)
    assert check.accepted.empty and [p.source for p in check.problems] == ["decision 2"]


def test_authority_unknown_approver_missing_file_and_signing_limit(po_lines):
    lines = po_lines()
    ok = validate_decisions(batch(rec(approver="ANA")), lines, no_decisions(), no_releases(), APPROVERS)
    assert not ok.problems and ok.refused.empty and list(ok.accepted["approver"]) == ["Ana"]  # the listed spelling
    over = validate_decisions(batch(rec(approver="bo")), lines, no_decisions(), no_releases(), APPROVERS)
    assert over.accepted.empty
    assert over.refused["refusal"].iloc[0] == ("PO value 55,800.00 USD is above bo's signing limit of "
                                               "10,000.00 USD")
    who = validate_decisions(batch(rec(approver="eve")), lines, no_decisions(), no_releases(), APPROVERS)
    assert who.refused["refusal"].iloc[0] == "unknown approver 'eve' (not in approvers.csv)"
    nobody = validate_decisions(batch(rec(po="PO-C")), lines, no_decisions(), no_releases(), None)
    assert nobody.refused["refusal"].iloc[0] == ("no approvers file (approvers.csv): no one may decide; create it "
                                                 "with a header line 'approver,limit_usd' and a line per person, "
                                                 "e.g. 'ana,50000'")
    # the limit applies to the value after the batch's own quantity changes: 55,800 - 480 x 50 - 800 = 31,000
    cut = batch(rec(decision="set_qty", item_id="FOODS_2", ship_to="CA_1", qty=0, note="drop"), rec(approver="bo"))
    assert validate_decisions(cut, lines, no_decisions(), no_releases(), APPROVERS).refused["refusal"].iloc[0] == (
        "PO value 31,000.00 USD is above bo's signing limit of 10,000.00 USD")


def test_four_eyes_whoever_raised_a_line_does_not_approve_the_po(po_lines):
    lines = po_lines()
    approvers = pd.concat([APPROVERS, pd.DataFrame({"approver": ["cy"], "limit_usd": [100_000.0]})], ignore_index=True)
    more = rec(decision="set_qty", item_id="FOODS_1", qty=660, note="promo week")
    # raised and approved by the same person, in one batch or two: refused (and audited), nothing recorded
    own = validate_decisions(batch(more, rec()), lines, no_decisions(), no_releases(), approvers)
    assert own.accepted.empty and own.refused["refusal"].tolist() == [
        "Ana raised FOODS_1 on PO-A from 600 to 660: a PO whose quantities its approver raised needs another "
        "approver's approval"]
    so_far = accepted_rows(validate_decisions(batch(more), lines, no_decisions(), no_releases(), approvers))
    later = validate_decisions(batch(rec(approver="ANA")), lines, so_far, no_releases(), approvers)
    assert later.accepted.empty and later.refused["refusal"].iloc[0].startswith("Ana raised FOODS_1 on PO-A")
    # a second person approves it
    other = validate_decisions(batch(rec(approver="cy")), lines, so_far, no_releases(), approvers)
    assert other.refused.empty and other.accepted["approver"].tolist() == ["cy"]
    # cutting a line and approving stays one person's decision; so does approving after another's raise
    cut = validate_decisions(batch(rec(decision="set_qty", item_id="FOODS_2", qty=240, note="half"), rec()), lines,
                             no_decisions(), no_releases(), approvers)
    assert cut.refused.empty and len(cut.accepted) == 2
    # the raise taken back to the proposal by a later set_qty: Ana's raise is no longer in force
    back = pd.concat([so_far, accepted_rows(validate_decisions(batch(rec(decision="set_qty", item_id="FOODS_1",
                                                                         qty=600, approver="cy", note="as proposed")),
                                                               lines, so_far, no_releases(), approvers),
                                            "2026-01-01 11:00")], ignore_index=True)
    assert validate_decisions(batch(rec()), lines, back, no_releases(), approvers).refused.empty


def test_decisions_change_status_a_correction_replaces_and_a_repeat_is_refused(po_lines):
    lines = po_lines()
    first = validate_decisions(batch(rec(decision="set_qty", item_id="FOODS_1", qty=120, note="promo over")), lines,
                               no_decisions(), no_releases(), APPROVERS)
    so_far = accepted_rows(first)
    state = po_state(lines, so_far, no_releases()).set_index("po_id")
    assert state.loc["PO-A", "status"] == "needs_approval"
    assert state.loc["PO-A", "status_reason"].startswith("quantity changed by Ana on 1 line(s)")
    # 120 x 50 + 1000 x 120/600 + 24,800 = 31,000
    assert state.loc["PO-A", "value_usd"] == 31_000
    again = validate_decisions(batch(rec(decision="set_qty", item_id="FOODS_1", qty=120, note="again")), lines,
                               so_far, no_releases(), APPROVERS)
    assert "already set to 120 by Ana" in again.problems[0].message
    # a typo corrected before anyone approved: the later quantity replaces the earlier one
    fix = validate_decisions(batch(rec(decision="set_qty", item_id="FOODS_1", qty=240, approver="bo", note="typo")),
                             lines, so_far, no_releases(), APPROVERS)
    assert not fix.problems and list(fix.accepted["qty"]) == [240]
    so_far = pd.concat([so_far, accepted_rows(fix, "2026-01-01 10:30")], ignore_index=True)
    state = po_state(lines, so_far, no_releases()).set_index("po_id")
    # 240 x 50 + 1000 x 240/600 + 24,800 = 37,200
    assert state.loc["PO-A", "value_usd"] == 37_200
    assert state.loc["PO-A", "status_reason"].startswith("quantity changed by bo on 1 line(s)")
    approve = validate_decisions(batch(rec(note="ok")), lines, so_far, no_releases(), APPROVERS)
    so_far = pd.concat([so_far, accepted_rows(approve, "2026-01-01 11:00")], ignore_index=True)
    state = po_state(lines, so_far, no_releases()).set_index("po_id")
    assert state.loc["PO-A", "status"] == "approved" and state.loc["PO-A", "approver"] == "Ana"
    version = lines["po_version"].iloc[0]
    for late in (rec(decision="reject", note="changed my mind"),
                 rec(decision="set_qty", item_id="FOODS_1", qty=360, note="more")):
        twice = validate_decisions(batch(late), lines, so_far, no_releases(), APPROVERS)
        assert twice.problems[0].message.startswith(f"PO-A version {version} was already decided: approve by Ana")
        assert twice.problems[0].message.endswith("(to change it, reopen it first with a note)")


def test_reopen_takes_a_decision_back_until_release(po_lines):
    lines = po_lines()
    version = lines["po_version"].iloc[0]
    so_far = accepted_rows(validate_decisions(batch(rec(), rec(po="PO-B", decision="reject", note="on hold")), lines,
                                              no_decisions(), no_releases(), APPROVERS))
    for wrong, column, message in (
            (rec(decision="reopen"), "note", "a reopen decision needs a note"),
            (rec(po="PO-C", decision="reopen", note="n"), "po_id",
             "PO-C version " + lines.loc[lines["po_id"] == "PO-C", "po_version"].iloc[0]
             + " is auto_approved with no approval or rejection to reopen")):
        check = validate_decisions(batch(wrong), lines, so_far, no_releases(), APPROVERS)
        assert [(p.column, p.message) for p in check.problems][-1][0] == column
        assert message in check.problems[-1].message and check.accepted.empty
    # one of approve, reject, reopen per PO and batch
    both = validate_decisions(batch(rec(decision="reopen", note="x"), rec(decision="approve")), lines, so_far,
                              no_releases(), APPROVERS)
    assert any("decided twice in this batch" in p.message for p in both.problems)
    # any listed approver may reopen (bo's limit is below PO-A's value: reopening commits no money)
    reopen = validate_decisions(batch(rec(decision="reopen", approver="bo", note="approved too early"),
                                      rec(po="PO-B", decision="reopen", approver="bo", note="supplier back")),
                                lines, so_far, no_releases(), APPROVERS)
    assert not reopen.problems and reopen.refused.empty
    so_far = pd.concat([so_far, accepted_rows(reopen, "2026-01-01 11:00")], ignore_index=True)
    state = po_state(lines, so_far, no_releases()).set_index("po_id")
    assert state.loc["PO-A", "status"] == "needs_approval" and state.loc["PO-A", "approver"] == ""
    assert state.loc["PO-A", "status_reason"].startswith("reopened by bo: approved too early; ")
    assert state.loc["PO-B", "status"] == "needs_approval"
    assert releasable_lines(lines, so_far, no_releases())["po_id"].unique().tolist() == ["PO-C"]
    # reopened: a quantity can change again
    change = validate_decisions(batch(rec(decision="set_qty", item_id="FOODS_2", qty=240, note="half")), lines,
                                so_far, no_releases(), APPROVERS)
    assert not change.problems
    again = validate_decisions(batch(rec(note="second look")), lines, so_far, no_releases(), APPROVERS)
    so_far = pd.concat([so_far, accepted_rows(again, "2026-01-01 12:00")], ignore_index=True)
    state = po_state(lines, so_far, no_releases()).set_index("po_id")
    assert state.loc["PO-A", ["status", "status_reason"]].tolist() == ["approved", "approved by Ana: second look"]
    # reopen and change a line in one batch (the reopen is taken first, whatever the order)
    redo = validate_decisions(batch(rec(decision="set_qty", item_id="FOODS_1", qty=120, note="cut"),
                                    rec(decision="reopen", note="cut a line")), lines, so_far, no_releases(), APPROVERS)
    assert not redo.problems and sorted(redo.accepted["decision"]) == ["reopen", "set_qty"]
    released = releasable_lines(lines, so_far, no_releases()).assign(released_at=pd.Timestamp("2026-01-02", tz="UTC"))
    late = validate_decisions(batch(rec(decision="reopen", note="too late")), lines, so_far, released, APPROVERS)
    assert "already released" in late.problems[0].message
    assert version == state.loc["PO-A", "po_version"]


def test_effective_lines_scale_freight_and_co2e(po_lines):
    lines = po_lines()
    check = validate_decisions(batch(rec(decision="set_qty", item_id="FOODS_1", qty=300, note="half")), lines,
                               no_decisions(), no_releases(), APPROVERS)
    eff = effective_lines(lines, accepted_rows(check)).set_index("item_id")
    assert eff.loc["FOODS_1", ["qty", "proposed_qty", "line_value", "freight_cost", "co2e_kg", "order_value"]].tolist() == [
        300, 600, 15_000.0, 500.0, 150.0, 15_500.0]
    assert eff.loc["FOODS_2", "qty"] == 480


def test_a_changed_po_voids_earlier_decisions_and_returns_to_the_queue(po_lines):
    lines = po_lines()
    approve = validate_decisions(batch(rec()), lines, no_decisions(), no_releases(), APPROVERS)
    so_far = accepted_rows(approve)
    changed = lines.copy()
    changed.loc[changed["item_id"] == "FOODS_1", "qty"] = 612
    refs = pd.DataFrame({"protect_days": 11, "forecast_units": 1e6, "history_units": 1e6}, index=changed.index)
    changed = changed.drop(columns=[c for c in assess_purchase_orders(changed, refs).columns]).join(
        assess_purchase_orders(changed.assign(status=np.where(changed["po_id"] == "RJ-D", "rejected", "x")), refs))
    old, new = lines["po_version"].iloc[0], changed["po_version"].iloc[0]
    assert old != new
    void = voided_decisions(changed, so_far, no_releases(), pd.DataFrame(columns=["po_id", "po_version"]))
    assert void[["po_id", "po_version", "new_version", "decision"]].values.tolist() == [["PO-A", old, new, "approve"]]
    assert voided_decisions(changed, so_far, no_releases(), void[["po_id", "po_version"]]).empty  # audited once
    state = po_state(changed, so_far, no_releases()).set_index("po_id")
    assert state.loc["PO-A", "status"] == "needs_approval"
    assert state.loc["PO-A", "status_reason"] == (f"back in the queue: approve by Ana on version {old} void, a later "
                                                  f"run changed the PO to version {new}")
    stale = validate_decisions(batch(rec(po_version=old)), changed, so_far, no_releases(), APPROVERS)
    assert stale.problems[0].column == "po_version"
    # an approval taken back before the run was not in force: nothing of it to void
    reopened = pd.concat([so_far, accepted_rows(validate_decisions(batch(rec(decision="reopen", note="wait")), lines,
                                                                   so_far, no_releases(), APPROVERS),
                                                "2026-01-01 11:00")], ignore_index=True)
    assert voided_decisions(changed, reopened, no_releases(), pd.DataFrame(columns=["po_id", "po_version"])).empty
    state = po_state(changed, reopened, no_releases()).set_index("po_id")
    assert state.loc["PO-A", "status"] == state.loc["PO-A", "policy_status"]  # the run's own verdict, nothing void
    assert "void" not in state.loc["PO-A", "status_reason"]


def test_release_only_approved_and_auto_approved_never_twice(po_lines):
    lines = po_lines()
    out = releasable_lines(lines, no_decisions(), no_releases())
    assert set(out["po_id"]) == {"PO-C"} and list(out["approver"]) == ["auto-approved"]
    check = validate_decisions(batch(rec(), rec(po="PO-B", decision="reject", note="supplier on hold")), lines,
                               no_decisions(), no_releases(), APPROVERS)
    so_far = accepted_rows(check)
    out = releasable_lines(lines, so_far, no_releases())
    assert set(out["po_id"]) == {"PO-A", "PO-C"}
    assert out.set_index("po_id")["approver"].to_dict() == {"PO-A": "Ana", "PO-C": "auto-approved"}
    released = out.assign(released_at=pd.Timestamp("2026-01-01", tz="UTC"))
    assert releasable_lines(lines, so_far, released).empty
    late = validate_decisions(batch(rec(po="PO-C")), lines, so_far, released, APPROVERS)
    assert "already released" in late.problems[0].message


def test_released_quantities_are_on_order_until_they_arrive():
    released = pd.DataFrame({
        "ship_to": ["CA_1", "CA_1", "CA_1", "CA_1"], "item_id": ["A", "A", "B", "C"], "qty": [12, 24, 6, 10],
        "order_date": pd.to_datetime(["2016-05-21", "2016-05-21", "2016-05-18", "2016-05-22"]),
        "expected_arrival": pd.to_datetime(["2016-05-25", "2016-05-28", "2016-05-22", "2016-05-26"]),
    })
    on = released_on_order(released, as_of=pd.Timestamp("2016-05-22"))
    # B arrived on the 22nd; C was ordered on the as-of day itself (a re-run of that day does not count it)
    assert on.to_dict("list") == {"store_id": ["CA_1"], "item_id": ["A"], "on_order_released": [36],
                                  "next_released_arrival": [pd.Timestamp("2016-05-25")], "released_lines": [2]}
    inv = pd.DataFrame({"store_id": "CA_1", "item_id": ["A", "B"], "on_hand": [5, 5], "on_order": [3, 4]})
    out = add_released_on_order(inv, released, as_of=pd.Timestamp("2016-05-22"))
    assert out["on_order"].tolist() == [39, 4] and out["on_order_released"].tolist() == [36, 0]


def _sheet(po_lines, tmp_path: Path, edits: dict[int, dict[str, object]], fmt: str = "xlsx") -> Path:
    sheet = with_decision_columns(po_lines())
    for row, values in edits.items():
        for col, value in values.items():
            sheet.loc[row, col] = value
    return export_table(sheet, tmp_path, "purchase_order_proposals_2016-05-21", formats=[fmt])[fmt]


def test_sheet_round_trip_reads_decisions_with_their_rows(po_lines, tmp_path: Path):
    lines = po_lines()
    path = _sheet(po_lines, tmp_path, {0: {"new_qty": 120, "decision": "approve", "approver": "ana", "note": "promo over"},
                             1: {"decision": "approve", "approver": "ana", "note": "promo over"}})
    parsed = parse_decision_sheet(path)
    assert parsed[["po_id", "decision", "item_id", "qty", "approver"]].values.tolist() == [
        ["PO-A", "set_qty", "FOODS_1", "120", "ana"], ["PO-A", "approve", "", None, "ana"]]
    assert list(parsed["_source"]) == [f"{path.name} row 2", f"{path.name} row 2"]
    assert (parsed["po_version"] == lines["po_version"].iloc[0]).all()
    check = validate_decisions(parsed, lines, no_decisions(), no_releases(), APPROVERS)
    assert not check.problems and not len(check.refused) and len(check.accepted) == 2
    csv = _sheet(po_lines, tmp_path, {3: {"decision": "approve", "approver": "bo"}}, fmt="csv")
    assert parse_decision_sheet(csv)[["po_id", "decision"]].values.tolist() == [["PO-C", "approve"]]
    # reopen with a new quantity on its row: both, the reopen a decision on the whole PO
    redo = _sheet(po_lines, tmp_path, {2: {"decision": "Reopen", "new_qty": 100, "approver": "ana", "note": "recount"}},
                  fmt="csv")
    assert parse_decision_sheet(redo)[["po_id", "decision", "item_id", "qty"]].values.tolist() == [
        ["PO-B", "set_qty", "HOBBIES_1", "100"], ["PO-B", "reopen", "", None]]


def test_sheet_with_a_mistake_names_file_row_and_column(po_lines, tmp_path: Path):
    path = _sheet(po_lines, tmp_path, {1: {"new_qty": "ten", "approver": "ana", "note": "x"},
                             2: {"decision": "approve"},
                             3: {"decision": "yes please", "approver": "bo"}})
    with pytest.raises(DecisionError) as err:
        parse_decision_sheet(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path.name} row 3, column F (new_qty): 'ten' is not a whole number",
        f"{path.name} row 4, column G (approver): missing: every decision needs a named approver",
        f"{path.name} row 5, column E (decision): 'yes please' is not one of approve, reject, reopen, set_qty (or "
        "leave it blank and fill new_qty)"]
    # the sheet parses, but the quantity is off the pack: the validation names the same row and column
    off = _sheet(po_lines, tmp_path, {1: {"new_qty": 100, "approver": "ana", "note": "x"}})
    check = validate_decisions(parse_decision_sheet(off), po_lines(), no_decisions(), no_releases(), APPROVERS)
    assert str(check.problems[0]) == (f"{off.name} row 3, column F (new_qty): 100 is not a multiple of the pack size "
                                      "12 for FOODS_2 (nearest: 96 or 108)")


def test_sheet_without_columns_or_decisions_is_refused(po_lines, tmp_path: Path):
    bare = export_table(po_lines(), tmp_path, "bare", formats=["xlsx"])["xlsx"]
    with pytest.raises(DecisionError, match=r"missing column\(s\) \['decision', 'new_qty', 'approver', 'note'\]"):
        parse_decision_sheet(bare)
    with pytest.raises(DecisionError, match="no decisions found"):
        parse_decision_sheet(_sheet(po_lines, tmp_path, {}))
    conflict = _sheet(po_lines, tmp_path, {0: {"decision": "approve", "approver": "ana"},
                                 1: {"decision": "reject", "approver": "ana", "note": "no"}})
    with pytest.raises(DecisionError, match="row 3, column E \\(decision\\): PO-A: reject by ana .* disagrees with row 2"):
        parse_decision_sheet(conflict)
