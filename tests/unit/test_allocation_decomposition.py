"""Item-by-item MILPs give the same optimum as one MILP per block, and report their gap."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procurement.allocation import allocate


def _problem(n_items: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    offers, needs = [], []
    for i in range(n_items):
        for s in range(3):
            pack = int(rng.choice([1, 2, 4, 6, 12]))
            cost = float(rng.uniform(1, 10))
            offers.append((f"s{s}", f"I{i}", cost, cost * rng.uniform(1, 1.3), pack, pack * int(rng.integers(1, 4)),
                           int(rng.integers(20, 200)), int(rng.integers(1, 6))))
        for st_ in range(4):
            needs.append((f"S{st_}", f"I{i}", int(rng.integers(1, 40)), 10))
    cols = ["supplier_id", "item_id", "unit_cost", "objective_per_unit", "pack_size", "moq", "capacity_units_per_week",
            "lead_time_days"]
    need = pd.DataFrame(needs, columns=["store_id", "item_id", "need_qty", "need_days"]).assign(dept_id="D")
    return need.assign(need_id=np.arange(len(need))), pd.DataFrame(offers, columns=cols)


@pytest.mark.parametrize(("needs_per_milp", "milps"), [(1, 12), (8, 6), (250, 1)])
def test_independent_item_milps_match_one_block_milp(needs_per_milp, milps):
    needs, offers = _problem(12, seed=7)
    one = allocate(needs, offers, decompose=False, time_limit=30)
    split = allocate(needs, offers, needs_per_milp=needs_per_milp, time_limit=30)
    assert one.info["blocks_optimal"] == split.info["blocks_optimal"] == 1
    # whole items (4 needs each) per MILP
    assert split.info["components"] == milps and one.info["components"] == 1
    # both proven within 0.5 % of the optimum of the same program
    assert split.info["objective"] == pytest.approx(one.info["objective"], rel=0.011)
    assert 0 <= split.info["max_mip_gap"] <= 0.005 + 1e-9
    assert "proven 100%" in split.info["block_gaps"]


@pytest.mark.parametrize("detect_symmetry", [False, True])
def test_item_milps_reach_the_same_optimum_with_or_without_symmetry_detection(detect_symmetry):
    needs, offers = _problem(12, seed=11)
    # two suppliers with identical offers of every item: the symmetry HiGHS would look for
    twin = offers[offers["supplier_id"] == "s0"].assign(supplier_id="s3")
    offers = pd.concat([offers, twin], ignore_index=True)
    one = allocate(needs, offers, decompose=False, time_limit=30)
    split = allocate(needs, offers, needs_per_milp=4, time_limit=30, detect_symmetry=detect_symmetry)
    assert split.info["components_optimal"] == split.info["components"] == 12
    assert split.info["objective"] == pytest.approx(one.info["objective"], rel=0.011)
    covered = split.lines.groupby("need_id")["qty"].sum().reindex(needs["need_id"], fill_value=0)
    assert (covered.to_numpy() >= needs["need_qty"].to_numpy()).all()


def test_a_zero_time_limit_falls_back_to_greedy_and_says_so():
    needs, offers = _problem(6, seed=3)
    res = allocate(needs, offers, block_col=None, needs_per_milp=4, time_limit=0.0)
    assert res.info["components_optimal"] == 0 and res.info["components"] == 6
    assert res.info["proven_share"] == 0 and (res.lines["qty"] > 0).any()
    lines = res.lines
    assert (lines["qty"] % lines["pack_size"] == 0).all() and (lines["qty"] >= lines["moq"]).all()
    used = lines.groupby(["supplier_id", "item_id"])["qty"].sum()
    cap = offers.set_index(["supplier_id", "item_id"])["capacity_units_per_week"]
    assert (used <= cap.reindex(used.index)).all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 5), st.integers(0, 10_000))
def test_item_milps_respect_pack_moq_and_capacity(n_items, seed):
    needs, offers = _problem(n_items, seed)
    res = allocate(needs, offers, needs_per_milp=4, time_limit=20)
    lines = res.lines
    assert (lines["qty"] % lines["pack_size"] == 0).all() and (lines["qty"] >= lines["moq"]).all()
    used = lines.groupby(["supplier_id", "item_id"])["qty"].sum()
    cap = offers.set_index(["supplier_id", "item_id"])["capacity_units_per_week"]
    assert (used <= cap.reindex(used.index)).all()
    assert (res.needs["allocated"] + res.needs["shortage"] >= res.needs["need_qty"]).all()


def test_blocks_solved_on_two_threads_give_the_one_thread_allocation():
    needs, offers = _problem(12, seed=7)
    # three departments of four items: three blocks, each solved to optimality either way
    needs = needs.assign(dept_id=needs["item_id"].str[1:].astype(int).floordiv(4).map("D{}".format))
    serial = allocate(needs, offers, max_block_needs=16, workers=1, time_limit=30)
    threaded = allocate(needs, offers, max_block_needs=16, workers=2, time_limit=30)
    assert serial.info["blocks"] == threaded.info["blocks"] == 3
    assert threaded.info["blocks_optimal"] == 3
    assert threaded.info["objective"] == pytest.approx(serial.info["objective"], rel=0.011)
    assert threaded.needs["need_id"].tolist() == serial.needs["need_id"].tolist()
    assert threaded.needs["shortage"].sum() == serial.needs["shortage"].sum()


def test_threads_never_run_the_pair_need_function_at_the_same_time():
    # it reads objects shared by all blocks (a pandas index that is not safe to first-read from
    # two threads), so the blocks' threads must take turns; the sleep makes an overlap certain
    # if they do not
    needs, offers = _problem(12, seed=7)
    needs = needs.assign(dept_id=needs["item_id"].str[1:].astype(int).floordiv(4).map("D{}".format))
    active, overlaps, lock = [0], [0], threading.Lock()

    def pair_need(pairs: pd.DataFrame) -> pd.Series:
        with lock:
            active[0] += 1
            overlaps[0] += active[0] > 1
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return pairs["need_qty"].astype(float)

    res = allocate(needs, offers, max_block_needs=16, workers=2, time_limit=30, pair_need_fn=pair_need)
    assert res.info["blocks"] == 3 and res.info["blocks_optimal"] == 3
    assert overlaps[0] == 0


def test_a_small_block_may_use_the_time_a_large_one_left(monkeypatch):
    import procurement.allocation as allocation

    real = allocation.solve_milp

    def slow_milp(*args, **kwargs):  # every item MILP takes 0.1 s more, as on a loaded machine
        time.sleep(0.1)
        return real(*args, **kwargs)

    monkeypatch.setattr(allocation, "solve_milp", slow_milp)
    big, offers_big = _problem(6, seed=5)  # 6 items x 4 needs: 6 item MILPs, 24 of the 34 needs
    small, offers_small = _problem(10, seed=6)
    small = small.drop_duplicates("item_id").assign(dept_id="A", item_id=lambda d: "J" + d["item_id"])
    offers_small = offers_small.assign(item_id="J" + offers_small["item_id"])
    needs = pd.concat([small, big.assign(dept_id="B")], ignore_index=True).assign(need_id=lambda d: np.arange(len(d)))
    offers = pd.concat([offers_small, offers_big], ignore_index=True)
    # 16 MILPs of >= 0.1 s in a 3 s limit: the small block's size share (10/34 x 3 s = 0.9 s) is too
    # little for its 10 MILPs, the time the large block leaves is enough
    res = allocate(needs, offers, needs_per_milp=1, workers=1, time_limit=3.0)
    assert res.info["components"] == 16
    assert res.info["components_optimal"] == 16, res.info["status"]
