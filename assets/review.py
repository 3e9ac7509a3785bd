"""The buyer's review in Dagster: the approval policy's config and the ``po_decisions`` asset.

``po_decisions`` records a batch of decisions (typed in the Launchpad, or a filled-in proposals
sheet the inbox sensor hands it), optionally releases what may be released, and shows the queue
and the decisions so far. The rules live in :mod:`procurement.review`; the tables in
:mod:`warehouse.review_store`.
"""

import shutil
from pathlib import Path
from typing import Literal

import pandas as pd
from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets._metadata import OWNERS, WRITER_POOL, table_metadata
from assets.settings import approvers_file, decisions_inbox
from procurement.approval import ApprovalPolicy
from procurement.review import DecisionError, decisions_frame, load_approvers, parse_decision_sheet

__all__ = ["ApprovalConfig", "DecisionConfig", "ReviewConfig", "po_decisions", "REVIEW_ASSETS", "inbox_dir",
           "settle_inbox_file", "queue_metadata", "launchpad_template"]

_DEFAULT = ApprovalPolicy()


class ApprovalConfig(Config):
    """The approval policy's levers (:class:`procurement.approval.ApprovalPolicy`)."""

    approval_threshold_usd: float = Field(_DEFAULT.auto_approve_max_usd, description=(
        "PO value (goods + freight, all lines) up to which a PO is auto-approved when nothing else holds it"))
    approval_tier_limits_usd: list[float] = Field(list(_DEFAULT.tier_limits_usd), description=(
        "Upper PO values of the signing tiers above the auto-approval limit"))
    approval_tier_names: list[str] = Field(list(_DEFAULT.tier_names), description=(
        "Who signs each tier: one name per limit plus one above the last"))
    high_risk_score: float = Field(_DEFAULT.high_risk_score, description=(
        "Supplier risk score above which a PO needs approval (when worth more than high_risk_auto_max_usd)"))
    high_risk_auto_max_usd: float = Field(_DEFAULT.high_risk_auto_max_usd, description=(
        "A high-risk supplier's PO worth up to this is still auto-approved"))
    substitution_premium: float = Field(_DEFAULT.substitution_premium, description=(
        "A line bought from a substitute supplier (the preferred one cannot serve it) is held when it costs "
        "more than this share above the preferred offer per unit landed"))
    substitution_min_extra_usd: float = Field(_DEFAULT.substitution_min_extra_usd, description=(
        "... and costs at least this many USD more in all than the preferred offer would"))
    anomaly_factor: float = Field(_DEFAULT.anomaly_factor, description=(
        "Quantity anomaly guard: a line is held above this many times what forecast and recent sales justify"))
    anomaly_min_excess_usd: float = Field(_DEFAULT.anomaly_min_excess_usd, description=(
        "Anomalies whose excess (units above the justified quantity x unit cost) is worth less are ignored"))
    anomaly_history_days: int = Field(_DEFAULT.history_days, description=(
        "Days of sales before the as-of date behind the recent-sales rate of the anomaly guard"))

    def approval_policy(self) -> ApprovalPolicy:
        return ApprovalPolicy(
            auto_approve_max_usd=self.approval_threshold_usd, tier_limits_usd=tuple(self.approval_tier_limits_usd),
            tier_names=tuple(self.approval_tier_names), high_risk_score=self.high_risk_score,
            high_risk_auto_max_usd=self.high_risk_auto_max_usd, substitution_premium=self.substitution_premium,
            substitution_min_extra_usd=self.substitution_min_extra_usd,
            anomaly_factor=self.anomaly_factor, anomaly_min_excess_usd=self.anomaly_min_excess_usd,
            history_days=self.anomaly_history_days,
        )


