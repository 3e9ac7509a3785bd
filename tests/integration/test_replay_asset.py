"""The ``replay_kpis`` asset through ``dagster.materialize`` on a temp DuckDB: skipped without actuals,
the same KPIs as ``supplycast replay`` with them, and KPI tables in its metadata."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import materialize
from dagster_duckdb import DuckDBResource

from assets.replay import ACTUALS_ENV, replay_kpis
from pipelines.cli import main

pytestmark = pytest.mark.integration

_AS_OF = pd.Timestamp("2016-05-08")


def _warehouse(path) -> pd.DataFrame:
    """A two-item plan at 2016-05-08 and 14 days of real-shaped demand after it; returns the actuals."""
    days = pd.date_range(_AS_OF + pd.Timedelta(days=1), periods=14)
    demand = np.tile([4.0, 1, 0, 6, 2, 3, 5], 2)
    tables = {
        "replenishment_proposals": pd.DataFrame({
            "store_id": ["CA_1", "CA_1"], "item_id": ["A", "B"], "as_of": _AS_OF, "on_hand": [10, 3],
            "on_order": [6, 9], "order_qty": [20, 30], "lead_time_days": [2, 3], "lead_time_std_days": [0.5, 1.0],
            "review_days": 7, "service_level": [0.95, 0.9]}),
        "forecast": pd.concat([pd.DataFrame({"store_id": "CA_1", "item_id": i, "date": days, "yhat": demand,
                                             "yhat_q50": demand, "yhat_q90": demand + 2}) for i in "AB"]),
        "demand_history": pd.concat([pd.DataFrame({"store_id": "CA_1", "item_id": i, "units": demand,
                                                   "date": pd.date_range(_AS_OF - pd.Timedelta(days=13), _AS_OF)})
                                     for i in "AB"]),
        "supplier_catalogue": pd.DataFrame({"item_id": ["A", "B"], "unit_cost": [1.5, 3.0]}),
    }
    con = duckdb.connect(str(path))
    for name, df in tables.items():
        con.register("_src", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _src")
        con.unregister("_src")
    con.close()
    return pd.concat([pd.DataFrame({"item_id": i, "store_id": "CA_1", "date": days, "sales": demand}) for i in "AB"])


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


def test_without_actuals_the_asset_is_skipped(tmp_path, monkeypatch):
    monkeypatch.delenv(ACTUALS_ENV, raising=False)
    wh = tmp_path / "wh.duckdb"
    _warehouse(wh)
    result = materialize([replay_kpis], resources={"duckdb": DuckDBResource(database=str(wh))})
    assert result.success
    assert result.get_asset_materialization_events() == []
    assert "replay_kpis" not in _tables(wh)


def test_with_actuals_the_asset_writes_the_cli_kpis(tmp_path, monkeypatch):
    monkeypatch.delenv(ACTUALS_ENV, raising=False)
    wh = tmp_path / "wh.duckdb"
    file = tmp_path / "actuals.parquet"
    _warehouse(wh).to_parquet(file)
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


def test_the_environment_variable_supplies_the_actuals(tmp_path, monkeypatch):
    wh = tmp_path / "wh.duckdb"
    file = tmp_path / "actuals.csv"
    _warehouse(wh).to_csv(file, index=False)
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
