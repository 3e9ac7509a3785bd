"""MILP allocation, order-up-to policy (hypothesis properties), audit and replay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procurement.allocation import allocate
from procurement.audit import audit_changes
from procurement.policy import item_service_levels, replenishment_proposals
from procurement.replay import ActualsError, load_actuals, replay

_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _offers(rows: list[tuple]) -> pd.DataFrame:
    cols = ["supplier_id", "item_id", "unit_cost", "objective_per_unit", "pack_size", "moq", "capacity_units_per_week",
            "lead_time_days"]
    return pd.DataFrame(rows, columns=cols)


def _needs(qty: list[int], item: str = "I1", need_days: int = 30) -> pd.DataFrame:
    return pd.DataFrame({"need_id": range(len(qty)), "store_id": [f"S{i}" for i in range(len(qty))],
                         "item_id": item, "need_qty": qty, "need_days": need_days, "dept_id": "D"})


def test_capacity_forces_a_split_and_moq_pack_hold():
    offers = _offers([("cheap", "I1", 1.0, 1.0, 6, 12, 30, 2), ("dear", "I1", 2.0, 2.0, 4, 8, 1000, 2)])
    res = allocate(_needs([20, 20]), offers)
    lines = res.lines
    assert res.info["method"] == "milp"
    assert lines.loc[lines["supplier_id"] == "cheap", "qty"].sum() <= 30
    assert (res.needs["allocated"] >= res.needs["need_qty"]).all()
    assert (lines["qty"] % lines["pack_size"] == 0).all() and (lines["qty"] >= lines["moq"]).all()
    assert set(lines["supplier_id"]) == {"cheap", "dear"}


def test_late_offer_is_only_a_backup_for_capacity():
    offers = _offers([("slow_cheap", "I1", 1.0, 1.0, 1, 1, 1000, 20), ("fast", "I1", 2.0, 2.0, 1, 1, 1000, 2)])
    res = allocate(_needs([10], need_days=5), offers)
    assert list(res.lines["supplier_id"]) == ["fast"]
    tight = offers.assign(capacity_units_per_week=[1000, 6])
    res = allocate(_needs([10], need_days=5), tight)
    assert res.lines.set_index("supplier_id")["qty"].to_dict() == {"fast": 6, "slow_cheap": 4}


def test_budget_leaves_a_shortage_not_an_overspend():
    offers = _offers([("a", "I1", 5.0, 5.0, 1, 1, 1000, 1)])
    res = allocate(_needs([10, 10]), offers, budget=60.0)
    assert (res.lines["qty"] * res.lines["unit_cost"]).sum() <= 60.0
    assert res.needs["shortage"].sum() == 20 - res.lines["qty"].sum() > 0


@st.composite
def _problem(draw):
    n_needs = draw(st.integers(1, 6))
    n_sup = draw(st.integers(1, 3))
    needs = [draw(st.integers(1, 60)) for _ in range(n_needs)]
    rows = []
    for s in range(n_sup):
        pack = draw(st.sampled_from([1, 2, 4, 6, 12]))
        rows.append((f"s{s}", "I1", draw(st.floats(0.5, 20)), draw(st.floats(0.5, 20)), pack,
                     pack * draw(st.integers(1, 4)), draw(st.integers(0, 400)), draw(st.integers(1, 5))))
    budget = draw(st.one_of(st.none(), st.floats(10, 3000)))
    return needs, _offers(rows), budget


@_SETTINGS
@given(_problem())
def test_allocation_properties(problem):
    needs, offers, budget = problem
    res = allocate(_needs(needs), offers, budget=budget, time_limit=10)
    lines = res.lines
    assert (lines["qty"] > 0).all()
    assert (lines["qty"] % lines["pack_size"] == 0).all()
    assert (lines["qty"] >= lines["moq"]).all()
    used = lines.groupby("supplier_id")["qty"].sum()
    cap = offers.set_index("supplier_id")["capacity_units_per_week"]
    assert (used <= cap.reindex(used.index)).all()
    if budget is not None:
        assert (lines["qty"] * lines["unit_cost"]).sum() <= budget + 1e-6
    assert (res.needs["allocated"] + res.needs["shortage"] >= res.needs["need_qty"]).all()


@_SETTINGS
@given(st.lists(st.integers(1, 40), min_size=1, max_size=5), st.integers(1, 30))
def test_more_demand_never_buys_less(needs, extra):
    offers = _offers([("a", "I1", 1.0, 1.0, 4, 8, 10_000, 1), ("b", "I1", 1.5, 1.5, 1, 1, 10_000, 1)])
    base = allocate(_needs(needs), offers).lines["qty"].sum()
    more = allocate(_needs([needs[0] + extra, *needs[1:]]), offers).lines["qty"].sum()
    assert more >= base


def _policy_inputs(mu: np.ndarray, spread: float, on_hand: int, lead: int, lead_sd: float):
    as_of = pd.Timestamp("2016-05-08")
    dates = pd.date_range(as_of + pd.Timedelta(days=1), periods=len(mu))
    forecast = pd.DataFrame({"store_id": "S", "item_id": "I", "date": dates, "yhat": mu, "yhat_q50": mu,
                             "yhat_q90": mu + spread})
    inventory = pd.DataFrame({"store_id": ["S"], "item_id": ["I"], "on_hand": [on_hand], "on_order": [0]})
    lead_times = pd.DataFrame({"item_id": ["I"], "supplier_id": ["x"], "lead_time_days": [lead],
                               "lead_time_std_days": [lead_sd]})
    return forecast, inventory, lead_times, as_of


@_SETTINGS
@given(st.lists(st.floats(0, 50), min_size=14, max_size=14), st.floats(0, 10), st.integers(0, 200),
       st.integers(1, 10), st.floats(0, 3), st.floats(1.0, 3.0), st.sampled_from([0.9, 0.95, 0.99]))
def test_policy_orders_nonnegative_and_monotone_in_demand(mu, spread, on_hand, lead, lead_sd, scale, service):
    mu = np.array(mu)
    f, inv, lt, as_of = _policy_inputs(mu, spread, on_hand, lead, lead_sd)
    base = replenishment_proposals(f, inv, lt, as_of=as_of, service_level=service)
    f2, *_ = _policy_inputs(mu * scale, spread * scale, on_hand, lead, lead_sd)
    more = replenishment_proposals(f2, inv, lt, as_of=as_of, service_level=service)
    assert (base["order_qty"] >= 0).all()
    assert base["order_up_to"].iloc[0] >= base["reorder_point"].iloc[0] >= 0
    assert more["order_qty"].iloc[0] >= base["order_qty"].iloc[0]
    assert more["order_up_to"].iloc[0] >= base["order_up_to"].iloc[0]


def test_abc_xyz_service_targets():
    days = pd.date_range("2016-04-25", periods=14)
    hist = pd.concat([
        pd.DataFrame({"store_id": "S", "item_id": "steady_big", "date": days, "units": 100, "sell_price": 5.0}),
        pd.DataFrame({"store_id": "S", "item_id": "rare_small", "date": days, "units": [0] * 13 + [1], "sell_price": 1.0}),
    ])
    levels = item_service_levels(hist).set_index("item_id")
    assert levels.loc["steady_big", "abc_xyz"] == "AX" and levels.loc["rare_small", "abc_xyz"] == "CZ"
    assert levels.loc["steady_big", "service_level"] > levels.loc["rare_small", "service_level"]


def test_audit_records_changes_once():
    at = pd.Timestamp("2026-01-01", tz="UTC")
    lines = pd.DataFrame({"po_id": ["P1", "P1"], "item_id": ["a", "b"], "ship_to": "S",
                          "order_date": pd.Timestamp("2016-05-08"), "status": ["auto_approved", "needs_approval"],
                          "reason": "r"})
    first = audit_changes(pd.DataFrame(), lines, run_id="r1", recorded_at=at)
    assert len(first) == 2 and set(first["from_status"]) == {"none"}
    again = audit_changes(first, lines, run_id="r2", recorded_at=at + pd.Timedelta(hours=1))
    assert again.empty
    changed = lines.iloc[:1].assign(status="needs_approval")
    third = audit_changes(first, changed, run_id="r3", recorded_at=at + pd.Timedelta(hours=2))
    assert sorted(zip(third["item_id"], third["to_status"], strict=True)) == [("a", "needs_approval"), ("b", "withdrawn")]


def test_actuals_bad_rows_are_quarantined(tmp_path):
    path = tmp_path / "a.csv"
    pd.DataFrame({"item_id": ["I", "I", "I"], "store_id": "S", "date": ["2016-05-09", "2016-05-10", "2016-05-11"],
                  "sales": [1, -2, None]}).to_csv(path, index=False)
    clean, bad = load_actuals(path)
    assert len(clean) == 1 and len(bad) == 2 and set(bad["reason"]) == {"negative sales", "missing or non-numeric sales"}
    pd.DataFrame({"item": ["I"]}).to_csv(path, index=False)
    with pytest.raises(ActualsError, match="a.csv: missing column"):
        load_actuals(path)


def test_replay_oracle_and_policies_on_known_demand():
    as_of = pd.Timestamp("2016-05-08")
    days = pd.date_range(as_of + pd.Timedelta(days=1), periods=14)
    hist_days = pd.date_range(as_of - pd.Timedelta(days=13), as_of)
    demand = np.tile([5.0, 0, 3, 8, 2, 6, 4], 2)
    proposals = pd.DataFrame({"store_id": ["S"], "item_id": ["I"], "as_of": [as_of], "on_hand": [100], "on_order": [0],
                              "order_qty": [0], "lead_time_days": [2], "lead_time_std_days": [0.0], "review_days": [7],
                              "service_level": [0.95]})
    forecast = pd.DataFrame({"store_id": "S", "item_id": "I", "date": days, "yhat": demand, "yhat_q50": demand,
                             "yhat_q90": demand + 1})
    history = pd.DataFrame({"store_id": "S", "item_id": "I", "date": hist_days, "units": np.tile(demand[:7], 2)})
    actuals = pd.DataFrame({"store_id": "S", "item_id": "I", "date": days, "units": demand})
    kpis, daily = replay(proposals, forecast, history, actuals, pd.Series({"I": 2.0}))
    k = kpis.set_index("policy")
    assert set(k.index) == {"supplycast", "snaive_base_stock", "oracle"}
    # 100 units on hand cover the 2 weeks' 56 units: every policy serves everything
    assert (k["fill_rate"] == 1.0).all() and (k["stockout_units"] == 0).all()
    assert np.allclose(k["total_cost"], k["holding_cost"] + k["stockout_cost"] + k["ordering_cost"])
    assert daily.groupby("policy")["demand"].sum().eq(demand.sum()).all()
    short = proposals.assign(on_hand=0)
    k2 = replay(short, forecast, history, actuals, pd.Series({"I": 2.0}))[0].set_index("policy")
    # with nothing on hand and a 2-day lead time, the first two days are lost whatever the policy
    assert (k2["stockout_units"] >= demand[:2].sum()).all()
    assert k2.loc["oracle", "fill_rate"] >= 0.8


@_SETTINGS
@given(_problem())
def test_greedy_fallback_respects_the_same_constraints(problem):
    from procurement.allocation import _greedy, candidate_offers

    needs, offers, budget = problem
    n = _needs(needs)
    pairs = candidate_offers(n, offers)
    pairs["offer_key"] = pairs["supplier_id"] + "|" + pairs["item_id"]
    pairs["capacity"] = pairs["capacity_units_per_week"].astype(float)
    pairs["pair_need"] = pairs["need_qty"].astype(float)
    qty = _greedy(pairs, n, budget)
    used = qty > 0
    assert (qty[used] % pairs["pack_size"].to_numpy()[used] == 0).all()
    assert (qty[used] >= pairs["moq"].to_numpy()[used]).all()
    assert (pd.Series(qty).groupby(pairs["supplier_id"]).sum() <= offers.set_index("supplier_id")["capacity_units_per_week"]).all()
    if budget is not None:
        assert (qty * pairs["unit_cost"].to_numpy()).sum() <= budget + 1e-6


def test_solver_summary_types_the_info_and_fills_what_is_absent():
    import pandas as pd

    from procurement.allocation import AllocationResult, SolverSummary

    result = AllocationResult(pd.DataFrame(), pd.DataFrame(),
                              info={"method": "milp", "seconds": 1.25, "variables": "12", "components": 4,
                                    "components_optimal": 3})
    assert result.summary == SolverSummary(method="milp", seconds=1.25, variables=12, status="",
                                           components_optimal=3, components=4, max_mip_gap=0.0, block_gaps="")