class DecisionConfig(Config):
    """One decision on a purchase order."""

    po_id: str = Field(description="The PO id (see `supplycast review list` or the purchase_order_proposals asset)")
    decision: Literal["approve", "reject", "set_qty", "reopen"] = Field(
        description="approve, reject, set_qty (one line) or reopen (take back an approval or rejection)")
    approver: str = Field(description="Who decides: a name in approvers.csv in the state folder")
    note: str = Field("", description="Why; required for reject, set_qty and reopen")
    po_version: str = Field("", description="The PO version decided on; empty = the current one (a stale one is refused)")
    item_id: str = Field("", description="set_qty: the line's item")
    ship_to: str = Field("", description="set_qty: the line's store; empty = the PO's")
    qty: int | None = Field(None, description="set_qty: the new quantity (MOQ and pack size apply; 0 drops the line)")


class ReviewConfig(Config):
    decisions: list[DecisionConfig] = Field(default_factory=list, description=(
        "Decisions to record, all or nothing: one invalid decision records none"))
    spreadsheet: str = Field("", description=(
        "A filled-in proposals sheet (XLSX or CSV) to record; the decisions inbox sensor sets it"))
    release: bool = Field(False, description=(
        "Then release every approved and auto-approved PO not released before (files per supplier in exports/)"))


def inbox_dir() -> Path:
    """``<state>/inbox/decisions/`` (created)."""
    path = decisions_inbox()
    path.mkdir(parents=True, exist_ok=True)
    return path


def settle_inbox_file(path: Path, *, ok: bool, report: str) -> Path:
    """Move a processed sheet to ``processed/`` or ``rejected/`` beside it, with a report next to it.

    A name already taken there gets a numbered suffix: nothing is overwritten.
    """
    target_dir = path.parent / ("processed" if ok else "rejected")
    target_dir.mkdir(exist_ok=True)
    target, n = target_dir / path.name, 1
    while target.exists():
        target, n = target_dir / f"{path.stem}.{n}{path.suffix}", n + 1
    shutil.move(str(path), target)
    target.with_name(target.name + (".report.txt" if ok else ".errors.txt")).write_text(report + "\n")
    return target


def queue_metadata(queue: pd.DataFrame, decisions: pd.DataFrame, *, top: int = 10) -> dict[str, object]:
    """The review queue (top POs needing approval, their reasons and what is at stake) and the
    decisions so far, as Dagster metadata."""
    placed = queue[queue["status"] != "rejected"]
    waiting = placed[placed["status"] == "needs_approval"]
    spend = float(placed["value_usd"].sum())
    auto = float(placed.loc[placed["status"] == "auto_approved", "value_usd"].sum())
    cols = ["rank", "po_id", "supplier_id", "ship_to", "value_usd", "at_stake_usd", "held_lines", "po_version", "reason"]
    dec_cols = ["decided_at", "po_id", "decision", "item_id", "qty", "approver", "channel", "note"]
    by_status = queue["status"].value_counts()
    return {
        "pos_needing_approval": MetadataValue.int(len(waiting)),
        "pos_by_status": MetadataValue.json({k: int(v) for k, v in by_status.items()}),
        "auto_approved_spend_share": MetadataValue.float(round(auto / spend, 4) if spend else 0.0),
        "review_queue": MetadataValue.md(
            waiting.head(top)[cols].to_markdown(index=False, floatfmt=",.2f") if len(waiting) else "nothing waiting"),
        "decisions_so_far": MetadataValue.md(
            decisions.head(top).reindex(columns=dec_cols).to_markdown(index=False) if len(decisions) else "none yet"),
        "decisions_total": MetadataValue.int(len(decisions)),
        "launchpad_decisions": MetadataValue.md(launchpad_template(waiting.head(top))),
    }


