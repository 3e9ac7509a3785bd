"""Append-only audit of PO line status changes (the pipeline's rows of ``po_audit``).

Every run compares the proposed status of each PO line (``po_id, item_id, ship_to``) with the last
status the audit holds for it and appends one row per change: new lines (from ``none``), changed
statuses, and lines a re-run no longer proposes (to ``withdrawn``). A re-run with the same inputs
appends nothing, and the deterministic ``po_id`` means it proposes the same POs, not new ones.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["AUDIT_COLUMNS", "audit_changes", "latest_status"]

AUDIT_COLUMNS = ["po_id", "item_id", "ship_to", "order_date", "from_status", "to_status", "reason", "run_id", "recorded_at"]
_KEY = ["po_id", "item_id", "ship_to"]


def latest_status(audit: pd.DataFrame) -> pd.DataFrame:
    """The last recorded status per PO line (``withdrawn`` lines included)."""
    if "action" in audit:
        # buyers' decisions, voids and releases share the audit; line statuses are the pipeline's rows
        audit = audit[audit["action"].isna() | (audit["action"] == "status")]
    if audit.empty:
        return pd.DataFrame(columns=[*_KEY, "order_date", "to_status"])
    ordered = audit.sort_values("recorded_at", kind="stable")
    return ordered.drop_duplicates(_KEY, keep="last")[[*_KEY, "order_date", "to_status"]]


def audit_changes(
    previous: pd.DataFrame, lines: pd.DataFrame, *, run_id: str, recorded_at: pd.Timestamp, order_dates: list | None = None
) -> pd.DataFrame:
    """Rows to append to the audit for this run's PO lines.

    Args:
        previous: the audit table so far (may be empty).
        lines: this run's ``purchase_order_proposals`` lines (po_id, item_id, ship_to, order_date,
            status, reason).
        run_id: the Dagster run id (or any run label).
        recorded_at: time of the run.
        order_dates: order dates this run re-proposes; lines of those dates missing from ``lines``
            are withdrawn. Default: the dates present in ``lines``.

    Returns:
        Audit rows with ``AUDIT_COLUMNS``.
    """
    last = latest_status(previous)
    cur = lines[[*_KEY, "order_date", "status", "reason"]].drop_duplicates(_KEY)
    merged = cur.merge(last[[*_KEY, "to_status"]].rename(columns={"to_status": "from_status"}), on=_KEY, how="left")
    merged["from_status"] = merged["from_status"].fillna("none")
    changed = merged[merged["from_status"] != merged["status"]].rename(columns={"status": "to_status"})
    dates = pd.to_datetime(pd.Series(order_dates if order_dates is not None else cur["order_date"].unique()))
    stale = last[pd.to_datetime(last["order_date"]).isin(dates) & (last["to_status"] != "withdrawn")]
    gone = stale.merge(cur[_KEY], on=_KEY, how="left", indicator=True)
    gone = gone[gone["_merge"] == "left_only"].rename(columns={"to_status": "from_status"})
    gone = gone.assign(to_status="withdrawn", reason="no longer proposed by this run")
    out = pd.concat([changed, gone[[*_KEY, "order_date", "from_status", "to_status", "reason"]]], ignore_index=True)
    out["run_id"] = run_id
    out["recorded_at"] = pd.Timestamp(recorded_at)
    return out[AUDIT_COLUMNS]
