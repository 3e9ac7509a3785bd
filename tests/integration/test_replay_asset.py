"""The ``replay_kpis`` asset through ``dagster.materialize`` on a temp DuckDB: skipped without actuals,
the same KPIs as ``supplycast replay`` with them, and KPI tables in its metadata."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest
from dagster import materialize
from dagster_duckdb import DuckDBResource

from assets.replay import ACTUALS_ENV, replay_kpis
from pipelines.cli import main

pytestmark = pytest.mark.integration


def _kpis(path) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT * FROM replay_kpis ORDER BY policy").df()
    finally:
        con.close()


def _tables(path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()


def test_without_actuals_the_asset_is_skipped(tmp_path, monkeypatch, replay_warehouse):
    monkeypatch.delenv(ACTUALS_ENV, raising=False)
    wh = tmp_path / "wh.duckdb"
    replay_warehouse(wh, on_order=[6, 9])
    result = materialize([replay_kpis], resources={"duckdb": DuckDBResource(database=str(wh))})
    assert result.success
    assert result.get_asset_materialization_events() == []
    assert "replay_kpis" not in _tables(wh)


def test_with_actuals_the_asset_writes_the_cli_kpis(tmp_path, monkeypatch, replay_warehouse):
    monkeypatch.delenv(ACTUALS_ENV, raising=False)
    wh = tmp_path / "wh.duckdb"
    file = tmp_path / "actuals.parquet"
    replay_warehouse(wh, on_order=[6, 9]).to_parquet(file)
    cli_wh = tmp_path / "cli.duckdb"
    shutil.copy(wh, cli_wh)
    result = materialize([replay_kpis], resources={"duckdb": DuckDBResource(database=str(wh))},
                         run_config={"ops": {"replay_kpis": {"config": {"actuals_path": str(file)}}}})
    assert result.success
    (event,) = result.get_asset_materialization_events()
    meta = event.materialization.metadata
    for table in ("kpis_all_days", "kpis_after_first_arrival"):
        assert all(p in meta[table].value for p in ("supplycast", "snaive_base_stock", "oracle")), table
    assert meta["dagster/row_count"].value == 3
    asset_kpis = _kpis(wh)
    assert list(asset_kpis["policy"]) == ["oracle", "snaive_base_stock", "supplycast"]
    assert meta["supplycast_fill_rate"].value == pytest.approx(
        asset_kpis.set_index("policy").loc["supplycast", "fill_rate"])
    # the asset and the CLI are one replay: same seed, same figures
    assert main(["replay", "--actuals", str(file), "--warehouse", str(cli_wh), "--json"]) == 0
    pd.testing.assert_frame_equal(asset_kpis, _kpis(cli_wh))


def test_the_environment_variable_supplies_the_actuals(tmp_path, monkeypatch, replay_warehouse):
    wh = tmp_path / "wh.duckdb"
    file = tmp_path / "actuals.csv"
    replay_warehouse(wh, on_order=[6, 9]).to_csv(file, index=False)
    monkeypatch.setenv(ACTUALS_ENV, str(file))
    result = materialize([replay_kpis], resources={"duckdb": DuckDBResource(database=str(wh))})
    assert result.success and len(result.get_asset_materialization_events()) == 1
    kpis = _kpis(wh)
    assert (kpis["actuals_file"] == str(file)).all()
    assert kpis["fill_rate"].between(0, 1).all() and kpis["fill_rate_after_arrival"].between(0, 1).all()


def test_the_replay_has_its_own_job_and_stays_out_of_the_refresh():
    from dagster import AssetKey

    from pipelines.definitions import defs

    key = AssetKey("replay_kpis")
    assert key in defs.resolve_job_def("procurement_replay").asset_layer.selected_asset_keys
    for job in ("daily_refresh", "procurement_review"):
        assert key not in defs.resolve_job_def(job).asset_layer.selected_asset_keys, job
