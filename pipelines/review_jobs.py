"""The buyer's review job and the decisions inbox sensor.

``review_purchase_orders`` records the decisions typed in its Launchpad config (typed and
validated by :class:`assets.review.ReviewConfig`). ``decisions_inbox_sensor`` watches
``<state>/inbox/decisions/`` and starts that job for each filled-in proposals sheet saved there;
the run records it and moves it to ``processed/``, or to ``rejected/`` with an ``.errors.txt``
report naming the row and column of each mistake. Files that are not sheets are moved to
``rejected/`` by the sensor itself: nothing in the inbox is dropped silently.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

from assets.review import inbox_dir, settle_inbox_file

__all__ = ["review_purchase_orders", "decisions_inbox_sensor", "REVIEW_JOBS", "REVIEW_SENSORS", "inbox_run_request"]

review_purchase_orders = define_asset_job(
    "review_purchase_orders",
    selection=AssetSelection.assets("po_decisions"),
    description="Approve, reject, reopen (take a decision back) or change the quantity of purchase-order lines as a "
                "named approver (approvers.csv in the state folder), all or nothing; set release: true to send "
                "approved and auto-approved POs. "
                "Example config: ops: {po_decisions: {config: {decisions: [{po_id: PO-..., decision: approve, "
                "approver: ana, note: checked}]}}}",
)

_SHEETS = (".xlsx", ".csv")
# a file still being written (a copy in progress, Excel saving) is left for the next tick
_SETTLE_SECONDS = 2.0


def inbox_run_request(path: Path) -> RunRequest:
    """The run that records one sheet: keyed by its name, size and mtime, so a re-saved file runs again."""
    st = path.stat()
    return RunRequest(
        run_key=f"decisions-{path.name}-{st.st_size}-{st.st_mtime_ns}",
        run_config={"ops": {"po_decisions": {"config": {"spreadsheet": str(path)}}}},
        tags={"supplycast/trigger": "decisions_inbox", "supplycast/decisions_file": path.name[:200]},
    )


@sensor(
    job=review_purchase_orders,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Records the decisions of each filled-in proposals sheet (XLSX or CSV) saved into "
                "<state>/inbox/decisions/: processed files move to processed/, rejected ones to rejected/ with an "
                ".errors.txt report naming file, row and column.",
)
def decisions_inbox_sensor(context: SensorEvaluationContext) -> Iterator[RunRequest | SkipReason]:
    inbox = inbox_dir()
    now = time.time()
    found = 0
    for path in sorted(p for p in inbox.iterdir() if p.is_file()):
        if path.name.startswith(("~$", ".")):
            continue  # Excel's lock files and hidden files are not decisions
        if path.suffix.lower() not in _SHEETS:
            moved = settle_inbox_file(path, ok=False, report=f"{path.name}: not a proposals sheet (.xlsx or .csv); "
                                                             "export the proposals, fill in decision/new_qty/approver/"
                                                             "note, and save it here again")
            context.log.warning("moved %s to %s", path.name, moved)
            continue
        if now - path.stat().st_mtime < _SETTLE_SECONDS:
            continue
        found += 1
        yield inbox_run_request(path)
    if not found:
        yield SkipReason(f"no decision sheets in {inbox}")


REVIEW_JOBS = [review_purchase_orders]
REVIEW_SENSORS = [decisions_inbox_sensor]
