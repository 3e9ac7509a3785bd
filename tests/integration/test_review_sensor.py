"""The Dagster side of the review: the decisions inbox sensor, the review job's typed Launchpad config,
and the runs that record a sheet (processed/) or refuse it (rejected/ with an error report)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context
from dagster._core.errors import DagsterInvalidConfigError
from dagster_duckdb import DuckDBResource

pytestmark = pytest.mark.integration


@pytest.fixture()
def state(review_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SUPPLYCAST_HOME", str(review_warehouse.parent))
    return review_warehouse.parent


def _settled(path: Path) -> Path:
    old = time.time() - 60  # saved a minute ago: the sensor takes it
    os.utime(path, (old, old))
    return path


def _tick():
    from pipelines.review_jobs import decisions_inbox_sensor

    result = decisions_inbox_sensor(build_sensor_context())
    return list(result) if result is not None else []


def _run(warehouse: Path, run_config: dict):
    from pipelines.definitions import defs

    with DagsterInstance.ephemeral() as instance:
        return defs.resolve_job_def("review_purchase_orders").execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False,
            resources={"duckdb": DuckDBResource(database=str(warehouse))})


def _decisions(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT po_id, decision, item_id, qty, approver, channel FROM po_decisions "
                           "ORDER BY decision, item_id").fetchall()
    finally:
        con.close()


def test_sensor_runs_each_sheet_and_the_run_files_it(state: Path, review_warehouse: Path, filled_in_sheet):
    from assets.review import inbox_dir

    inbox = inbox_dir()
    assert inbox == state / "inbox" / "decisions"
    first = _tick()
    assert len(first) == 1 and isinstance(first[0], SkipReason)

    good = _settled(filled_in_sheet(review_warehouse, inbox, name="monday", edits={
        0: {"new_qty": 120, "decision": "approve", "approver": "ana", "note": "promo over"},
        1: {"decision": "approve", "approver": "ana"}}))
    (inbox / "notes.txt").write_text("not a sheet")
    (inbox / "~$monday.xlsx").write_text("excel lock file")
    requests = _tick()
    assert [type(r) for r in requests] == [RunRequest]
    assert requests[0].run_config == {"ops": {"po_decisions": {"config": {"spreadsheet": str(good)}}}}
    assert requests[0].run_key.startswith("decisions-monday.xlsx-")
    # not a sheet: filed as rejected at once, with the reason; Excel's lock file is left alone
    assert (inbox / "rejected" / "notes.txt").is_file()
    assert "not a proposals sheet" in (inbox / "rejected" / "notes.txt.errors.txt").read_text()
    assert (inbox / "~$monday.xlsx").is_file()

    result = _run(review_warehouse, requests[0].run_config)
    assert result.success
    assert not good.exists() and (inbox / "processed" / "monday.xlsx").is_file()
    assert "recorded 2 decision(s)" in (inbox / "processed" / "monday.xlsx.report.txt").read_text()
    assert _decisions(review_warehouse) == [("PO-A", "approve", None, None, "ana", "spreadsheet"),
                                            ("PO-A", "set_qty", "FOODS_1", 120, "ana", "spreadsheet")]
    meta = result.asset_materializations_for_node("po_decisions")[0].metadata
    assert meta["channel"].value == "spreadsheet" and meta["pos_needing_approval"].value == 1


def test_a_sheet_with_a_mistake_is_rejected_with_a_report_and_records_nothing(state: Path, review_warehouse: Path,
                                                                              filled_in_sheet):
    from assets.review import inbox_dir

    inbox = inbox_dir()
    bad = _settled(filled_in_sheet(review_warehouse, inbox, name="tuesday", edits={
        0: {"new_qty": 120, "decision": "approve", "approver": "ana"},
        1: {"new_qty": "a dozen", "approver": "ana", "note": "x"}}))
    (request,) = _tick()
    result = _run(review_warehouse, request.run_config)
    assert not result.success
    assert not bad.exists() and (inbox / "rejected" / "tuesday.xlsx").is_file()
    report = (inbox / "rejected" / "tuesday.xlsx.errors.txt").read_text()
    assert "tuesday.xlsx row 3, column F (new_qty): 'a dozen' is not a whole number" in report
    assert _decisions(review_warehouse) == []
    assert isinstance(_tick()[0], SkipReason)


def test_launchpad_decisions_are_typed_and_recorded_as_ui(state: Path, review_warehouse: Path):
    with pytest.raises(DagsterInvalidConfigError, match="not in enum"):
        _run(review_warehouse, {"ops": {"po_decisions": {"config": {"decisions": [
            {"po_id": "PO-C", "decision": "approv", "approver": "ana"}]}}}})
    refused = _run(review_warehouse, {"ops": {"po_decisions": {"config": {"decisions": [
        {"po_id": "PO-C", "decision": "approve", "approver": "ana"},
        {"po_id": "PO-B", "decision": "reject", "approver": "ana"}]}}}})
    assert not refused.success
    failure = next(e for e in refused.all_events if e.event_type_value == "STEP_FAILURE")
    assert "decisions[1], note: missing: a reject decision needs a note" in failure.event_specific_data.error.message
    assert _decisions(review_warehouse) == []
    ok = _run(review_warehouse, {"ops": {"po_decisions": {"config": {"release": True, "decisions": [
        {"po_id": "PO-A", "decision": "approve", "approver": "ana", "note": "checked"},
        {"po_id": "PO-B", "decision": "reject", "approver": "ana", "note": "supplier on hold"}]}}}})
    assert ok.success
    assert _decisions(review_warehouse) == [("PO-A", "approve", None, None, "ana", "ui"),
                                            ("PO-B", "reject", None, None, "ana", "ui")]
    meta = ok.asset_materializations_for_node("po_decisions")[0].metadata
    assert meta["released_purchase_orders"].value == 2  # PO-A approved, PO-C auto-approved
    assert meta["pos_by_status"].value == {"released": 2, "rejected": 2}
    exports = review_warehouse.parent / "exports" / "released"
    assert sorted(p.name for p in exports.rglob("*.csv")) == ["acme.csv", "calm.csv"]
    # the rejection taken back in the Launchpad: PO-B waits again
    back = _run(review_warehouse, {"ops": {"po_decisions": {"config": {"decisions": [
        {"po_id": "PO-B", "decision": "reopen", "approver": "bo", "note": "supplier back"}]}}}})
    assert back.success
    assert _decisions(review_warehouse)[-1] == ("PO-B", "reopen", None, None, "bo", "ui")
    meta = back.asset_materializations_for_node("po_decisions")[0].metadata
    assert meta["pos_by_status"].value == {"released": 2, "needs_approval": 1, "rejected": 1}
