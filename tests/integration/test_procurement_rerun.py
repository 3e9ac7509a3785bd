"""Re-running the procurement assets: same PO ids, no duplicate POs, audit only grows on change."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from dagster import AssetSelection, materialize
from dagster_duckdb import DuckDBResource

from assets import ALL_ASSETS, ALL_CHECKS
from assets.ingest import partition_range_tags
from forecasting.registry import registered_model_name
from pipelines.resources import FeedsResource, ForecastExecutorResource, MlflowTrackingResource
from warehouse.feeds import SAMPLE_DIR

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rerun")
    resources = {
        "duckdb": DuckDBResource(database=str(tmp / "wh.duckdb")),
        "feeds": FeedsResource(data_dir=str(SAMPLE_DIR)),
        "forecast_executor": ForecastExecutorResource(),
        "mlflow_tracking": MlflowTrackingResource(tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}",
                                                  artifact_root=(tmp / "artifacts").as_uri(),
                                                  registered_model=registered_model_name(SAMPLE_DIR)),
    }
    days = partition_range_tags(pd.Timestamp("2016-04-25").date(), pd.Timestamp("2016-05-22").date())
    assert materialize([*ALL_ASSETS, *ALL_CHECKS], resources=resources, tags=days).success
    return tmp / "wh.duckdb", resources


def _read(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def test_rerun_keeps_ids_and_audit(warehouse):
    path, resources = warehouse
    before = _read(path, "SELECT po_id, line_no, item_id, status FROM purchase_order_proposals ORDER BY ALL")
    audit_before = _read(path, "SELECT * FROM po_audit")
    assert len(audit_before) == len(before)  # every line's first status is recorded
    assert not before.duplicated(["po_id", "line_no"]).any()
    po = AssetSelection.assets("purchase_order_proposals")
    assert materialize(ALL_ASSETS, selection=po, resources=resources).success
    after = _read(path, "SELECT po_id, line_no, item_id, status FROM purchase_order_proposals ORDER BY ALL")
    assert after.equals(before)
    assert len(_read(path, "SELECT * FROM po_audit")) == len(audit_before)
    # a stricter approval threshold changes statuses: each change is appended, nothing else
    strict = {"ops": {"purchase_order_proposals": {"config": {"approval_threshold_usd": 0.0}}}}
    assert materialize(ALL_ASSETS, selection=po, resources=resources, run_config=strict).success
    changed = _read(path, "SELECT * FROM po_audit").iloc[len(audit_before):]
    flipped = (before["status"] == "auto_approved").sum()
    assert len(changed) == flipped > 0
    assert set(changed["from_status"]) == {"auto_approved"} and set(changed["to_status"]) == {"needs_approval"}


def test_scores_explained_and_lines_explained(warehouse):
    path, _ = warehouse
    scores = _read(path, "SELECT explanation, distance_source, risk_source FROM supplier_scores")
    assert scores["explanation"].str.startswith("total ").all()
    assert scores["distance_source"].str.contains("great circle").any()
    lines = _read(path, "SELECT status, reason, explanation, landed_cost, unit_cost FROM purchase_order_proposals "
                        "WHERE status <> 'rejected'")
    assert lines["reason"].str.startswith("Chosen: ").all()
    assert lines["explanation"].str.contains("USD/unit = landed").all()
    assert (lines["landed_cost"] >= lines["unit_cost"]).all()
    model = _read(path, "SELECT DISTINCT auc, brier, brier_base_rate FROM supplier_risk_model")
    assert len(model) == 1 and model["auc"].iloc[0] > 0.5
