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
