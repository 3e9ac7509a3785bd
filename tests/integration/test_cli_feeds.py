"""End to end through ``supplycast run`` (subprocesses): canonical layout, where feeds came from, quarantine,
failing gates, data docs, and a quiet run's clean stderr."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from warehouse.feeds import SAMPLE_DIR

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _run(data: Path, home: Path, *options: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DAGSTER_HOME", "MLFLOW_LOGGING_LEVEL", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "run", "--data", str(data), "--warehouse", str(home / "w.duckdb"), "--quiet",
         *options],
        env={**base, "SUPPLYCAST_HOME": str(home), "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
             "PYTHONPATH": str(ROOT), **env},
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )


def _tables(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        return {n: con.execute(f"SELECT count(*) FROM {n}").fetchall()[0][0] for n in names}
    finally:
        con.close()


@pytest.fixture(scope="module")
def canonical(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """The sample in the canonical layout (POS as one CSV per day, 7 negative units, no emission factors),
    and a good run on it that borrows the emission factors from the sample (``--sample-logistics``)."""
    root = tmp_path_factory.mktemp("feeds")
    sales = pd.read_parquet(SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet")
    sales = sales[["store_id", "item_id", "date", "sales"]].rename(columns={"sales": "units"})
    # 7 series' first day: a quarantined row leaves a hole in its series, and the forecast (issue 5's
    # validation) refuses series with holes inside, so the bad rows sit where they only shorten a series
    first_day = sales.index[sales["date"] == sales["date"].min()][100:107]
    sales.loc[first_day, "units"] = -3
    (root / "pos").mkdir()
    for day, rows in sales.groupby("date"):
        rows.to_csv(root / "pos" / f"{day}.csv", index=False)
    for feed, src in (("prices", "m5/sell_prices.parquet"), ("calendar", "m5/calendar.parquet"),
                      ("weather", "walmart_stormy_weather/weather.parquet"),
                      ("weather_stations", "walmart_stormy_weather/key.parquet"),
                      ("shipments", "usaid_scms_shipments/shipments.parquet")):
        (root / feed).mkdir()
        shutil.copy(SAMPLE_DIR / src, root / feed / Path(src).name)
    home = tmp_path_factory.mktemp("home")
    result = _run(root, home, "--sample-logistics", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    return root, home, result


def test_canonical_layout_runs_and_quarantines(canonical):
    root, home, _ = canonical
    tables = _tables(home / "w.duckdb")
    assert tables["quarantine_pos"] == 7
    assert tables["raw_pos"] == 3049 * 28 - 7
    assert tables["purchase_order_proposals"] > 0
    con = duckdb.connect(str(home / "w.duckdb"), read_only=True)
    reasons = con.execute("SELECT DISTINCT reason, source_file FROM quarantine_pos").fetchall()
    con.close()
    assert [r[0] for r in reasons] == ["units: below 0"] and all(r[1].endswith(".csv") for r in reasons)


def test_gx_data_docs_are_built(canonical):
    _, home, _ = canonical
    site = home / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site"
    assert (site / "index.html").is_file()
    pages = {p.parts[-4] for p in (site / "validations").rglob("*.html")}
    assert {"pos_suite", "prices_suite", "calendar_suite", "weather_suite", "shipments_suite"} <= pages


def test_failed_loads_exit_non_zero_and_keep_the_warehouse(canonical, tmp_path):
    root, home, _ = canonical
    before = _tables(home / "w.duckdb")
    bad = tmp_path / "feeds"
    shutil.copytree(root, bad)
    (bad / "prices" / "sell_prices.parquet").write_bytes(b"PAR1 this is not parquet")
    # the 7 negative units now fail their feed too
    result = _run(bad, home, "--sample-logistics", SUPPLYCAST_MAX_BAD_SHARE="0")
    assert result.returncode == 1
    assert "raw_prices" in result.stderr and "sell_prices.parquet" in result.stderr and "cannot read" in result.stderr
    assert "raw_pos" in result.stderr and "7 of 85,372 rows bad" in result.stderr and "units: below 0 (7 rows)" in result.stderr
    assert _tables(home / "w.duckdb") == before


def test_json_names_where_each_feed_came_from(canonical):
    root, _, result = canonical
    summary = json.loads(result.stdout)
    feeds = summary["feeds"]
    assert feeds["pos"] == {"path": str(root / "pos"), "files": 28, "source": "data"}
    assert feeds["shipments"] == {"path": str(root / "shipments" / "shipments.parquet"), "files": 1, "source": "data"}
    assert feeds["emission_factors"] == {"path": str(SAMPLE_DIR / "freight_emission_factors.csv"), "files": 1,
                                         "source": "sample"}
    assert summary["sample_fallbacks"] == ["emission_factors"]
    borrowed = [w for w in summary["warnings"] if "EMBEDDED SAMPLE" in w]
    assert len(borrowed) == 1 and "emission_factors" in borrowed[0]


def test_json_reports_quarantined_rows_and_the_run_still_succeeds(canonical):
    root, _, result = canonical
    summary = json.loads(result.stdout)
    assert result.returncode == 0 and summary["success"] is True
    first_file = sorted((root / "pos").iterdir())[0]
    assert summary["quarantine"]["pos"] == {
        "rows": 7, "loaded": 3049 * 28 - 7, "table": "quarantine_pos", "share": round(7 / (3049 * 28), 6),
        "max_bad_share": 0.05, "top_reasons": [{"reason": "units: below 0", "rows": 7}],
        "top_files": [{"file": str(first_file), "rows": 7}]}
    assert all(q["rows"] == 0 for feed, q in summary["quarantine"].items() if feed != "pos")
    (warning,) = [w for w in summary["warnings"] if w.startswith("pos:")]
    assert "7 rows quarantined" in warning and "units: below 0 (7 rows)" in warning and "quarantine_pos" in warning
    # the file, as the feed folder and name, and what the missing days become
    assert f"from pos/{first_file.name} (7 rows)" in warning and "units_imputed" in warning


def test_quiet_run_prints_nothing_on_stderr(canonical):
    # no MLflow table creation, alembic INFO, upload progress bars or Dagster warnings: a quiet run that
    # succeeds leaves stderr empty
    _, _, result = canonical
    assert result.stderr == "", result.stderr[-3000:]


def test_missing_logistics_stop_the_run_unless_asked(canonical, tmp_path):
    root, _, _ = canonical
    result = _run(root, tmp_path)
    assert result.returncode == 2
    assert "no emission_factors feed" in result.stderr and "--sample-logistics" in result.stderr
    assert not (tmp_path / "w.duckdb").exists()
