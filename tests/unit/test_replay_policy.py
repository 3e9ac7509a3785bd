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


def _toy(n: int = 6, days: int = 28, seed: int = 3):
    """Several series of Poisson demand (synthetic) with a forecast at the true mean and its 10/90 % quantiles."""
    rng = np.random.default_rng(seed)
    rate = np.linspace(1.5, 12, n)
    future = pd.date_range(_AS_OF + pd.Timedelta(days=1), periods=days)
    past = pd.date_range(_AS_OF - pd.Timedelta(days=27), _AS_OF)
    items = [f"I{i}" for i in range(n)]
    frame = lambda dates: pd.DataFrame({"store_id": "S", "item_id": np.repeat(items, len(dates)),  # noqa: E731
                                        "date": np.tile(dates, n),
                                        "units": rng.poisson(np.repeat(rate, len(dates))).astype(float)})
    history, actuals = frame(past), frame(future)
    from scipy.stats import poisson

    mean = np.repeat(rate, days)
    forecast = pd.DataFrame({"store_id": "S", "item_id": np.repeat(items, days), "date": np.tile(future, n),
                             "yhat": mean, "yhat_q10": poisson.ppf(0.1, mean), "yhat_q50": poisson.ppf(0.5, mean),
                             "yhat_q90": poisson.ppf(0.9, mean)})
    proposals = pd.DataFrame({"store_id": "S", "item_id": items, "as_of": _AS_OF, "on_hand": 2 * rate,
                              "on_order": 0.0, "order_qty": 0, "lead_time_days": 3, "lead_time_std_days": 1.0,
                              "review_days": 7, "service_level": 0.95})
    return proposals, forecast, history, actuals, pd.Series(2.0, index=items)


def test_frontier_holds_more_stock_at_higher_service_levels():
    from procurement.replay import replay_frontier

    args = _toy()
    levels = (0.6, 0.8, 0.9, 0.95, 0.99, 0.995)
    frontier = replay_frontier(*args, levels=levels)
    assert len(frontier) == 2 * len(levels) + 1
    for policy in ("supplycast", "snaive_base_stock"):
        pts = frontier[frontier["policy"] == policy].sort_values("service_level")
        assert list(pts["service_level"]) == list(levels)
        # same demand, same lead-time draws, higher order-up-to levels: never less stock or fill
        assert pts["avg_on_hand_units"].is_monotonic_increasing, policy
        assert pts["fill_rate"].is_monotonic_increasing, policy
        assert pts["avg_on_hand_units"].iloc[-1] > pts["avg_on_hand_units"].iloc[0], policy
    # the oracle of the frontier is the oracle of the plain replay: identical conditions
    kpis, _ = replay(*args)
    oracle = frontier[frontier["policy"] == "oracle"].iloc[0]
    assert np.isnan(oracle["service_level"])
    assert oracle["fill_rate"] == kpis.set_index("policy").loc["oracle", "fill_rate"]
    assert oracle["avg_on_hand_units"] == kpis.set_index("policy").loc["oracle", "avg_on_hand_units"]


def test_frontier_rejects_levels_outside_the_unit_interval():
    from procurement.replay import replay_frontier

    with pytest.raises(ValueError, match=r"\[0.5, 1\)"):
        replay_frontier(*_toy(n=1), levels=(0.9, 1.0))


def test_matched_fill_interpolates_the_baseline_curve():
    from procurement.replay import matched_fill

    frontier = pd.DataFrame({
        "policy": ["snaive_base_stock"] * 4 + ["supplycast"] * 4,
        "service_level": [0.8, 0.9, 0.95, 0.99, 0.8, 0.9, 0.95, 0.99],
        "fill_rate": [0.90, 0.95, 0.95, 0.99, 0.85, 0.92, 0.97, 0.995],
        # two baseline points share fill 0.95: the one with less stock (150) is the curve
        "avg_on_hand_units": [100.0, 150.0, 170.0, 250.0, 50.0, 90.0, 180.0, 300.0],
    })
    out = matched_fill(frontier)
    assert list(out["service_level"]) == [0.8, 0.9, 0.95, 0.99]
    # 0.92 is 2/5 of the way from (0.90, 100) to (0.95, 150): 120; 0.97 halfway from 150 to 250: 200
    np.testing.assert_allclose(out["baseline_on_hand"], [np.nan, 120.0, 200.0, np.nan])
    np.testing.assert_allclose(out["on_hand_ratio"], [np.nan, 0.75, 0.9, np.nan])
    # outside the baseline's fill range there is no match (no extrapolation)
    assert out["on_hand_ratio"].isna().tolist() == [True, False, False, True]


def test_replay_frontier_table_round_trips_with_run_facts(tmp_path):
    import duckdb

    from procurement.replay import replay_frontier
    from warehouse.replay_store import read_replay_frontier, write_replay_frontier

    frontier = replay_frontier(*_toy(n=2), levels=(0.9, 0.99))
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    try:
        assert write_replay_frontier(con, frontier, as_of=_AS_OF, actuals_file="a'b.parquet", seed=7) == 5
        back = read_replay_frontier(con)
        only = read_replay_frontier(con, policies=["oracle"])
    finally:
        con.close()
    assert list(back["policy"]) == ["oracle"] + ["snaive_base_stock"] * 2 + ["supplycast"] * 2
    assert (back["actuals_file"] == "a'b.parquet").all() and (back["seed"] == 7).all()
    assert (pd.to_datetime(back["as_of"]) == _AS_OF).all()
    assert list(only["policy"]) == ["oracle"]
    np.testing.assert_allclose(back.set_index(["policy", "service_level"]).sort_index()["fill_rate"],
                               frontier.set_index(["policy", "service_level"]).sort_index()["fill_rate"])


def test_snaive_spread_uses_only_weeks_the_series_has():
    from procurement.replay import DEFAULT_REPLAY, _prepare

    # a series with 14 days of history: 7 days of 1 unit, then 7 days of 3 units
    proposals, forecast, _, actuals, cost = _inputs(np.full(14, 2.0), on_hand=10, on_order=0, lead=3)
    history = pd.DataFrame({"store_id": "S", "item_id": "I", "units": [1.0] * 7 + [3.0] * 7,
                            "date": pd.date_range(_AS_OF - pd.Timedelta(days=13), _AS_OF)})
    sim = _prepare(proposals, forecast, history, actuals, cost, supply=None, lead_time_samples=None,
                   params=DEFAULT_REPLAY)
    # its only weekly differences are 3 - 1 = 2, seven times: no spread. Before, the 14 unknown days
    # counted as zero sales and added differences of 0 and 1 (spread 0.84 with ddof=1).
    assert sim.snaive_sd.tolist() == [0.0]
    history.loc[history.index[-1], "units"] = 10.0  # differences 2 x 6 and 9: sample sd hand-computed
    sim = _prepare(proposals, forecast, history, actuals, cost, supply=None, lead_time_samples=None,
                   params=DEFAULT_REPLAY)
    assert sim.snaive_sd[0] == pytest.approx(np.std([2.0] * 6 + [9.0], ddof=1))
