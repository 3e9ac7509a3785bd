"""What ``supplycast run`` reports, read back from the warehouse it wrote: for people or as JSON.

The summary says where each feed came from, what was quarantined, which models made the forecast
(the ``model`` column of ``forecast``, the same names the asset metadata and MLflow carry), and the
purchase orders by status. Everything printed is rounded for reading; ``--json`` keeps the values.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import duckdb

from warehouse.db import table_exists
from warehouse.feeds import FeedPaths
from warehouse.layout import SCHEMAS

__all__ = ["SUMMARY_TABLES", "SOURCE_LABELS", "run_summary", "feed_warnings", "print_summary"]

SUMMARY_TABLES = (
    "raw_pos", "raw_pos_history", "raw_prices", "raw_calendar", "raw_weather", "raw_shipments", "raw_emission_factors",
    "demand_history", "store_weather", "shipment_stats", "forecast", "forecast_backtest", "supplier_scores",
    "supplier_catalogue", "inventory_snapshot", "replenishment_proposals", "purchase_order_proposals",
)
SOURCE_LABELS = {"data": "your data", "beside_m5": "beside the M5 folder", "sample": "embedded sample"}
# Reasons listed per quarantined feed; the quarantine table holds every row with its reason.
TOP_REASONS = 3


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Any:
    return con.execute(sql, params or []).fetchall()[0][0]


def _rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: int(_scalar(con, f"SELECT count(*) FROM {t}")) for t in SUMMARY_TABLES if table_exists(con, t)}


def _quarantine(con: duckdb.DuckDBPyConnection, max_bad_share: float) -> dict[str, dict[str, Any]]:
    """Per feed with a quarantine table: rows quarantined and loaded, the share, the top reasons."""
    out: dict[str, dict[str, Any]] = {}
    for feed, schema in SCHEMAS.items():
        table = f"quarantine_{feed}"
        if not table_exists(con, table):
            continue
        bad = int(_scalar(con, f"SELECT count(*) FROM {table}"))
        loaded = int(_scalar(con, f"SELECT count(*) FROM {schema.table}")) if table_exists(con, schema.table) else 0
        reasons = con.execute(f"SELECT reason, count(*) FROM {table} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
                              [TOP_REASONS]).fetchall()
        files = con.execute(f"SELECT source_file, count(*) FROM {table} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
                            [TOP_REASONS]).fetchall() if bad else []
        out[feed] = {"rows": bad, "loaded": loaded, "table": table,
                     "share": round(bad / (bad + loaded), 6) if bad + loaded else 0.0,
                     "max_bad_share": max_bad_share,
                     "top_reasons": [{"reason": r, "rows": int(n)} for r, n in reasons],
                     "top_files": [{"file": str(f), "rows": int(n)} for f, n in files]}
    return out


def _forecast_models(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Series per model in the ``forecast`` table, most used first."""
    if not table_exists(con, "forecast"):
        return {}
    pairs = con.execute("SELECT model, count(DISTINCT (store_id, item_id)) AS n FROM forecast "
                        "GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    return {str(m): int(n) for m, n in pairs}


def _forecast_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not table_exists(con, "forecast_run"):
        return []
    row = con.execute("SELECT warnings FROM forecast_run LIMIT 1").fetchall()
    return [f"forecast: {w}" for w in json.loads(row[0][0] or "[]")] if row else []


def _purchase_orders(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Lines and value per proposal status; ``purchase_orders`` counts the POs to place (the
    ``rejected`` lines, needs no supplier could cover, are grouped under ``RJ-`` ids, not POs)."""
    if not table_exists(con, "purchase_order_proposals"):
        return {"po_status": {}, "po_by_status": {}, "po_value_usd": 0.0, "purchase_orders": 0,
                "units_not_ordered": 0, "review": {}}
    by_status = con.execute("SELECT status, count(*), round(sum(order_value), 2) FROM purchase_order_proposals "
                            "GROUP BY 1 ORDER BY 1").fetchall()
    value, n_po, short = con.execute(
        "SELECT round(sum(order_value), 2), count(DISTINCT po_id) FILTER (WHERE status <> 'rejected'), "
        "coalesce(sum(qty) FILTER (WHERE status = 'rejected'), 0) FROM purchase_order_proposals").fetchall()[0]
    return {"po_status": {s: int(n) for s, n, _ in by_status},
            "po_by_status": {s: {"lines": int(n), "value_usd": float(v or 0)} for s, n, v in by_status},
            "po_value_usd": float(value or 0), "purchase_orders": int(n_po), "units_not_ordered": int(short),
            "review": _review_state(con)}


def _review_state(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, float]]:
    """POs per status after the buyers' decisions and releases (what ``supplycast review list`` shows)."""
    from warehouse.review_store import review_overview

    try:
        queue, _ = review_overview(con)
    except LookupError:  # proposals written before PO versions: nothing to review
        return {}
    placed = queue[~queue["po_id"].str.startswith("RJ-")]
    by = placed.groupby("status")["value_usd"].agg(["size", "sum"])
    return {str(st): {"purchase_orders": int(r["size"]), "value_usd": round(float(r["sum"]), 2)}
            for st, r in by.iterrows()}


def _backtest(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    if not table_exists(con, "forecast_backtest"):
        return []
    frame = con.execute("SELECT * FROM forecast_backtest").df().round(4)
    return frame.to_dict(orient="records")


def feed_warnings(paths: FeedPaths) -> list[str]:
    """The warning a run on other data carries when it borrowed logistics feeds from the sample."""
    borrowed = paths.sample_fallbacks()
    if not borrowed:
        return []
    drives = ", ".join(dict.fromkeys(_DRIVES.get(feed, feed) for feed in borrowed))
    return [f"LOGISTICS FEEDS FROM THE EMBEDDED SAMPLE: {', '.join(borrowed)} not found with your data, taken from "
            f"data/sample (M5 store CA_1's weather, USAID shipments, freight emission factors); {drives} describe "
            "the sample, not your data"]


# what each borrowable feed drives, for the warning
_DRIVES = {"shipments": "supplier scores and lead times", "emission_factors": "CO2e", "weather": "weather effects",
           "weather_stations": "weather effects"}


def _rows_text(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _listed(parts: list[dict[str, Any]], key: str, total: int, what: str, sep: str = "; ") -> str:
    """``a (3 rows); b (1 row)`` plus what the top list leaves out, so the counts add up to ``total``."""
    text = sep.join(f"{p[key]} ({_rows_text(p['rows'])})" for p in parts)
    rest = total - sum(p["rows"] for p in parts)
    return text + (f"{sep}{_rows_text(rest)} {what}" if rest > 0 else "")


def _quarantine_warnings(quarantine: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for feed, q in quarantine.items():
        if q["rows"]:
            files = [{"file": _feed_file(f["file"]), "rows": f["rows"]} for f in q.get("top_files", [])]
            note = (" Inside a series, the day of a row whose store, item and date could be read takes the mean "
                    "of the same weekday in the 4 weeks before it (demand_history.units_quarantined); a day that "
                    "cannot be placed counts as no sales (units_imputed), until a corrected file is loaded."
                    if feed in _POS_FEEDS else "")
            out.append(f"{feed}: {q['rows']:,} rows quarantined ({q['share']:.2%} of the feed, under the "
                       f"{q['max_bad_share']:.2%} limit, so the rest loaded): "
                       f"{_listed(q['top_reasons'], 'reason', q['rows'], 'for other reasons')}; "
                       f"from {_listed(files, 'file', q['rows'], 'in other files', ', ')}; every row, with its file and raw "
                       f"values, is in table {q['table']}.{note}")
    return out


_POS_FEEDS = ("pos", "pos_history")


def _feed_file(path: str) -> str:
    """``pos/2019-03-10.csv``: a source file by its feed folder and name."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


def run_summary(warehouse: Path, paths: FeedPaths, *, max_bad_share: float) -> dict[str, Any]:
    """What the run left in ``warehouse``, with the feeds it read from ``paths``.

    Args:
        warehouse: the DuckDB file the run wrote.
        paths: the feeds the run read.
        max_bad_share: the bad-row share a feed may have and still load.

    Returns:
        JSON-ready summary: ``warehouse, data, feeds, quarantine, warnings, rows, forecast_model(s), backtest``
        and the purchase orders (``po_status``, ``po_by_status``, ``po_value_usd``, ``purchase_orders``).
    """
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        quarantine = _quarantine(con, max_bad_share)
        models = _forecast_models(con)
        out: dict[str, Any] = {
            "warehouse": str(warehouse), "data": str(paths.data_dir or ""), "feeds": paths.provenance(),
            "sample_fallbacks": list(paths.sample_fallbacks()), "quarantine": quarantine,
            "warnings": feed_warnings(paths) + _quarantine_warnings(quarantine) + _forecast_warnings(con),
            "rows": _rows(con),
            # the model serving the most series; ``forecast_models`` has the whole mix
            "forecast_model": next(iter(models), None), "forecast_models": models,
            "backtest": _backtest(con), **_purchase_orders(con),
        }
    finally:
        con.close()
    return out


def _show(path: str | Path) -> str:
    """A path relative to the current folder when under it: shorter to read, still valid to paste."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _console():
    from rich.console import Console

    # piped output: no wrapping at 80 columns, so a path stays on one line
    tty = sys.stdout.isatty()
    return Console(soft_wrap=not tty, width=None if tty else 1_000, highlight=False)


def _table(title: str, *columns: str, right: tuple[str, ...] = ()):
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for c in columns:
        table.add_column(c, justify="right" if c in right else "left", overflow="fold")
    return table


def _feeds_table(summary: dict[str, Any]):
    table = _table("feeds", "feed", "from", "rows loaded", "quarantined", "path", right=("rows loaded", "quarantined"))
    quarantine = summary["quarantine"]
    for feed, info in summary["feeds"].items():
        q = quarantine.get(feed, {})
        loaded = f"{q['loaded']:,}" if q else "-"
        bad = f"[bold red]{q['rows']:,}[/]" if q.get("rows") else ("0" if q else "-")
        source = SOURCE_LABELS[info["source"]]
        if feed in summary.get("sample_fallbacks", ()):
            source = f"[bold red]{source}[/]"
        files = f" ({info['files']} files)" if info["files"] > 1 else ""
        table.add_row(feed, source, loaded, bad, _show(info["path"]) + files)
    return table


def _tables_table(summary: dict[str, Any]):
    table = _table("tables written", "table", "rows", right=("rows",))
    for name, n in summary["rows"].items():
        if not name.startswith("raw_"):
            table.add_row(name, f"{n:,}")
    return table


def _backtest_line(summary: dict[str, Any]) -> str:
    """MASE of the models in the forecast, beside seasonal naive's (the bar every model must clear)."""
    mase = {str(r.get("model", r.get("index"))): r["mase"] for r in summary["backtest"]}
    shown = sorted({m for m in (*summary["forecast_models"], "seasonal_naive") if m in mase}, key=mase.get)
    apart = [m for m in summary["forecast_models"] if m not in mase]
    # the long-history model is scored on its own holdout (RMSSE, the forecast asset's long_history metadata)
    elsewhere = f"; {', '.join(apart)} scored on its own holdout (forecast metadata long_history)" if apart else ""
    return ("backtest MASE (lower is better): " + ", ".join(f"{m} {mase[m]:.3f}" for m in shown)
            + f"; all {len(mase)} models in table forecast_backtest" + elsewhere)


def _po_table(summary: dict[str, Any]):
    table = _table(f"purchase orders: {summary['purchase_orders']:,} POs worth {summary['po_value_usd']:,.2f} USD",
                   "status", "lines", "value (USD)", "", right=("lines", "value (USD)"))
    for status, rec in summary["po_by_status"].items():
        # the proposals' "rejected" lines are needs no supplier could cover, not a buyer's no
        note = (f"[bold red]not ordered: {summary.get('units_not_ordered', 0):,} units no supplier could cover[/]"
                if status == "rejected" else "")
        table.add_row(status, f"{rec['lines']:,}", f"{rec['value_usd']:,.2f}", note)
    return table


def _review_line(summary: dict[str, Any]) -> str:
    """The POs after the buyers' decisions: a re-run keeps them (same PO ids) unless it changed the PO."""
    review = summary.get("review") or {}
    if not review or set(review) <= {"auto_approved"}:
        return ""
    parts = ", ".join(f"{st.replace('_', ' ')} {r['purchase_orders']:,} ({r['value_usd']:,.2f} USD)"
                      for st, r in review.items())
    return f"after the buyers' decisions: {parts}; `supplycast review list` shows each PO"


def _ui_line(summary: dict[str, Any]) -> str:
    """Where the Dagster UI shows this run, and on which warehouse its jobs then work.

    Every run records into the same Dagster instance, but ``make dev`` loads the Definitions on
    the default warehouse: a run on another file shows there, while the UI's jobs (the review
    among them) would act on the default one.
    """
    from assets.settings import data_dir, warehouse_path

    line = f"Dagster UI: `make dev` shows this run (DAGSTER_HOME {_show(summary['dagster_home'])})"
    if Path(summary["warehouse"]).resolve() != warehouse_path():
        data = summary.get("data") or ""
        env = f"SUPPLYCAST_WAREHOUSE={_show(summary['warehouse'])}" + (
            f" SUPPLYCAST_DATA={_show(data)}" if data and Path(data).resolve() != data_dir() else "")
        line += f"; its jobs work on {_show(warehouse_path())}: for this warehouse start it as `{env} make dev`"
    return line


def print_summary(summary: dict[str, Any]) -> None:
    """The summary for people: small tables, rounded numbers, warnings last and in red."""
    console = _console()
    console.print(f"supplycast run finished in {summary['seconds']:.1f} s; warehouse {_show(summary['warehouse'])}")
    console.print(_feeds_table(summary))
    console.print(_tables_table(summary))
    models = summary["forecast_models"]
    total = sum(models.values()) or 1
    console.print("forecast models (series): " + ", ".join(f"{m} {n:,} ({n / total:.1%})" for m, n in models.items()))
    console.print(_backtest_line(summary))
    cost = summary.get("forecast_vs_library")
    if cost:
        lib = cost["library_seconds"]
        console.print(f"forecast step {cost['stage_seconds']:.1f} s, of which library calls {lib['total']:.1f} s "
                      f"(statsforecast {lib['statsforecast']:.1f}, LightGBM {lib['lightgbm']:.1f}, "
                      f"mlforecast {lib.get('mlforecast', 0.0):.1f})")
    console.print(_po_table(summary))
    review = _review_line(summary)
    if review:
        console.print(review)
    for fmt, path in summary.get("exports", {}).items():
        console.print(f"export {fmt}: {_show(path)}")
    if summary.get("dagster_home"):
        console.print(_ui_line(summary))
    for warning in summary["warnings"]:
        console.print(f"[bold red]WARNING[/] {warning}")
