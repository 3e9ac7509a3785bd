"""Release and the loop back: day 1 plans at 2016-05-21, releases its POs; day 2 plans at 2016-05-22 and
counts what was released as stock on order, so it does not order it again.

The sample is loaded once; both days forecast with the statistical models only (seasonal naive,
Croston SBA) so the test stays quick. The day-2 plan is compared with the plan the same day would
make without the released POs: the same order-up-to level S and reorder point s, the position
without the released units.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from dagster import AssetSelection, materialize

from assets import ALL_ASSETS, ALL_CHECKS
from assets.ingest import partition_range_tags
from assets.resources import build_resources
from procurement.review import decisions_frame
from warehouse.feeds import SAMPLE_DIR
from warehouse.review_store import record_decisions, release_purchase_orders

pytestmark = pytest.mark.integration

DAY1, DAY2 = "2016-05-21", "2016-05-22"
PLAN = ["forecast", "inventory_snapshot", "replenishment_proposals", "purchase_order_proposals"]


def _config(as_of: str) -> dict:
    return {"ops": {"forecast": {"config": {"as_of": as_of, "horizon": 14, "global_model": False,
                                            "use_champion": False, "models": ["seasonal_naive", "croston_sba"],
                                            "backtest_windows": 1, "holdout_days": 7}}}}


def _read(path, sql, params=()):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, list(params)).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("loop")
    path = tmp / "wh.duckdb"
    # ci: the warehouse's own MLflow store beside it, nothing written outside tmp
    resources = build_resources(data_dir=SAMPLE_DIR, warehouse=path, env="ci")
    days = partition_range_tags(pd.Timestamp("2016-04-25").date(), pd.Timestamp(DAY2).date())
    day1 = AssetSelection.all() - AssetSelection.assets("replay_kpis", "po_decisions", "forecast_review",
                                                        "purchase_order_exports")
    assert materialize([*ALL_ASSETS, *ALL_CHECKS], selection=day1, resources=resources, tags=days,
                       run_config=_config(DAY1)).success
    day1_lines = _read(path, "SELECT * FROM purchase_order_proposals")
    # a buyer with a high enough limit approves every PO waiting; release sends them with the auto-approved
    waiting = day1_lines.loc[day1_lines["status"] == "needs_approval", "po_id"].unique()
    con = duckdb.connect(str(path))
    try:
        approvers = pd.DataFrame({"approver": ["ana"], "limit_usd": [1e9]})
        record_decisions(con, decisions_frame([{"po_id": p, "decision": "approve", "approver": "ana", "note": "day 1"}
                                               for p in waiting]), channel="cli", approvers=approvers)
        released = release_purchase_orders(con, tmp / "exports", released_by="ana").lines
    finally:
        con.close()
    assert materialize(ALL_ASSETS, selection=AssetSelection.assets(*PLAN), resources=resources,
                       run_config=_config(DAY2)).success
    return path, day1_lines, released


def test_day_two_counts_released_pos_on_order(two_days):
    path, day1_lines, released = two_days
    placed = day1_lines[day1_lines["status"] != "rejected"]
    assert len(released) == len(placed) and set(released["po_id"]) == set(placed["po_id"])
    assert (pd.to_datetime(released["order_date"]) == pd.Timestamp(DAY1)).all()
    inventory = _read(path, "SELECT * FROM inventory_snapshot").set_index(["store_id", "item_id"])
    assert (inventory["as_of"] == pd.Timestamp(DAY2)).all()
    # released on the 21st, expected after the 22nd: on its way on day 2
    on_way = released[pd.to_datetime(released["expected_arrival"]) > pd.Timestamp(DAY2)]
    expected = on_way.groupby(["ship_to", "item_id"])["qty"].sum()
    got = inventory["on_order_released"]
    assert got[got > 0].sort_index().to_dict() == {k: int(v) for k, v in expected.sort_index().items()}
    assert int(got.sum()) == int(on_way["qty"].sum()) > 0


def test_day_two_does_not_reorder_what_is_on_its_way(two_days):
    path, _, released = two_days
    plan = _read(path, "SELECT r.*, i.on_order_released FROM replenishment_proposals r JOIN inventory_snapshot i "
                       "USING (store_id, item_id)")
    assert (plan["as_of"] == pd.Timestamp(DAY2)).all()
    r = plan["on_order_released"]
    with_release = plan["on_hand"] + plan["on_order"]
    without = with_release - r
    # the same S and s, the position without the released units: what day 2 would order had nothing been released
    reorder_without = ((without <= plan["reorder_point"]) * (plan["order_up_to"] - without).clip(lower=0)).astype(int)
    hit = r > 0
    assert hit.sum() > 0
    assert (plan.loc[hit, "order_qty"] <= (reorder_without[hit] - r[hit]).clip(lower=0)).all()
    assert plan.loc[hit, "order_qty"].sum() < reorder_without[hit].sum()
    # every item the release covers up to its order-up-to level is not ordered again
    covered = hit & (with_release >= plan["order_up_to"])
    assert covered.sum() > 0 and (plan.loc[covered, "order_qty"] == 0).all()
    orders = _read(path, "SELECT ship_to AS store_id, item_id, sum(qty) AS qty FROM purchase_order_proposals "
                         "WHERE status <> 'rejected' GROUP BY ALL")
    assert not set(zip(orders["store_id"], orders["item_id"], strict=True)) & set(
        zip(plan.loc[covered, "store_id"], plan.loc[covered, "item_id"], strict=True))
    table = plan.loc[hit].assign(order_qty_without_release=reorder_without[hit]).sort_values(
        "on_order_released", ascending=False)
    print("\n" + table.head(5)[["store_id", "item_id", "on_hand", "on_order", "on_order_released", "reorder_point",
                                "order_up_to", "order_qty", "order_qty_without_release"]].to_string(index=False))
    print(f"items with released POs on their way: {int(hit.sum())}; day-2 units ordered for them "
          f"{int(plan.loc[hit, 'order_qty'].sum())}, without the release {int(reorder_without[hit].sum())}; "
          f"released units on the way {int(r.sum())}")
