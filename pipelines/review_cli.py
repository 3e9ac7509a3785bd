"""``supplycast review``: the buyer's queue, decisions and release on the command line.

Examples:
    supplycast review list                                   # POs needing approval first, most at stake first
    supplycast review list --json | jq '.[] | select(.status == "needs_approval")'
    supplycast review approve PO-20160522-293CE8D9 --by ana --note "checked with the DC"
    supplycast review reject PO-20160522-36BAF0FD --by ana --note "supplier on hold"
    supplycast review set-qty PO-20160522-293CE8D9 FOODS_3_090 CA_1 48 --by ana --note "promo ends"
    supplycast review reopen PO-20160522-293CE8D9 --by ana --note "approved too early"  # back in the queue
    supplycast review import filled_in_proposals.xlsx         # the spreadsheet round trip, like the inbox sensor
    supplycast review release --by ana                       # approved + auto-approved POs to the suppliers

Approvers and their signing limits are read from ``approvers.csv`` (``approver, limit_usd``) in the
state folder (``$SUPPLYCAST_HOME``, default ``.supplycast/``); without it no one may decide.
Exit 0 when recorded; 1 when nothing was recorded (the message names what and where; refusals are
kept in ``po_audit``); 2 when the warehouse cannot be used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["add_review_parser", "review"]


def _warehouse_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warehouse", type=Path, default=None, metavar="FILE",
                   help="DuckDB file (default: $SUPPLYCAST_WAREHOUSE or .supplycast/warehouse.duckdb)")


def _decider_args(p: argparse.ArgumentParser, *, note_required: bool) -> None:
    p.add_argument("--by", default="", metavar="NAME", help="the approver deciding (a name in approvers.csv)")
    p.add_argument("--note", default="", metavar="TEXT",
                   help="why (required)" if note_required else "why (optional)")
    p.add_argument("--version", default="", metavar="PO_VERSION",
                   help="the PO version decided on (default: the current one; a stale one is refused)")
    _warehouse_arg(p)


def add_review_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``review`` with its sub-commands to the ``supplycast`` parser."""
    rv = subparsers.add_parser("review", help="the purchase-order review queue: list, approve, reject, set-qty, reopen, import, release",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = rv.add_subparsers(dest="review_command", required=True)
    ls = sub.add_parser("list", help="the purchase orders with their status, most at stake first")
    ls.add_argument("--json", action="store_true", help="one JSON array, one object per PO")
    ls.add_argument("--limit", type=int, default=0, metavar="N", help="show the first N POs only (text output)")
    _warehouse_arg(ls)
    ap = sub.add_parser("approve", help="approve a PO's current version")
    ap.add_argument("po_id", metavar="PO_ID")
    _decider_args(ap, note_required=False)
    rj = sub.add_parser("reject", help="reject a PO's current version")
    rj.add_argument("po_id", metavar="PO_ID")
    _decider_args(rj, note_required=True)
    sq = sub.add_parser("set-qty", help="change one line's quantity (MOQ and pack size apply; 0 drops the line)")
    for name in ("po_id", "item_id", "ship_to", "qty"):
        sq.add_argument(name, metavar=name.upper())
    _decider_args(sq, note_required=True)
    ro = sub.add_parser("reopen", help="take back the approval or rejection of a PO not yet released: it returns "
                                       "to the queue (its quantity changes stay)")
    ro.add_argument("po_id", metavar="PO_ID")
    _decider_args(ro, note_required=True)
    im = sub.add_parser("import", help="record the decisions filled into an exported proposals sheet (XLSX or CSV)")
    im.add_argument("file", type=Path, metavar="FILE")
    _warehouse_arg(im)
    rl = sub.add_parser("release", help="release approved and auto-approved POs: released_purchase_orders and one "
                                        "file per supplier in the exports folder")
    rl.add_argument("--by", default=os.environ.get("USER", "cli"), metavar="NAME",
                    help="who releases: a name in approvers.csv (default: $USER)")
    rl.add_argument("--exports", type=Path, default=None, metavar="DIR",
                    help="exports folder (default: $SUPPLYCAST_EXPORTS or exports/ beside the warehouse)")
    rl.add_argument("--json", action="store_true", help="print what was released as JSON")
    _warehouse_arg(rl)
    return rv


def _warehouse(args: argparse.Namespace) -> Path:
    from pipelines import settings

    return args.warehouse.resolve() if args.warehouse is not None else settings.warehouse_path()


def _connect(path: Path, *, read_only: bool = False):
    import duckdb

    from warehouse.db import connect

    if not path.is_file():
        raise LookupError(f"no warehouse at {path}: run `supplycast run` first (or pass --warehouse)")
    try:
        return connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        raise LookupError(f"cannot open {path}: {exc} (is a run still writing it?)") from None


def _batch(args: argparse.Namespace):
    from procurement.review import decisions_frame

    # the command is the decision: decisions_frame reads "set-qty" as set_qty
    record = {"po_id": args.po_id, "po_version": args.version, "decision": args.review_command, "approver": args.by,
              "note": args.note, "item_id": getattr(args, "item_id", ""), "ship_to": getattr(args, "ship_to", ""),
              "qty": getattr(args, "qty", None)}
    labels = {"po_id": "PO_ID", "po_version": "--version", "approver": "--by", "note": "--note", "qty": "QTY",
              "item_id": "ITEM_ID", "ship_to": "SHIP_TO", "decision": "command"}
    return decisions_frame([record], sources=[f"supplycast review {args.review_command}"], labels=labels)


def _record(args: argparse.Namespace, batch, channel: str) -> int:
    from assets.settings import approvers_file
    from procurement.review import load_approvers
    from warehouse.review_store import record_decisions

    path = approvers_file()
    con = _connect(_warehouse(args))
    try:
        rows = record_decisions(con, batch, channel=channel, approvers=load_approvers(path), approvers_path=str(path))
    finally:
        con.close()
    for r in rows.itertuples():
        qty = f" qty {r.qty} for {r.item_id} to {r.ship_to}" if r.decision == "set_qty" else ""
        print(f"recorded: {r.decision}{qty} on {r.po_id} version {r.po_version} by {r.approver} ({channel})")
    return 0


def _list(args: argparse.Namespace) -> int:
    import pandas as pd

    from warehouse.review_store import review_overview

    con = _connect(_warehouse(args), read_only=True)
    try:
        queue, decisions = review_overview(con)
    finally:
        con.close()
    if args.json:
        out = queue.assign(reason=queue["reason"], order_date=queue["order_date"].astype(str),
                           expected_arrival=queue["expected_arrival"].astype(str))
        print(out.to_json(orient="records", double_precision=2))
        return 0
    waiting = queue[queue["status"] == "needs_approval"]
    placed = queue[queue["status"] != "rejected"]
    spend = placed["value_usd"].sum()
    # released POs keep counting: a share of "auto-approved" alone would fall to 0 after a release
    by_status = placed.groupby("status", sort=False)["value_usd"].agg(["size", "sum"]).sort_values("sum", ascending=False)
    shares = ", ".join(f"{st} {int(r['size'])} ({r['sum'] / spend:.1%})" for st, r in by_status.iterrows())
    print(f"{len(waiting)} of {len(placed)} purchase orders need approval ({int(waiting['held_lines'].sum())} lines held "
          f"by an exception); spend {spend:,.0f} USD: {shares}; "
          f"{len(decisions)} decisions so far" if spend else "no purchase orders")
    shown = queue.head(args.limit) if args.limit else queue
    # one PO per block: the header line, why, and (for those waiting) the lines held by an exception
    for r in shown.itertuples():
        # the not-ordered groups (RJ-) are needs no supplier could cover: nothing is at stake or held
        stake = f"at stake {r.at_stake_usd:,.0f}  held {r.held_lines}/{r.lines}" if pd.notna(r.at_stake_usd) \
            else f"not ordered: {r.lines} lines no supplier could cover"
        print(f"{r.rank:>4}  {r.po_id}  {r.supplier_id}  {r.ship_to}  {r.status}  {r.value_usd:,.2f} USD  "
              f"{stake}  version {r.po_version}")
        print(f"      {r.reason}")
        if r.status == "needs_approval" and r.line_exceptions:
            print(f"      exceptions: {r.line_exceptions}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from procurement.review import parse_decision_sheet

    return _record(args, parse_decision_sheet(args.file), "spreadsheet")


def _releaser(name: str) -> str:
    """``name`` as listed in approvers.csv: orders go to suppliers only in the name of a listed approver.

    Raises:
        DecisionError: no approvers file, or ``name`` not in it.
    """
    from assets.settings import approvers_file
    from procurement.review import DecisionError, Problem, listed_names, load_approvers

    path = approvers_file()
    approvers = load_approvers(path)
    listed = listed_names(approvers)
    if name.casefold() not in listed:
        why = "there is no approvers file" if approvers is None else f"{name!r} is not listed there"
        raise DecisionError([Problem("--by", "approver", f"releasing needs a name from {path}, and {why}; "
                                                         "pass --by NAME of a listed approver")])
    return listed[name.casefold()]


def _release(args: argparse.Namespace) -> int:
    from assets.exports import exports_root
    from warehouse.review_store import release_purchase_orders

    args.by = _releaser(args.by)
    path = _warehouse(args)
    folder = exports_root(str(path), str(args.exports or ""))
    con = _connect(path)
    try:
        result = release_purchase_orders(con, folder, released_by=args.by, channel="cli")
    finally:
        con.close()
    lines = result.lines
    if args.json:
        print(json.dumps({"release_id": result.release_id, "purchase_orders": sorted(lines["po_id"].unique().tolist()),
                          "lines": len(lines), "value_usd": round(float(lines["order_value"].sum()), 2) if len(lines) else 0.0,
                          "files": {s: {f: str(p) for f, p in fs.items()} for s, fs in result.files.items()}}))
        return 0
    if lines.empty:
        print("nothing to release: no approved or auto-approved PO that was not released before")
        return 0
    print(f"released {lines['po_id'].nunique()} purchase orders ({len(lines)} lines, {lines['order_value'].sum():,.2f} USD) "
          f"as {result.release_id}")
    for supplier, files in result.files.items():
        print(f"  {supplier}: " + ", ".join(str(p) for p in files.values()))
    return 0


def review(args: argparse.Namespace) -> int:
    """Run a ``supplycast review`` sub-command; the exit code."""
    from procurement.review import DecisionError

    try:
        if args.review_command == "list":
            return _list(args)
        if args.review_command == "release":
            return _release(args)
        if args.review_command == "import":
            return _import(args)
        return _record(args, _batch(args), "cli")
    except DecisionError as exc:
        print(f"supplycast review {args.review_command}: {exc}", file=sys.stderr)
        return 1
    except LookupError as exc:
        print(f"supplycast review {args.review_command}: {exc}", file=sys.stderr)
        return 2
