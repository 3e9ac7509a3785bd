"""Shared fixtures: the embedded real sample loaded into a temporary DuckDB file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")

from procurement.approval import ApprovalPolicy, assess_purchase_orders  # noqa: E402
from warehouse import ingest, marts  # noqa: E402
from warehouse.feeds import SAMPLE_DIR, discover_feeds  # noqa: E402
from warehouse.review_store import ensure_review_tables  # noqa: E402


def load_sample(con: duckdb.DuckDBPyConnection, data_dir: Path = SAMPLE_DIR) -> None:
    paths = discover_feeds(data_dir)
    ingest.ingest_pos(con, paths.pos)
    ingest.ingest_pos_history(con, paths.files("pos_history"))
    ingest.ingest_prices(con, paths.files("prices"))
    ingest.ingest_calendar(con, paths.files("calendar"))
    ingest.ingest_events(con, paths.files("events"))
    ingest.ingest_promotions(con, paths.files("promotions"))
    ingest.ingest_weather(con, paths.files("weather"), paths.files("weather_stations"))
    ingest.ingest_shipments(con, paths.shipments)
    ingest.ingest_emission_factors(con, paths.emission_factors)
    for name in marts.MARTS:
        marts.build_mart(con, name)


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file holding the sample's raw tables and marts (built once per session)."""
    path = tmp_path_factory.mktemp("warehouse") / "sample.duckdb"
    con = duckdb.connect(str(path))
    load_sample(con)
    con.close()
    return path


@pytest.fixture()
def sample_con(sample_db: Path):
    con = duckdb.connect(str(sample_db), read_only=True)
    yield con
    con.close()


def _build_replay_warehouse(path: Path, *, on_order: int | list[int] = 0) -> pd.DataFrame:
    """A two-item plan at 2016-05-08 and 14 days of real-shaped demand after it; returns the actuals
    in M5 long layout (what ``supplycast replay --actuals`` reads)."""
    as_of = pd.Timestamp("2016-05-08")
    days = pd.date_range(as_of + pd.Timedelta(days=1), periods=14)
    demand = np.tile([4.0, 1, 0, 6, 2, 3, 5], 2)
    tables = {
        "replenishment_proposals": pd.DataFrame({
            "store_id": ["CA_1", "CA_1"], "item_id": ["A", "B"], "as_of": as_of, "on_hand": [10, 3],
            "on_order": on_order, "order_qty": [20, 30], "lead_time_days": [2, 3], "lead_time_std_days": [0.5, 1.0],
            "review_days": 7, "service_level": [0.95, 0.9]}),
        "forecast": pd.concat([pd.DataFrame({"store_id": "CA_1", "item_id": i, "date": days, "yhat": demand,
                                             "yhat_q50": demand, "yhat_q90": demand + 2}) for i in "AB"]),
        "demand_history": pd.concat([pd.DataFrame({"store_id": "CA_1", "item_id": i, "units": demand,
                                                   "date": pd.date_range(as_of - pd.Timedelta(days=13), as_of)})
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


@pytest.fixture()
def replay_warehouse() -> Callable[..., pd.DataFrame]:
    """Builds the small replay warehouse at a path: ``replay_warehouse(path, on_order=...)`` -> actuals."""
    return _build_replay_warehouse


REVIEW_AS_OF = pd.Timestamp("2016-05-21")


def build_po_lines() -> pd.DataFrame:
    """Three POs and a rejected line; PO-A 55,800 USD needs approval, PO-B a risky supplier, PO-C auto."""
    rows = [
        ("PO-A", "acme", "FOODS_1", 600, 50.0, 1000.0, 0.2, 12, 12),
        ("PO-A", "acme", "FOODS_2", 480, 50.0, 800.0, 0.2, 12, 12),
        ("PO-B", "risky", "HOBBIES_1", 200, 40.0, 200.0, 0.8, 10, 10),
        ("PO-C", "calm", "HOUSEHOLD_1", 24, 10.0, 40.0, 0.1, 6, 6),
        ("RJ-D", "none", "FOODS_3", 5, np.nan, np.nan, np.nan, np.nan, np.nan),
    ]
    lines = pd.DataFrame(rows, columns=["po_id", "supplier_id", "item_id", "qty", "unit_cost", "freight_cost",
                                        "risk_score", "moq", "pack_size"])
    lines["ship_to"] = "CA_1"
    lines["line_no"] = 1
    lines["order_value"] = lines["qty"] * lines["unit_cost"] + lines["freight_cost"]
    lines["line_value"] = lines["qty"] * lines["unit_cost"]
    lines["co2e_kg"] = lines["qty"] * 0.5
    lines["order_date"] = REVIEW_AS_OF
    lines["expected_arrival"] = REVIEW_AS_OF + pd.Timedelta(days=4)
    lines["status"] = np.where(lines["po_id"] == "RJ-D", "rejected", "x")
    lines["reason"] = "why"
    for c, v in {"substitution": "", "preferred_supplier": "", "landed_cost": 1.0, "preferred_landed_cost": 1.0,
                 "lead_time_days": 4}.items():
        lines[c] = v
    refs = pd.DataFrame({"protect_days": 11, "forecast_units": 1e6, "history_units": 1e6}, index=lines.index)
    policy = ApprovalPolicy(auto_approve_max_usd=50_000, tier_limits_usd=(100_000,), high_risk_auto_max_usd=5_000)
    return lines.drop(columns="status").join(assess_purchase_orders(lines, refs, policy))



@pytest.fixture()
def po_lines() -> Callable[[], pd.DataFrame]:
    """Builds hand-made PO proposals: PO-A 55,800 USD (needs approval), PO-B (risky supplier), PO-C (auto), RJ-D."""
    return build_po_lines


@pytest.fixture()
def review_warehouse(tmp_path: Path) -> Path:
    """A DuckDB file holding the hand-made ``purchase_order_proposals`` (and empty review tables), and ``approvers.csv``
    (ana 100,000 USD, bo 10,000 USD) in ``state/`` beside it."""
    path = tmp_path / "state" / "warehouse.duckdb"
    path.parent.mkdir()
    (path.parent / "approvers.csv").write_text("approver,limit_usd\nana,100000\nbo,10000\n")
    con = duckdb.connect(str(path))
    con.register("_src", build_po_lines())
    con.execute("CREATE TABLE purchase_order_proposals AS SELECT * FROM _src")
    ensure_review_tables(con)  # as the pipeline's purchase_order_proposals step leaves them
    con.close()
    return path
