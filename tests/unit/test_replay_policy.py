"""The replay's starting pipeline and its after-first-arrival KPIs; the synthetic steady-state start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from procurement.catalogue import synthetic_inventory
from procurement.replay import replay

_AS_OF = pd.Timestamp("2016-05-08")
_DAYS = pd.date_range(_AS_OF + pd.Timedelta(days=1), periods=14)


def _inputs(demand: np.ndarray, *, on_hand: float, on_order: float, lead: int, lead_sd: float = 0.0):
    proposals = pd.DataFrame({
        "store_id": ["S"], "item_id": ["I"], "as_of": [_AS_OF], "on_hand": [on_hand], "on_order": [on_order],
        "order_qty": [0], "lead_time_days": [lead], "lead_time_std_days": [lead_sd], "review_days": [7],
        "service_level": [0.95]})
    mean = float(max(demand.mean(), 0.1))
    forecast = pd.DataFrame({"store_id": "S", "item_id": "I", "date": _DAYS, "yhat": mean, "yhat_q50": mean,
                             "yhat_q90": mean + 1})
    history = pd.DataFrame({"store_id": "S", "item_id": "I", "units": np.resize(demand, 28),
                            "date": pd.date_range(_AS_OF - pd.Timedelta(days=27), _AS_OF)})
    actuals = pd.DataFrame({"store_id": "S", "item_id": "I", "date": _DAYS, "units": demand})
    return proposals, forecast, history, actuals, pd.Series({"I": 2.0})


def test_stock_on_order_lands_in_daily_parts_over_the_lead_time():
    # no demand: on-hand grows by on_order / L a day until the whole pipeline has landed
    args = _inputs(np.zeros(14), on_hand=5, on_order=12, lead=4)
    _, daily = replay(*args)
    oracle = daily[daily["policy"] == "oracle"]["on_hand_units"].to_numpy()
    assert list(oracle[:5]) == [8, 11, 14, 17, 17]


def test_after_arrival_kpis_exclude_the_days_no_order_can_change():
    # nothing on hand or on order and a 5-day lead time: the first 4 days are lost whatever the policy
    demand = np.full(14, 3.0)
    kpis, _ = replay(*_inputs(demand, on_hand=0, on_order=0, lead=5))
    k = kpis.set_index("policy")
    assert (k["stockout_units"] >= 4 * 3).all()
    assert k["fill_rate"].max() <= 1 - 12 / 42 + 1e-9
    # perfect foresight with a known lead time never runs short once its first order can land
    assert k.loc["oracle", "fill_rate_after_arrival"] == pytest.approx(1.0)
    assert (k["demand_units_after_arrival"] == 3 * 10).all()
    assert (k["fill_rate_after_arrival"] >= k["fill_rate"]).all()
    assert k.loc["snaive_base_stock", "on_hand_vs_baseline_after_arrival"] == pytest.approx(1.0)


def test_synthetic_start_holds_the_steady_state_pipeline():
    demand = pd.DataFrame({"store_id": "S", "item_id": ["A"] * 7 + ["B"] * 7, "units": [2.0] * 7 + [0.5] * 7,
                           "date": list(pd.date_range(_AS_OF - pd.Timedelta(days=6), _AS_OF)) * 2})
    lanes = pd.DataFrame({"item_id": ["A", "B"], "lead_time_days": [6, 3]})
    inv = synthetic_inventory(demand, as_of=_AS_OF, lead_times=lanes).set_index("item_id")
    # Little's law: L days of mean demand on order
    assert inv.loc["A", "on_order"] == 12 and inv.loc["B", "on_order"] == 2
    assert list(inv["pipeline_days"]) == [6, 3]
    assert (inv["days_of_cover"].between(2, 12)).all() and inv["synthetic"].all()
    bare = synthetic_inventory(demand, as_of=_AS_OF)
    assert (bare["on_order"] == 0).all()
    assert list(bare["on_hand"]) == list(inv["on_hand"])


def test_lead_times_are_drawn_from_the_lanes_real_sample():
    # the plan says 2 days with no spread; every real shipment of the lane took 9 (catalogue) days
    demand = np.full(14, 2.0)
    proposals, forecast, history, actuals, cost = _inputs(demand, on_hand=40, on_order=0, lead=2)
    proposals["supplier_id"] = "lane-a"
    planned, _ = replay(proposals, forecast, history, actuals, cost)
    samples = pd.DataFrame({"supplier_id": ["lane-a"] * 3 + ["lane-b"], "lead_time_days": [9.2, 8.8, 9.0, 1.0]})
    drawn, _ = replay(proposals, forecast, history, actuals, cost, lead_time_samples=samples)
    assert (planned["first_arrival_day_mean"] == 2).all()
    assert (drawn["first_arrival_day_mean"] == 9).all()
    # a supplier the sample does not know keeps the plan's Normal draw
    other, _ = replay(proposals.assign(supplier_id="lane-x"), forecast, history, actuals, cost,
                      lead_time_samples=samples)
    pd.testing.assert_frame_equal(other, planned)


def test_bootstrap_draws_only_the_lane_values_and_covers_them():
    from procurement.replay import _bootstrap_lead_times

    samples = pd.DataFrame({"supplier_id": ["b", "a", "b", "a"], "lead_time_days": [3.0, 1.0, 7.0, 5.0]})
    supplier = np.array(["a", "b", None, "zz"], dtype=object)
    u = np.random.default_rng(0).random((4, 400))
    out = _bootstrap_lead_times(u, supplier, samples, fallback=np.full((4, 400), -1.0))
    assert set(out[0]) == {1.0, 5.0} and set(out[1]) == {3.0, 7.0}
    assert (out[2] == -1).all() and (out[3] == -1).all()
