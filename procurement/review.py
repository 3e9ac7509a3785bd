"""Buyer decisions on purchase orders: validation, status, release and stock on order.

Pure pandas (no Dagster, no database): :mod:`warehouse.review_store` reads the tables, calls
these functions inside one transaction and appends what they return.

A decision is ``approve``, ``reject``, ``set_qty`` (one line's quantity) or ``reopen`` by a named
approver on one *version* of a PO: the hash of its lines' content
(:func:`procurement.approval.po_versions`). A later run that changes the PO gives it a new version,
so earlier decisions no longer apply: they are void, the PO is back in the queue, and the void is
audited. Until a PO is released a buyer can take a decision back: ``reopen`` (with a note) returns
an approved or rejected PO to the queue, and a later ``set_qty`` of a line replaces the earlier
one while the PO is undecided. Within a batch (one CLI call, one Launchpad run, one spreadsheet)
it is all or nothing:

* *problems* (unknown PO, stale version, a repeated decision, a missing approver or note, a
  quantity below MOQ or off the pack size, nothing to reopen, a malformed sheet) record nothing;
* *refusals* (an approver not in ``approvers.csv``, no ``approvers.csv`` at all, an approval above
  the approver's signing limit, an approval by the person who raised one of the PO's lines above
  the proposal: four eyes) record nothing either, except the refusal itself in the audit.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DECISIONS",
    "CHANNELS",
    "PO_STATES",
    "SHEET_COLUMNS",
    "Problem",
    "DecisionError",
    "Validation",
    "listed_names",
    "load_approvers",
    "decisions_frame",
    "po_state",
    "effective_lines",
    "validate_decisions",
    "voided_decisions",
    "releasable_lines",
    "released_on_order",
    "add_released_on_order",
    "parse_decision_sheet",
    "with_decision_columns",
    "safe_name",
]

DECISIONS = ("approve", "reject", "set_qty", "reopen")
# the decisions on a whole PO (at most one per PO in a batch); ``set_qty`` is on one line
_FINAL = ("approve", "reject")  # what a reopen takes back
_HEADER = (*_FINAL, "reopen")
CHANNELS = ("ui", "spreadsheet", "cli")
PO_STATES = ("needs_approval", "approved", "auto_approved", "rejected", "released")
# the columns a buyer fills in on the exported sheet, in this order, after the proposal's own
SHEET_COLUMNS = ("decision", "new_qty", "approver", "note")
_SHEET_KEYS = ("po_id", "po_version", "item_id", "ship_to")
_DECISION_FIELDS = ["po_id", "po_version", "decision", "item_id", "ship_to", "qty", "approver", "note"]


@dataclass(frozen=True)
class Problem:
    """What is wrong with one decision, named as its source names it (file row and column, CLI argument)."""

    source: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}, {self.column}: {self.message}"


class DecisionError(ValueError):
    """A batch of decisions that records nothing; ``problems`` says what and where."""

    def __init__(self, problems: list[Problem], *, refused: bool = False) -> None:
        self.problems = problems
        self.refused = refused
        head = ("refused: no decision of the batch recorded (the refusal is in po_audit)" if refused
                else "nothing recorded")
        super().__init__(f"{len(problems)} problem(s), {head}:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass
class Validation:
    """Decisions ready to append (``accepted``) and refusals to audit (``refused``)."""

    accepted: pd.DataFrame
    refused: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)


def listed_names(approvers: pd.DataFrame | None) -> dict[str, str]:
    """Each approver's name as listed, by its case-folded form (how a decision's name is matched)."""
    if approvers is None:
        return {}
    return dict(zip(approvers["approver"].str.casefold(), approvers["approver"], strict=True))


def load_approvers(path: str | Path) -> pd.DataFrame | None:
    """``approvers.csv`` (``approver, limit_usd``); None when the file does not exist.

    Raises:
        DecisionError: a missing column, a blank or repeated name, or a limit that is not a
            number >= 0 (naming the row and column).
    """
    path = Path(path)
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip() for h in rows[0]] if rows else []
    problems = [Problem(path.name, "header", f"missing column {c!r} (columns: {header})")
                for c in ("approver", "limit_usd") if c not in header]
    if problems:
        raise DecisionError(problems)
    a, lim = header.index("approver"), header.index("limit_usd")
    names, limits, seen = [], [], {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        name = row[a].strip() if a < len(row) else ""
        raw = row[lim].strip() if lim < len(row) else ""
        where = f"{path.name} row {n}"
        if not name:
            problems.append(Problem(where, "approver", "blank name"))
        elif name.casefold() in seen:
            problems.append(Problem(where, "approver", f"{name!r} already listed in row {seen[name.casefold()]}"))
        seen.setdefault(name.casefold(), n)
        try:
            value = float(raw.replace(",", ""))
            if not np.isfinite(value) or value < 0:
                raise ValueError
        except ValueError:
            problems.append(Problem(where, "limit_usd", f"{raw!r} is not a signing limit in USD (a number >= 0)"))
            value = np.nan
        names.append(name)
        limits.append(value)
    if problems:
        raise DecisionError(problems)
    return pd.DataFrame({"approver": names, "limit_usd": limits})


def decisions_frame(records: list[dict], *, sources: list[str] | None = None,
                    labels: dict[str, str] | None = None) -> pd.DataFrame:
    """A batch of decisions as a frame: ``po_id, po_version, decision, item_id, ship_to, qty,
    approver, note`` plus ``_source`` (where each came from) and ``_labels`` (how the source names
    each field, for messages)."""
    df = pd.DataFrame.from_records(records, columns=_DECISION_FIELDS) if records else pd.DataFrame(
        columns=_DECISION_FIELDS)
    for c in _DECISION_FIELDS:
        if c != "qty":
            df[c] = df[c].fillna("").astype(str).str.strip()
    df["decision"] = df["decision"].str.lower().str.replace("-", "_").str.replace(" ", "_")
    df["_source"] = sources if sources is not None else [f"decision {i + 1}" for i in range(len(df))]
    df.attrs["labels"] = labels or {}
    return df


def _label(batch: pd.DataFrame, col: str) -> str:
    return batch.attrs.get("labels", {}).get(col, col)


def effective_lines(lines: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """The PO lines with the ``set_qty`` decisions on their current version applied.

    Value, freight and CO2e scale with the quantity; ``proposed_qty`` keeps the pipeline's.
    """
    out = lines.copy()
    out["proposed_qty"] = out["qty"]
    sets = decisions[decisions["decision"] == "set_qty"]
    if sets.empty:
        return out
    sets = sets.merge(out[["po_id", "po_version"]].drop_duplicates(), on=["po_id", "po_version"])
    new = sets.drop_duplicates(["po_id", "item_id", "ship_to"], keep="last").set_index(["po_id", "item_id", "ship_to"])["qty"]
    key = pd.MultiIndex.from_frame(out[["po_id", "item_id", "ship_to"]])
    qty = pd.Series(new.reindex(key).to_numpy(), index=out.index)
    changed = qty.notna()
    if not changed.any():
        return out
    old = out["qty"].astype(float)
    scale = (qty[changed].astype(float) / old[changed].where(old[changed] > 0)).fillna(0.0)
    out.loc[changed, "qty"] = qty[changed].astype(int)
    for col in ("freight_cost", "co2e_kg", "landed_value"):
        if col in out:
            out.loc[changed, col] = (out.loc[changed, col] * scale).round(3 if col == "co2e_kg" else 2)
    out.loc[changed, "line_value"] = (out.loc[changed, "qty"] * out.loc[changed, "unit_cost"]).round(2)
    out.loc[changed, "order_value"] = (out.loc[changed, "line_value"] + out.loc[changed, "freight_cost"]).round(2)
    out["po_value"] = out.groupby("po_id")["order_value"].transform("sum").round(2)
    return out


def _in_force(decisions: pd.DataFrame) -> pd.DataFrame:
    """The decisions that still stand: an ``approve`` or ``reject`` followed by a ``reopen`` of the
    same PO version is taken back (and the ``reopen`` itself decides nothing); ``set_qty`` stays."""
    if decisions.empty:
        return decisions
    d = decisions.sort_values("decided_at", kind="stable")
    key = [d["po_id"], d["po_version"]]
    reopen = d["decision"].eq("reopen")
    seen = reopen.groupby(key).cumsum()  # reopens of the version up to each row
    after_last = seen == seen.groupby(key).transform("max")
    return d[~reopen & (~d["decision"].isin(_FINAL) | after_last)]


def po_state(lines: pd.DataFrame, decisions: pd.DataFrame, released: pd.DataFrame) -> pd.DataFrame:
    """Status of every proposed PO after the decisions and releases so far.

    Args:
        lines: ``purchase_order_proposals`` (``po_id, po_version, status`` = the policy's,
            ``approval_reason``, ``order_value``).
        decisions: ``po_decisions`` rows so far.
        released: ``released_purchase_orders`` rows so far.

    Returns:
        One row per PO: ``po_id, po_version, policy_status, status, status_reason, approver,
        decided_at, value_usd`` (value after ``set_qty`` decisions).
    """
    eff = effective_lines(lines, decisions)
    pos = eff.groupby("po_id", sort=False).agg(
        po_version=("po_version", "first"), policy_status=("status", "first"),
        policy_reason=("approval_reason", "first"), value_usd=("order_value", "sum"),
    ).reset_index()
    pos["value_usd"] = pos["value_usd"].round(2)
    d = decisions.merge(pos[["po_id", "po_version"]].rename(columns={"po_version": "_current"}), on="po_id")
    current = d[d["po_version"] == d["_current"]]
    standing = _in_force(current)
    header = standing[standing["decision"].isin(_FINAL)].drop_duplicates(
        "po_id", keep="last").set_index("po_id")
    reopened = current[current["decision"] == "reopen"].sort_values("decided_at", kind="stable").drop_duplicates(
        "po_id", keep="last").set_index("po_id")
    # a line set twice (a correction) counts once
    sets = current[current["decision"] == "set_qty"].drop_duplicates(["po_id", "item_id", "ship_to"], keep="last")
    sets = sets.groupby("po_id").agg(n=("qty", "size"), by=("approver", "last"))
    old = _in_force(d[(d["po_version"] != d["_current"]) & ~d["po_id"].isin(current["po_id"])]).drop_duplicates(
        "po_id", keep="last").set_index("po_id")
    rel = released.drop_duplicates("po_id").set_index("po_id") if len(released) else pd.DataFrame(
        columns=["released_at", "approver", "po_version"])

    po = pos["po_id"]
    is_rel = po.isin(rel.index)
    hdec = po.map(header["decision"]) if len(header) else pd.Series(np.nan, index=pos.index)
    has_set = po.isin(sets.index)
    voided = po.isin(old.index)
    status = np.select(
        [is_rel, pos["policy_status"] == "rejected", hdec == "reject", hdec == "approve", has_set, voided],
        ["released", "rejected", "rejected", "approved", "needs_approval", "needs_approval"],
        pos["policy_status"],
    )
    who = po.map(header["approver"]) if len(header) else pd.Series("", index=pos.index)
    when = po.map(header["decided_at"]) if len(header) else pd.Series(pd.NaT, index=pos.index)
    note = po.map(header["note"]).fillna("") if len(header) else pd.Series("", index=pos.index)
    rel_at = po.map(rel["released_at"]).astype(str) if len(rel) else pd.Series("", index=pos.index)
    rel_by = po.map(rel["approver"]).fillna("") if len(rel) else pd.Series("", index=pos.index)
    set_reason = ("quantity changed by " + po.map(sets["by"]).fillna("") + " on "
                  + po.map(sets["n"]).fillna(0).astype(int).astype(str) + " line(s): awaiting approval of the changed PO")
    reopen_reason = ("reopened by " + po.map(reopened["approver"]).fillna("") + ": "
                     + po.map(reopened["note"]).fillna("") + "; " + np.where(has_set, set_reason, pos["policy_reason"]))
    reason = np.select(
        [is_rel, hdec == "reject", hdec == "approve", po.isin(reopened.index), has_set, voided],
        ["released at " + rel_at + " (approved by " + rel_by + ")",
         "rejected by " + who.fillna("") + ": " + note,
         "approved by " + who.fillna("") + np.where(note != "", ": " + note, ""),
         reopen_reason,
         set_reason,
         "back in the queue: " + po.map(old["decision"]).fillna("") + " by " + po.map(old["approver"]).fillna("")
         + " on version " + po.map(old["po_version"]).fillna("") + " void, a later run changed the PO to version "
         + pos["po_version"]],
        pos["policy_reason"],
    )
    return pos.assign(status=status, status_reason=reason, approver=np.where(hdec.notna(), who, ""),
                      decided_at=when).drop(columns="policy_reason")


def _problem(batch: pd.DataFrame, i: int, col: str, message: str) -> Problem:
    return Problem(batch["_source"].iloc[i], _label(batch, col), message)


def _parse_qty(value) -> int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        f = float(str(value).replace(",", ""))
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number") from None
    if not np.isfinite(f) or f != int(f):
        raise ValueError(f"{value!r} is not a whole number")
    if f < 0:
        raise ValueError(f"{int(f)} is negative")
    return int(f)


def validate_decisions(
    batch: pd.DataFrame,
    lines: pd.DataFrame,
    decisions: pd.DataFrame,
    released: pd.DataFrame,
    approvers: pd.DataFrame | None,
    *,
    approvers_path: str = "approvers.csv",
) -> Validation:
    """Check a batch against the current proposals, the decisions so far and the approvers.

    A batch's ``reopen`` decisions are taken first, then its ``set_qty``, then its approvals and
    rejections: a sheet that changes a line and approves the PO is one valid batch (the approval
    limit is checked on the value after the change), and so is one that reopens a PO and changes
    a line of it. A PO takes at most one of ``approve``, ``reject``, ``reopen`` per batch.

    Args:
        batch: :func:`decisions_frame` of the new decisions.
        lines: current ``purchase_order_proposals``.
        decisions: ``po_decisions`` so far.
        released: ``released_purchase_orders`` so far.
        approvers: :func:`load_approvers` (None: no file, no one may decide).
        approvers_path: where the approvers file is (for messages).

    Returns:
        :class:`Validation`; ``problems`` non-empty means record nothing, ``refused`` non-empty
        means record only the refusals.
    """
    problems: list[Problem] = []
    state = po_state(lines, decisions, released).set_index("po_id")
    line_keys = lines.set_index(["po_id", "item_id", "ship_to"])
    current = decisions.merge(state["po_version"].rename("_current").reset_index(), on="po_id")
    current = _in_force(current[current["po_version"] == current["_current"]])
    decided = current[current["decision"].isin(_FINAL)].drop_duplicates("po_id", keep="last").set_index("po_id")
    set_before = current[current["decision"] == "set_qty"].drop_duplicates(["po_id", "item_id", "ship_to"], keep="last")
    set_before = set_before.set_index(["po_id", "item_id", "ship_to"])
    accepted: list[dict] = []
    seen_header: dict[str, int] = {}
    seen_line: dict[tuple, int] = {}
    reopened: set[str] = set()  # POs this batch reopens: undecided for its later rows
    rank = {"reopen": 0, "set_qty": 1}
    order = sorted(range(len(batch)), key=lambda i: rank.get(batch["decision"].iloc[i], 2))
    for i in order:
        row = batch.iloc[i]
        po, decision, who = row["po_id"], row["decision"], row["approver"]
        bad = len(problems)
        if decision not in DECISIONS:
            problems.append(_problem(batch, i, "decision", f"{decision or 'blank'!r} is not one of {', '.join(DECISIONS)}"))
        if not who:
            problems.append(_problem(batch, i, "approver", "missing: every decision needs a named approver"))
        if decision in ("reject", "set_qty", "reopen") and not row["note"]:
            problems.append(_problem(batch, i, "note", f"missing: a {decision} decision needs a note saying why"))
        if not po:
            problems.append(_problem(batch, i, "po_id", "missing PO id"))
            continue
        if po not in state.index:
            problems.append(_problem(batch, i, "po_id", f"unknown PO id {po!r} (not among the current proposals)"))
            continue
        st = state.loc[po]
        if row["po_version"] and row["po_version"] != st["po_version"]:
            problems.append(_problem(batch, i, "po_version", f"stale version {row['po_version']}: {po} is now version "
                                     f"{st['po_version']} (a later run changed it); decide on the current version"))
            continue
        if st["status"] == "released":
            problems.append(_problem(batch, i, "po_id", f"{po} is already released; decisions no longer apply"))
            continue
        if st["policy_status"] == "rejected":
            problems.append(_problem(batch, i, "po_id", f"{po} has no feasible offer: there is nothing to decide"))
            continue
        standing = po in decided.index and po not in reopened
        if decision == "reopen" and not standing:
            problems.append(_problem(batch, i, "po_id", f"{po} version {st['po_version']} is {st['status']} with no "
                                     "approval or rejection to reopen"))
            continue
        if decision != "reopen" and standing:
            prev = decided.loc[po]
            problems.append(_problem(batch, i, "po_id", f"{po} version {st['po_version']} was already decided: "
                                     f"{prev['decision']} by {prev['approver']} at {prev['decided_at']} (to change "
                                     f"it, reopen it first with a note)"))
            continue
        ship_to = row["ship_to"]
        qty = None
        if decision == "set_qty":
            ship_to = ship_to or str(lines.loc[lines["po_id"] == po, "ship_to"].iloc[0])
            key = (po, row["item_id"], ship_to)
            if key not in line_keys.index:
                problems.append(_problem(batch, i, "item_id", f"{po} has no line for item {row['item_id'] or '(blank)'!r} "
                                         f"shipped to {ship_to!r}"))
                continue
            try:
                qty = _parse_qty(row["qty"])
            except ValueError as exc:
                problems.append(_problem(batch, i, "qty", str(exc)))
                continue
            line = line_keys.loc[key]
            line = line.iloc[0] if isinstance(line, pd.DataFrame) else line
            moq, pack = int(line["moq"] if pd.notna(line["moq"]) else 0), int(line["pack_size"] if pd.notna(line["pack_size"]) else 1)
            if qty is None:
                problems.append(_problem(batch, i, "qty", "missing: set_qty needs the new quantity"))
            elif 0 < qty < moq:
                problems.append(_problem(batch, i, "qty", f"{qty} is below the MOQ of {moq} for {row['item_id']} "
                                         f"(0 drops the line)"))
            elif pack > 1 and qty % pack:
                problems.append(_problem(batch, i, "qty", f"{qty} is not a multiple of the pack size {pack} for "
                                         f"{row['item_id']} (nearest: {qty // pack * pack} or {(qty // pack + 1) * pack})"))
            if key in set_before.index and qty == int(set_before.loc[key, "qty"]):
                # another quantity replaces the earlier one; the same one again is a repeat
                prev = set_before.loc[key]
                problems.append(_problem(batch, i, "qty", f"{row['item_id']} on {po} version {st['po_version']} was "
                                         f"already set to {int(prev['qty'])} by {prev['approver']}"))
            if key in seen_line:
                problems.append(_problem(batch, i, "qty", f"the same line is set twice in this batch "
                                         f"(also {batch['_source'].iloc[seen_line[key]]})"))
            seen_line.setdefault(key, i)
        elif decision in _HEADER:
            if po in seen_header:
                problems.append(_problem(batch, i, "decision", f"{po} is decided twice in this batch "
                                         f"(also {batch['_source'].iloc[seen_header[po]]})"))
            seen_header.setdefault(po, i)
        if len(problems) == bad:
            if decision == "reopen":
                reopened.add(po)
            accepted.append({"_i": i, "po_id": po, "po_version": st["po_version"], "decision": decision,
                             "item_id": row["item_id"] if decision == "set_qty" else None,
                             "ship_to": ship_to if decision == "set_qty" else None, "qty": qty,
                             "approver": who, "note": row["note"], "_source": batch["_source"].iloc[i]})
    acc = pd.DataFrame(accepted, columns=["_i", *_DECISION_FIELDS, "_source"])
    if problems:
        return Validation(acc.iloc[0:0], acc.iloc[0:0], problems)
    return Validation(*_authority(acc, lines, decisions, approvers, approvers_path), [])


def _raised_lines(lines: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Lines whose quantity in force (the latest ``set_qty`` on the PO's current version) is above the
    proposal's, with ``approver`` = who raised it and ``proposed`` = the proposal's quantity."""
    proposed = lines[["po_id", "po_version", "item_id", "ship_to", "qty"]].rename(columns={"qty": "proposed"})
    sets = decisions[decisions["decision"] == "set_qty"].merge(proposed, on=["po_id", "po_version", "item_id", "ship_to"])
    latest = sets.drop_duplicates(["po_id", "item_id", "ship_to"], keep="last")
    return latest[latest["qty"].astype(float) > latest["proposed"].astype(float)]


