"""``supplycast run`` in process on a temporary state folder: --help, --json, the summary, exports, and what
the Dagster UI shows. The run itself (``cli_run``, in ``conftest.py``) is shared with ``test_cli_replay.py``.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import shutil
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from pipelines.cli import build_parser, main
from procurement.review import with_decision_columns

pytestmark = pytest.mark.integration

PLOTS = {
    "forecast_review": ("forecast_vs_actual",),
    "supplier_scores": ("scorecard_plot",),
    "replenishment_proposals": ("stockout_risk_plot",),
    "purchase_order_proposals": ("by_supplier_and_status_plot",),
}
TABLES = {
    "forecast": ("backtest",),
    "forecast_review": ("worst_forecast_items",),
    "supplier_scores": ("scorecard",),
    "replenishment_proposals": ("stockout_risk", "biggest_orders"),
    "purchase_order_proposals": ("by_supplier_and_status", "top_proposals"),
}


def _run_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["run"]


def test_help_explains_every_option_with_an_example(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    options = [a for a in _run_parser()._actions if a.option_strings and "--help" not in a.option_strings]
    assert {o.option_strings[0] for o in options} == {"--data", "--warehouse", "--as-of", "--horizon", "--json", "--quiet",
                                                      "--sample-logistics", "--ephemeral", "--approval-threshold"}
    for option in options:
        assert option.option_strings[0] in text
        assert "Example:" in option.help, f"{option.option_strings[0]} has no example"
    assert "examples:" in text and "supplycast run --data ../shared/data/m5" in text


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "--as-of", "2016-13-01"], "expected a date YYYY-MM-DD"),
    (["run", "--horizon", "0"], "must be at least 1"),
    (["run", "--horizon", "two"], "whole number of days"),
    (["run", "--approval-threshold", "ten"], "expected an amount in USD like 10000, got 'ten'"),
    (["run", "--approval-threshold", "0"], "must be a positive amount"),
])
def test_bad_options_are_refused_before_anything_runs(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_approval_threshold_is_the_purchase_order_config_of_the_run():
    from dagster import validate_run_config

    from pipelines.cli import _run_config
    from pipelines.definitions import defs

    job = defs.resolve_job_def("daily_refresh")
    args = _run_parser().parse_args(["--approval-threshold", "10,000"])
    config = _run_config(args)
    assert config["ops"]["purchase_order_proposals"] == {"config": {"approval_threshold_usd": 10_000.0}}
    # a key the job does not know would fail here, not only when a run starts
    validate_run_config(job, config)
    assert "purchase_order_proposals" not in _run_config(_run_parser().parse_args([]))["ops"]


@pytest.mark.parametrize(("as_of", "message"), [
    ("2030-01-01", "--as-of 2030-01-01 is after the last POS day in the data (2016-05-22)"),
])
def test_an_as_of_outside_the_data_is_refused_before_loading(tmp_path, capsys, monkeypatch, as_of, message):
    monkeypatch.setenv("SUPPLYCAST_HOME", str(tmp_path))
    assert main(["run", "--as-of", as_of, "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "w.duckdb").exists()  # nothing loaded


def test_json_summary_is_machine_readable(cli_run):
    assert cli_run["code"] == 0
    summary = json.loads(cli_run["stdout"])  # stdout holds exactly one JSON document
    assert summary["success"] is True
    assert Path(summary["warehouse"]) == cli_run["warehouse"].resolve()
    assert not (cli_run["state"] / "warehouse.duckdb").exists()  # the default was not written instead
    con = duckdb.connect(str(cli_run["warehouse"]), read_only=True)
    try:
        po_lines = con.execute("SELECT count(*) FROM purchase_order_proposals").fetchall()[0][0]
        statuses = dict(con.execute("SELECT status, count(*) FROM purchase_order_proposals GROUP BY 1").fetchall())
        value = con.execute("SELECT sum(order_value) FROM purchase_order_proposals").fetchall()[0][0]
    finally:
        con.close()
    assert summary["rows"]["purchase_order_proposals"] == po_lines > 0
    assert summary["po_status"] == statuses
    assert summary["forecast_model"] in {r["model"] for r in summary["backtest"]}
    assert summary["po_value_usd"] == pytest.approx(value, abs=0.005)
    assert sum(s["lines"] for s in summary["po_by_status"].values()) == po_lines
    assert sum(s["value_usd"] for s in summary["po_by_status"].values()) == pytest.approx(value, abs=0.05)
    assert {"forecast", "purchase_order_exports"} <= set(summary["step_seconds"])
    assert summary["seconds"] > 0
    # the forecast step against the library calls inside it, from the same run
    cost = summary["forecast_vs_library"]
    lib = cost["library_seconds"]
    parts = {k: v for k, v in lib.items() if k != "total"}
    assert {"statsforecast", "lightgbm"} <= set(parts) and lib["lightgbm"] > 0
    # overlapping calls (parallel threads) count once in the total
    assert max(parts.values()) - 0.02 <= lib["total"] <= sum(parts.values()) + 0.02
    assert cost["ratio"] == pytest.approx(cost["stage_seconds"] / lib["total"], rel=0.02) and cost["ratio"] > 1
    assert cost["stage_seconds"] <= summary["step_seconds"]["forecast"] + 0.1


def test_run_records_in_the_state_folder_make_dev_serves(cli_run):
    from pipelines.definitions import defs

    home = cli_run["home"]
    assert cli_run["leaked"] == {}
    assert json.loads(cli_run["stdout"])["dagster_home"] == str(home)
    # written when missing: one step at a time holds the DuckDB file, as in `make dev`
    assert "default_limit: 1" in (home / "dagster.yaml").read_text()
    job_assets = {k.to_user_string() for k in defs.resolve_job_def("daily_refresh").asset_layer.executable_asset_keys}
    # every asset of the run, the optional feeds absent from the sample (suppliers, inventory) included
    assert len(job_assets) >= 20 and job_assets - cli_run["materialised"] == set()


def test_sample_run_names_its_feeds_models_and_quarantine(cli_run):
    from warehouse.feeds import SAMPLE_DIR

    summary = json.loads(cli_run["stdout"])
    assert {f: v["source"] for f, v in summary["feeds"].items()} == dict.fromkeys(
        ("pos", "pos_history", "prices", "calendar", "weather", "weather_stations", "shipments", "emission_factors"),
        "sample")
    assert summary["feeds"]["pos"]["path"] == str(SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet")
    assert summary["sample_fallbacks"] == []
    # 14 days of history at this as-of: the backtest (two 3-day windows on the median series' depth)
    # finds the global LightGBM worse than seasonal naive, and the run says so; nothing else warns
    assert len(summary["warnings"]) == 1
    assert "regressed past seasonal naive" in summary["warnings"][0]
    assert "forecasting with seasonal naive" in summary["warnings"][0]
    assert summary["quarantine"]["pos"] == {"rows": 0, "loaded": 3049 * 28, "table": "quarantine_pos", "share": 0.0,
                                            "max_bad_share": 0.05, "top_reasons": [], "top_files": []}
    con = duckdb.connect(str(cli_run["warehouse"]), read_only=True)
    try:
        series = dict(con.execute("SELECT model, count(DISTINCT (store_id, item_id)) FROM forecast GROUP BY 1").fetchall())
    finally:
        con.close()
    # the forecast table's own model names, most used first; the headline model is the most used
    assert summary["forecast_models"] == series and sum(series.values()) == 3049
    assert summary["forecast_model"] == max(series, key=series.get)


def test_summary_for_people_is_small_tables_on_unbroken_lines(cli_run):
    from pipelines.summary import print_summary

    summary = json.loads(cli_run["stdout"])
    long_warning = "pos: a warning naming a long path " + "/very/long/folder" * 20 + "/file.csv"
    summary["warnings"] = [long_warning]
    out = io.StringIO()
    with redirect_stdout(out):  # not a terminal: nothing is wrapped at 80 columns
        print_summary(summary)
    text = out.getvalue()
    lines = text.splitlines()
    assert "{'" not in text and "1.0399" not in text
    assert f"{summary['po_value_usd']:,.2f} USD" in text and "," in f"{summary['po_value_usd']:,.2f}"
    assert any(line.startswith("WARNING") and line.endswith(long_warning) for line in lines)
    for path in summary["exports"].values():  # a temporary folder: printed in full
        assert any(line.endswith(path) for line in lines), path
    models = next(line for line in lines if line.startswith("forecast models"))
    assert all(m in models for m in summary["forecast_models"])
    for status, rec in summary["po_by_status"].items():
        assert any(line.split()[:3] == [status, f"{rec['lines']:,}", f"{rec['value_usd']:,.2f}"] for line in lines)


def test_exports_written_by_run_date_and_read_back(cli_run):
    summary = json.loads(cli_run["stdout"])
    csv_path, xlsx_path = Path(summary["exports"]["csv"]), Path(summary["exports"]["xlsx"])
    # exports/<run date>/purchase_order_proposals_<as-of>.*, beside the warehouse file
    assert csv_path.parent == cli_run["warehouse"].parent / "exports" / datetime.now(UTC).date().isoformat()
    assert csv_path.name == "purchase_order_proposals_2016-05-08.csv" and xlsx_path.suffix == ".xlsx"
    con = duckdb.connect(str(cli_run["warehouse"]), read_only=True)
    try:
        table = con.execute("SELECT * FROM purchase_order_proposals ORDER BY po_id, line_no").df()
    finally:
        con.close()
    for back in (pd.read_csv(csv_path), pd.read_excel(xlsx_path, engine="openpyxl")):
        back = back.sort_values(["po_id", "line_no"]).reset_index(drop=True)
        # the keys first, then the blank decision columns a buyer fills in (the decisions inbox round trip)
        assert list(back.columns) == list(with_decision_columns(table).columns)
        assert back[["decision", "new_qty", "approver", "note"]].isna().all().all()
        assert back["po_id"].tolist() == table["po_id"].tolist()
        assert back["qty"].tolist() == table["qty"].tolist()
        assert back["order_value"].sum() == pytest.approx(table["order_value"].sum())
    ws = load_workbook(xlsx_path, read_only=False).active
    assert ws.freeze_panes == "E2" and ws["A1"].font.b
    meta = cli_run["metadata"]["purchase_order_exports"]
    assert meta["csv"].value == str(csv_path) and meta["xlsx"].value == str(xlsx_path)
    assert meta["dagster/row_count"].value == len(table)


@pytest.mark.parametrize("asset", sorted(PLOTS))
def test_ui_metadata_holds_png_plots_and_markdown_tables(cli_run, asset):
    meta = cli_run["metadata"][asset]
    assert meta is not None, f"{asset} was not recorded in DAGSTER_HOME"
    assert meta["dagster/row_count"].value > 0
    for key in PLOTS[asset]:
        text = meta[key].value
        assert text.startswith("![") and "(data:image/png;base64," in text, f"{asset}.{key}: {text[:80]}"
        png = base64.b64decode(text.split("base64,", 1)[1].rstrip(")"))
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
    for key in TABLES[asset]:
        assert meta[key].value.lstrip().startswith("|"), f"{asset}.{key} is not a markdown table"


def test_worst_forecast_table_names_real_series(cli_run):
    table = cli_run["metadata"]["forecast_review"]["worst_forecast_items"].value
    con = duckdb.connect(str(cli_run["warehouse"]), read_only=True)
    try:
        items = {r[0] for r in con.execute("SELECT DISTINCT item_id FROM forecast").fetchall()}
    finally:
        con.close()
    named = [line.split("|")[2].strip() for line in table.splitlines()[2:]]
    assert named and set(named) <= items


def test_procurement_review_runs_with_the_analysts_levers(cli_run, tmp_path, monkeypatch):
    from dagster import materialize

    from assets import ALL_ASSETS, ALL_CHECKS
    from pipelines.definitions import defs
    from pipelines.jobs import procurement_review
    from pipelines.resources import build_resources

    config = defs.resolve_job_def("procurement_review").run_config
    ops = {op: {"config": dict(c["config"])} for op, c in config["ops"].items()}
    ops["forecast"]["config"]["horizon"] = 7
    ops["replenishment_proposals"]["config"]["service_level"] = 0.99
    ops["replenishment_proposals"]["config"]["use_abc_xyz"] = False  # one target for every item
    ops["purchase_order_proposals"]["config"]["carbon_price_usd_per_tonne"] = 500.0
    ops["purchase_order_proposals"]["config"]["approval_threshold_usd"] = 1e12
    ops["purchase_order_proposals"]["config"]["approval_tier_limits_usd"] = [2e12]
    ops["purchase_order_proposals"]["config"]["high_risk_score"] = 1.0
    ops["purchase_order_proposals"]["config"]["anomaly_factor"] = 1e9
    ops["purchase_order_proposals"]["config"]["substitution_premium"] = 1e9
    # a copy: the shared run's warehouse stays as the run left it for the other tests
    warehouse = shutil.copy(cli_run["warehouse"], tmp_path / "review.duckdb")
    for var, value in cli_run["env"].items():
        monkeypatch.setenv(var, value)
    # the job's own selection, materialised with resources on the copy: the resolved job (built with its
    # Launchpad config) keeps the warehouse its Definitions were imported with, whatever `resources=` says
    result = materialize([*ALL_ASSETS, *ALL_CHECKS], selection=procurement_review.selection,
                         resources=build_resources(warehouse=warehouse), run_config={"ops": ops})
    assert result.success
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        days = con.execute("SELECT count(DISTINCT date) FROM forecast").fetchall()[0][0]
        levels = con.execute("SELECT DISTINCT service_level FROM replenishment_proposals").fetchall()
        statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM purchase_order_proposals").fetchall()}
    finally:
        con.close()
    assert days == 7 and levels == [(0.99,)]
    assert "needs_approval" not in statuses
    po = next(e for e in result.get_asset_materialization_events()
              if e.asset_key.to_user_string() == "purchase_order_proposals").materialization.metadata
    assert po["carbon_price_usd_per_tonne"].value == 500.0


def test_as_of_before_the_pos_days_is_left_to_the_history_when_there_is_one():
    from datetime import date

    from pipelines.cli import _as_of_problem

    lo, hi = date(2016, 4, 25), date(2016, 5, 22)
    assert _as_of_problem("2016-01-01", lo, hi, has_history=True) == ""
    assert _as_of_problem("2016-01-01", lo, hi, has_history=False) == (
        "--as-of 2016-01-01 is before the first POS day in the data (2016-04-25); pick a day from 2016-04-25 to "
        "2016-05-22")
    assert _as_of_problem("2016-05-22", lo, hi, has_history=False) == "" and _as_of_problem("", lo, hi,
                                                                                           has_history=False) == ""


def test_item_milps_cut_short_are_a_warning_of_the_run():
    from types import SimpleNamespace

    from dagster import AssetKey, MetadataValue

    from pipelines.cli import _allocation_warnings

    def result(solved: str) -> SimpleNamespace:
        event = SimpleNamespace(asset_key=AssetKey("purchase_order_proposals"), materialization=SimpleNamespace(
            metadata={"milp_items_optimal": MetadataValue.text(solved)}))
        return SimpleNamespace(get_asset_materialization_events=lambda: [event])

    (warning,) = _allocation_warnings(result("602/605"))
    assert warning.startswith("purchase_order_proposals: 3 of 605 item MILPs were not solved within the time limit")
    assert "time_limit_seconds" in warning
    assert _allocation_warnings(result("605/605")) == []


def test_a_run_collects_less_often_and_restores_the_collector_after():
    import gc

    from pipelines.cli import _RUN_GC_THRESHOLDS, _fewer_collections

    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="step failed"), _fewer_collections():
        assert gc.get_threshold() == _RUN_GC_THRESHOLDS != before
        raise RuntimeError("step failed")
    assert gc.get_threshold() == before


_FREED_RSS = """
import sys
if sys.argv[1] == "pipelines":
    import pipelines  # noqa: F401  (sets the run's memory up)
import numpy as np

def rss_mb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) / 1024

before = rss_mb()
block = np.ones(64 * 2**20 // 8)  # 64 MB, above glibc's largest mmap threshold
held = rss_mb()
del block
print(round(held - before), round(rss_mb() - before))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the resident size from /proc")
@pytest.mark.parametrize(("mode", "kept"), [("default", False), ("pipelines", True)])
def test_a_run_keeps_freed_memory_for_its_next_arrays(mode, kept):
    """glibc hands a freed 64 MB array back to the kernel; in a process that imported pipelines it stays."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _FREED_RSS, mode], capture_output=True, text=True, check=True)
    held, after_free = map(int, out.stdout.split())
    assert held >= 60
    assert (after_free >= 60) == kept, out.stdout


@pytest.mark.parametrize(("preset", "advised"), [(None, "False"), ("1", "True")])
def test_numpy_huge_pages_are_off_unless_the_user_turns_them_on(preset, advised):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if preset is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = preset
    code = "import pipelines, numpy; print(numpy._core.multiarray._get_madvise_hugepage())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == advised
