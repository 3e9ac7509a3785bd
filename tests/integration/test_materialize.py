"""In-process ``dagster.materialize`` of every asset on a temporary DuckDB and MLflow store."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import materialize
from dagster_duckdb import DuckDBResource

from assets import ALL_ASSETS, ALL_CHECKS
from assets.ingest import partition_range_tags
from pipelines.resources import FeedsResource, ForecastExecutorResource, MlflowTrackingResource
from warehouse.feeds import SAMPLE_DIR

pytestmark = pytest.mark.integration

# raw_pos is partitioned by day: one run loads the sample's 28 days as one range
SAMPLE_DAYS = partition_range_tags(pd.Timestamp("2016-04-25").date(), pd.Timestamp("2016-05-22").date())


def _resources(tmp: Path, data_dir: Path = SAMPLE_DIR) -> dict:
    return {
        "duckdb": DuckDBResource(database=str(tmp / "wh.duckdb")),
        "feeds": FeedsResource(data_dir=str(data_dir)),
        "forecast_executor": ForecastExecutorResource(),
        "mlflow_tracking": MlflowTrackingResource(
            tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}", artifact_root=(tmp / "artifacts").as_uri()
        ),
    }


@pytest.fixture(scope="module")
def materialised(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    result = materialize([*ALL_ASSETS, *ALL_CHECKS], resources=_resources(tmp), tags=SAMPLE_DAYS)
    return tmp, result


def test_everything_materialises_and_gates_pass(materialised):
    tmp, result = materialised
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == len(ALL_CHECKS) >= 11 and all(c.passed for c in checks)


def test_contract_columns_and_counts(materialised):
    tmp, _ = materialised
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    cols = lambda t: set(con.execute(f"SELECT * FROM {t} LIMIT 0").df().columns)  # noqa: E731
    assert {"store_id", "item_id", "date", "yhat", "yhat_q50", "yhat_q90", "model"} <= cols("forecast")
    assert {"supplier_id", "risk_score", "cost_score", "carbon_score", "total_score"} <= cols("supplier_scores")
    assert {"store_id", "item_id", "as_of", "on_hand", "on_order", "safety_stock", "reorder_point", "order_up_to",
            "order_qty"} <= cols("replenishment_proposals")
    assert {"po_id", "supplier_id", "item_id", "ship_to", "qty", "unit_cost", "freight_cost", "co2e_kg", "order_date",
            "expected_arrival", "status", "reason"} <= cols("purchase_order_proposals")
    n_fc = con.execute("SELECT count(*), count(DISTINCT (store_id, item_id)), min(date), max(date) FROM forecast").fetchall()[0]
    assert n_fc[0] == 3049 * 28 and n_fc[1] == 3049
    assert pd.Timestamp(n_fc[2]) == pd.Timestamp("2016-05-23")
    statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM purchase_order_proposals").fetchall()}
    assert statuses <= {"auto_approved", "needs_approval", "rejected"} and statuses
    con.close()


def test_po_metadata_has_markdown_table(materialised):
    _, result = materialised
    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    meta = mats["purchase_order_proposals"].materialization.metadata
    assert "| po_id" in meta["top_proposals"].value
    for key, mat in mats.items():
        if key in ("raw_suppliers", "raw_inventory"):  # optional feeds, absent from the M5 layout
            continue
        assert mat.materialization.metadata["dagster/row_count"].value > 0, key


def test_mlflow_run_logged(materialised):
    tmp, result = materialised
    import mlflow

    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    review = mats["forecast_review"].materialization.metadata
    run_id = review["mlflow_run_id"].value
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}")
    run = client.get_run(run_id)
    assert run.data.params and run.data.metrics
    assert any(a.path.endswith(".parquet") or a.is_dir for a in client.list_artifacts(run_id))
    # the review registered the run's model; the first run's model has no champion to lose to
    assert review["new_model_version"].value != "none" and review["promoted_to_champion"].value is True
    alias = client.get_model_version_by_alias("supplycast-demand-lightgbm", "champion")
    assert review["new_model_version"].value.endswith(f" v{alias.version}")
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    # the warehouse copy of the champion follows the registry
    assert con.execute("SELECT version FROM forecast_champion").fetchall() == [(str(alias.version),)]
    con.close()
    meta = mats["forecast"].materialization.metadata
    # rolling origins, and the stage measured against the library calls inside it
    assert len(meta["backtest_windows"].value["origins"]) == 2 and meta["backtest_windows"].value["days_per_window"] == 7
    lib = meta["library_seconds"].value
    assert lib["statsforecast"] > 0 and lib["lightgbm"] > 0
    assert meta["stage_to_library_ratio"].value == pytest.approx(meta["stage_seconds"].value / lib["total"], rel=0.02)


def test_rerun_gives_same_po_ids(materialised, tmp_path):
    tmp, _ = materialised
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    first = set(r[0] for r in con.execute("SELECT DISTINCT po_id FROM purchase_order_proposals").fetchall())
    con.close()
    from assets.procurement import purchase_order_proposals

    again = materialize([purchase_order_proposals], resources=_resources(tmp))
    assert again.success
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    second = set(r[0] for r in con.execute("SELECT DISTINCT po_id FROM purchase_order_proposals").fetchall())
    con.close()
    assert first == second


def test_failed_gate_blocks_downstream(tmp_path):
    data = tmp_path / "bad"
    import shutil

    shutil.copytree(SAMPLE_DIR, data)
    weather = data / "walmart_stormy_weather" / "weather.parquet"
    df = pd.read_parquet(weather)
    # each value is plausible, so the loader keeps the rows, but tmax < tmin breaks the GX suite
    rows = df.index[(df["tmax"] == "60") & (df["tmin"] == "40")][:7]
    assert len(rows) >= 5
    df.loc[rows, ["tmax", "tmin"]] = ["40", "60"]
    df.to_parquet(weather)
    from assets.ingest import raw_weather
    from assets.warehouse import store_weather

    result = materialize([raw_weather, store_weather, *ALL_CHECKS], resources=_resources(tmp_path, data),
                         selection=["raw_weather", "store_weather"], raise_on_error=False)
    assert not result.success
    evals = result.get_asset_check_evaluations()
    failed = [e for e in evals if not e.passed]
    assert [e.check_name for e in failed] == ["gx_weather_suite"]
    assert "tmax_f" in failed[0].description and f"{len(rows)} bad rows" in failed[0].description
    assert "store_weather" not in {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