def launchpad_template(waiting: pd.DataFrame) -> str:
    """Run config for the ``review_purchase_orders`` Launchpad listing ``waiting`` POs at their versions,
    as a Markdown code block to copy. ``decision`` is left as the choice to make (the Launchpad marks
    it until one is picked) and ``approver`` blank: pasted unedited, it records nothing."""
    if waiting.empty:
        return "nothing waiting"
    rows = [f'        - {{po_id: {r.po_id}, po_version: "{r.po_version}", decision: approve|reject, approver: "", '
            f'note: ""}}' for r in waiting.itertuples()]
    return "\n".join([
        "Copy into Jobs > review_purchase_orders > Launchpad; pick each decision, sign with your name in "
        "approvers.csv (a note is required to reject):", "", "```yaml", "ops:", "  po_decisions:", "    config:",
        "      decisions:", *rows, "```"])


def _batch(config: ReviewConfig) -> tuple[pd.DataFrame, str]:
    if config.spreadsheet and config.decisions:
        raise Failure("give either decisions or a spreadsheet, not both")
    if config.spreadsheet:
        return parse_decision_sheet(config.spreadsheet), "spreadsheet"
    records = [d.model_dump() for d in config.decisions]
    labels = {c: c for c in ("po_id", "po_version", "decision", "item_id", "ship_to", "qty", "approver", "note")}
    return decisions_frame(records, sources=[f"decisions[{i}]" for i in range(len(records))], labels=labels), "ui"


@asset(group_name="review", owners=OWNERS, pool=WRITER_POOL, kinds={"duckdb", "pandas"},
       deps=["purchase_order_proposals"],
       description="Buyer decisions on purchase orders (approve, reject, set a line's quantity, reopen) by a named approver, "
                   "from the Launchpad or a filled-in proposals sheet dropped in <state>/inbox/decisions/; appended to "
                   "po_decisions and po_audit, all or nothing; release=true then writes released_purchase_orders and "
                   "one file per supplier. Shows the review queue and the decisions so far.")
def po_decisions(context: AssetExecutionContext, config: ReviewConfig, duckdb: DuckDBResource) -> MaterializeResult:
    from assets.exports import exports_root
    from warehouse.review_store import record_decisions, release_purchase_orders, review_overview

    sheet = Path(config.spreadsheet) if config.spreadsheet else None
    approvers_path = approvers_file()
    error: DecisionError | None = None
    try:
        batch, channel = _batch(config)
    except DecisionError as exc:
        error = exc
    if error is None:
        # the resource's connection is closed only when its block ends normally: decision errors are caught inside
        with duckdb.get_connection() as con:
            try:
                recorded = record_decisions(con, batch, channel=channel, approvers=load_approvers(approvers_path),
                                            approvers_path=str(approvers_path)) if len(batch) else batch.iloc[0:0]
                release = release_purchase_orders(con, exports_root(duckdb.database), released_by="dagster",
                                                  channel=channel) if config.release else None
            except DecisionError as exc:
                error = exc
            queue, decisions = review_overview(con)
    if error is not None:
        if sheet is not None and sheet.exists():
            moved = settle_inbox_file(sheet, ok=False, report=str(error))
            context.log.error("moved %s to %s", sheet, moved)
        raise Failure(description=str(error), metadata={"problems": MetadataValue.md(
            "\n".join(f"- {p}" for p in error.problems))})
    if sheet is not None and sheet.exists():
        settle_inbox_file(sheet, ok=True, report=f"recorded {len(recorded)} decision(s) at run {context.run_id}")
    released = release.lines if release is not None else pd.DataFrame()
    recorded_md = recorded.reindex(columns=["po_id", "po_version", "decision", "item_id", "qty", "approver", "note"])
    return MaterializeResult(metadata=table_metadata(
        len(recorded), channel=channel, recorded=MetadataValue.md(
            recorded_md.to_markdown(index=False) if len(recorded) else "no decisions in this run"),
        released_purchase_orders=MetadataValue.int(int(released["po_id"].nunique()) if len(released) else 0),
        release_id=release.release_id if release is not None else "",
        **queue_metadata(queue, decisions),
    ))


REVIEW_ASSETS = [po_decisions]