def _authority(acc: pd.DataFrame, lines: pd.DataFrame, decisions: pd.DataFrame, approvers: pd.DataFrame | None,
               approvers_path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split accepted decisions into (accepted, refused) by the approvers' names, signing limits and
    four eyes: no one approves a PO in which they raised a line above the proposal."""
    reason = pd.Series("", index=acc.index, dtype=object)
    if approvers is None:
        reason[:] = (f"no approvers file ({approvers_path}): no one may decide; create it with a header line "
                     "'approver,limit_usd' and a line per person, e.g. 'ana,50000'")
        names = acc["approver"]
    else:
        known = listed_names(approvers)
        limits = dict(zip(approvers["approver"], approvers["limit_usd"], strict=True))
        names = acc["approver"].map(lambda n: known.get(n.casefold(), n))
        unknown = ~acc["approver"].str.casefold().isin(known)
        reason[unknown] = "unknown approver " + acc.loc[unknown, "approver"].map(repr) + f" (not in {approvers_path})"
        approve = (acc["decision"] == "approve") & ~unknown
        if approve.any():
            batch = acc.assign(decided_at=pd.Timestamp.max)
            # no earlier decisions: the batch alone (pandas warns on concatenating an empty frame)
            pending = pd.concat([decisions, batch], ignore_index=True) if len(decisions) else batch
            value = effective_lines(lines, pending).groupby("po_id")["order_value"].sum().round(2)
            po_value = acc.loc[approve, "po_id"].map(value)
            limit = names[approve].map(limits)
            over = po_value > limit
            idx = over[over].index
            if len(idx):
                reason[idx] = ("PO value " + po_value[idx].map("{:,.2f}".format) + " USD is above " + names[idx]
                               + "'s signing limit of " + limit[idx].map("{:,.2f}".format) + " USD")
            # cutting a line and approving stays one person's call; buying more than the plan needs a second
            raised = _raised_lines(lines, pending).assign(who=lambda r: r["approver"].str.casefold())
            mine = acc.loc[approve & (reason == ""), ["po_id"]].assign(who=acc["approver"].str.casefold())
            hit = mine.reset_index().merge(raised, on=["po_id", "who"]).drop_duplicates("index").set_index("index")
            if len(hit):
                reason[hit.index] = (names[hit.index] + " raised " + hit["item_id"] + " on " + hit["po_id"] + " from "
                                     + hit["proposed"].astype(int).astype(str) + " to " + hit["qty"].astype(int).astype(str)
                                     + ": a PO whose quantities its approver raised needs another approver's approval")
    acc = acc.assign(approver=names)
    refused = acc[reason != ""].assign(refusal=reason[reason != ""])
    if len(refused):
        return acc.iloc[0:0], refused
    return acc, refused


def voided_decisions(lines: pd.DataFrame, decisions: pd.DataFrame, released: pd.DataFrame,
                     already_voided: pd.DataFrame) -> pd.DataFrame:
    """Decisions made on a version a later run replaced, not yet audited as void.

    Args:
        lines: current ``purchase_order_proposals`` (with ``po_version``).
        decisions: ``po_decisions`` so far.
        released: ``released_purchase_orders`` (a released PO is never voided).
        already_voided: audit rows of earlier voids (``po_id, po_version``).

    Returns:
        One row per (PO, old version): ``po_id, po_version`` (old), ``new_version, decision,
        approver, decided_at``.
    """
    current = lines.groupby("po_id")["po_version"].first().rename("new_version").reset_index()
    d = decisions.merge(current, on="po_id")
    d = d[(d["po_version"] != d["new_version"]) & ~d["po_id"].isin(released.get("po_id", pd.Series(dtype=str)))]
    # a decision taken back by a reopen was not in force: nothing of it to void
    d = _in_force(d).drop_duplicates(["po_id", "po_version"], keep="last")
    if len(already_voided):
        done = already_voided[["po_id", "po_version"]].drop_duplicates()
        d = d.merge(done, on=["po_id", "po_version"], how="left", indicator=True)
        d = d[d["_merge"] == "left_only"].drop(columns="_merge")
    return d[["po_id", "po_version", "new_version", "decision", "approver", "decided_at"]].reset_index(drop=True)


def releasable_lines(lines: pd.DataFrame, decisions: pd.DataFrame, released: pd.DataFrame) -> pd.DataFrame:
    """Lines of the POs that may be released now: approved by a named approver, or auto-approved.

    Quantities are after ``set_qty`` decisions; lines set to 0 are dropped. A PO that needs
    approval, is rejected, or was released before is never among them.

    Returns:
        The PO line columns plus ``proposed_qty, approval`` (``approved`` or ``auto_approved``),
        ``approver`` (``auto-approved`` for the policy's own approvals) and ``approval_note``.
    """
    state = po_state(lines, decisions, released)
    ok = state[state["status"].isin(["approved", "auto_approved"])].set_index("po_id")
    eff = effective_lines(lines, decisions)
    out = eff[eff["po_id"].isin(ok.index) & (eff["qty"] > 0)].copy()
    out["approval"] = out["po_id"].map(ok["status"])
    named = out["approval"] == "approved"
    out["approver"] = np.where(named, out["po_id"].map(ok["approver"]), "auto-approved")
    out["approval_note"] = out["po_id"].map(ok["status_reason"])
    if (named & (out["approver"].fillna("") == "")).any():
        raise AssertionError("an approved PO without a named approver reached release")
    return out.reset_index(drop=True)


def released_on_order(released: pd.DataFrame, *, as_of: pd.Timestamp) -> pd.DataFrame:
    """Units of released POs on their way at ``as_of``, per store x item.

    A line counts when it was ordered before ``as_of`` (a re-run of its own order date does not
    count it twice) and is expected after ``as_of`` (by then it has arrived).

    Returns:
        ``store_id, item_id, on_order_released, next_released_arrival, released_lines``.
    """
    cols = ["store_id", "item_id", "on_order_released", "next_released_arrival", "released_lines"]
    if released is None or released.empty:
        return pd.DataFrame(columns=cols)
    as_of = pd.Timestamp(as_of)
    r = released[(pd.to_datetime(released["order_date"]) < as_of) & (pd.to_datetime(released["expected_arrival"]) > as_of)]
    out = r.groupby(["ship_to", "item_id"], as_index=False).agg(
        on_order_released=("qty", "sum"), next_released_arrival=("expected_arrival", "min"),
        released_lines=("qty", "size"))
    return out.rename(columns={"ship_to": "store_id"})[cols]


def add_released_on_order(inventory: pd.DataFrame, released: pd.DataFrame, *, as_of: pd.Timestamp) -> pd.DataFrame:
    """The inventory snapshot with released, not yet arrived PO quantities added to ``on_order``.

    Adds ``on_order_released`` and ``next_released_arrival``; ``on_order`` becomes the starting
    pipeline plus the released quantities.
    """
    on_way = released_on_order(released, as_of=as_of)
    out = inventory.drop(columns=[c for c in ("on_order_released", "next_released_arrival") if c in inventory])
    out = out.merge(on_way[["store_id", "item_id", "on_order_released", "next_released_arrival"]],
                    on=["store_id", "item_id"], how="left")
    out["on_order_released"] = pd.to_numeric(out["on_order_released"]).fillna(0).astype(int)
    out["next_released_arrival"] = pd.to_datetime(out["next_released_arrival"])
    out["on_order"] = (out["on_order"] + out["on_order_released"]).astype(int)
    return out


def with_decision_columns(lines: pd.DataFrame) -> pd.DataFrame:
    """The proposals as exported for the spreadsheet round trip: the keys first (``po_id,
    po_version, item_id, ship_to``), then the blank decision columns, then the rest."""
    keys = [c for c in _SHEET_KEYS if c in lines]
    front = lines[keys].copy()
    for c in SHEET_COLUMNS:
        front[c] = ""
    rest = lines[[c for c in lines.columns if c not in keys and c not in SHEET_COLUMNS]]
    return pd.concat([front, rest], axis=1)


def _column_letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _read_sheet(path: Path) -> tuple[list[str], list[tuple[int, list]]]:
    """Header and (row number, values) of the first sheet of an XLSX file or a CSV file."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
        return (rows[0] if rows else []), [(n, r) for n, r in enumerate(rows[1:], start=2)]
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = [("" if v is None else str(v)) for v in next(it, ())]
        body = [(n, list(r)) for n, r in enumerate(it, start=2)]
    finally:
        wb.close()
    return header, body


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value).strip()


def parse_decision_sheet(path: str | Path) -> pd.DataFrame:
    """The decisions a buyer filled into an exported proposals sheet (XLSX or CSV).

    A row with ``new_qty`` is a ``set_qty`` of its line; ``decision`` ``approve``, ``reject`` or
    ``reopen`` on any row decides its PO (rows of one PO must agree); rows with neither are skipped.

    Returns:
        :func:`decisions_frame` whose sources and labels name the file, row and column.

    Raises:
        DecisionError: a missing column, an unknown decision word, a quantity that is not a whole
            number, a decision without an approver, rows of one PO that disagree, or a sheet with
            no decision at all; nothing is returned in part.
    """
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise DecisionError([Problem(path.name, "file", "not an .xlsx or .csv file")])
    try:
        header, body = _read_sheet(path)
    except Exception as exc:  # a damaged workbook: openpyxl raises many kinds
        raise DecisionError([Problem(path.name, "file", f"cannot be read as a spreadsheet: {exc}")]) from None
    header = [h.strip().lower() for h in header]
    missing = [c for c in (*_SHEET_KEYS, *SHEET_COLUMNS) if c not in header]
    if missing:
        raise DecisionError([Problem(path.name, "header (row 1)", f"missing column(s) {missing}; export the proposals "
                                     "again and fill in decision, new_qty, approver, note")])
    col = {c: header.index(c) for c in (*_SHEET_KEYS, *SHEET_COLUMNS)}
    labels = {c: f"column {_column_letter(col[c if c != 'qty' else 'new_qty'])} "
                 f"({c if c != 'qty' else 'new_qty'})" for c in (*_SHEET_KEYS, *SHEET_COLUMNS, "qty")}
    labels["approver"] = labels["approver"]
    problems: list[Problem] = []
    records, sources = [], []
    header_rows: dict[str, tuple[int, str, str, str]] = {}
    for n, values in body:
        get = {c: _cell(values[i]) if i < len(values) else "" for c, i in col.items()}
        decision = get["decision"].lower().replace("-", "_").replace(" ", "_")
        if not decision and not get["new_qty"]:
            continue
        where = f"{path.name} row {n}"
        if decision not in ("", *DECISIONS):
            problems.append(Problem(where, labels["decision"], f"{get['decision']!r} is not one of approve, reject, "
                                    "reopen, set_qty (or leave it blank and fill new_qty)"))
            continue
        if not get["approver"]:
            problems.append(Problem(where, labels["approver"], "missing: every decision needs a named approver"))
        if decision == "set_qty" and not get["new_qty"]:
            problems.append(Problem(where, labels["qty"], "missing: set_qty needs the new quantity"))
        if decision == "reject" and get["new_qty"]:
            problems.append(Problem(where, labels["qty"], "a rejected PO takes no new quantity"))
        if get["new_qty"]:
            try:
                _parse_qty(get["new_qty"])
            except ValueError as exc:
                problems.append(Problem(where, labels["qty"], str(exc)))
            records.append({"po_id": get["po_id"], "po_version": get["po_version"], "decision": "set_qty",
                            "item_id": get["item_id"], "ship_to": get["ship_to"], "qty": get["new_qty"],
                            "approver": get["approver"], "note": get["note"]})
            sources.append(where)
        if decision in _HEADER:
            prev = header_rows.get(get["po_id"])
            mine = (n, decision, get["approver"], get["po_version"])
            if prev is None:
                header_rows[get["po_id"]] = mine
                records.append({"po_id": get["po_id"], "po_version": get["po_version"], "decision": decision,
                                "item_id": "", "ship_to": "", "qty": None, "approver": get["approver"],
                                "note": get["note"]})
                sources.append(where)
            elif prev[1:] != mine[1:]:
                problems.append(Problem(where, labels["decision"], f"{get['po_id']}: {decision} by {get['approver']} "
                                        f"(version {get['po_version']}) disagrees with row {prev[0]} ({prev[1]} by "
                                        f"{prev[2]}, version {prev[3]}); one decision per PO"))
    if not problems and not records:
        problems.append(Problem(path.name, labels["decision"], "no decisions found: fill decision (approve, reject, "
                                "reopen) or new_qty on the rows to decide"))
    if problems:
        raise DecisionError(problems)
    batch = decisions_frame(records, sources=sources, labels={**labels, "po_version": labels["po_version"]})
    return batch


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(text: str) -> str:
    """A plain file name for ``text`` (supplier ids become export file names)."""
    return _SAFE.sub("_", text).strip("._") or "unnamed"
