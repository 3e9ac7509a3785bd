"""Supplier scoring, synthetic catalogue, order-up-to policy and PO proposals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from procurement import ScoreWeights, score_suppliers, synthetic_catalogue, synthetic_inventory
from procurement.approval import ApprovalPolicy
from procurement.orders import PO_STATUSES, preferred_offers
from procurement.policy import forecast_cumsums, forecast_variance, offer_needs, replenishment_proposals
from procurement.proposals import propose_purchase_orders
from procurement.reasons import ALTERNATIVE_ISSUES


@pytest.fixture(scope="module")
def tables(sample_db):
    import duckdb

    con = duckdb.connect(str(sample_db), read_only=True)
    out = {
        "stats": con.execute("SELECT * FROM shipment_stats").df(),
        "factors": con.execute("SELECT * FROM raw_emission_factors").df(),
        "items": con.execute(
            "SELECT item_id, any_value(dept_id) dept_id, any_value(cat_id) cat_id, median(sell_price) sell_price "
            "FROM demand_history GROUP BY 1"
        ).df(),
        "demand": con.execute("SELECT store_id, item_id, date, units FROM demand_history").df(),
    }
    con.close()
    return out


@pytest.fixture(scope="module")
def scores(tables):
    return score_suppliers(tables["stats"], tables["factors"])


def test_scores_are_bounded_penalties(scores):
    for col in ("risk_score", "cost_score", "carbon_score", "total_score"):
        assert scores[col].between(0, 1).all(), col
    assert scores["supplier_id"].is_unique
    assert list(scores["rank"]) == sorted(scores["rank"])
    # air freight emits ~68x sea per tonne-km, so every air lane is worse on carbon than every sea lane
    assert scores.loc[scores["mode"] == "air", "carbon_score"].min() > scores.loc[scores["mode"] == "sea", "carbon_score"].max()


def test_weights_change_the_ranking(tables):
    carbon_only = score_suppliers(tables["stats"], tables["factors"], weights=ScoreWeights(0, 0, 1))
    assert carbon_only.iloc[0]["mode"] in {"sea", "road"}
    with pytest.raises(ValueError, match="weights"):
        ScoreWeights(-1, 1, 1).normalised()


def test_riskier_lane_scores_worse(tables):
    stats = tables["stats"].copy()
    lane = stats.query("n_lines >= 100 and mode != 'unknown'").index[0]
    before = score_suppliers(stats, tables["factors"]).set_index("vendor")
    stats.loc[lane, "late_rate"] = 0.9
    after = score_suppliers(stats, tables["factors"]).set_index("vendor")
    vendor = stats.loc[lane, "vendor"]
    key = (after["mode"] == stats.loc[lane, "mode"])
    assert after.loc[key].loc[vendor, "risk_score"] > before.loc[before["mode"] == stats.loc[lane, "mode"]].loc[vendor, "risk_score"]


def test_catalogue_is_deterministic_and_labelled(tables, scores):
    a = synthetic_catalogue(tables["items"], scores, seed=7)
    b = synthetic_catalogue(tables["items"].sample(frac=1, random_state=1), scores, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert a["synthetic"].all() and a["provenance"].str.startswith("SYNTHETIC").all()
    assert (a["moq"] % a["pack_size"] == 0).all()
    assert a.groupby("item_id")["supplier_id"].nunique().min() >= 2
    c = synthetic_catalogue(tables["items"], scores, seed=8)
    assert not np.array_equal(a["unit_cost"].to_numpy(), c["unit_cost"].to_numpy())


def _flat_forecast(demand: pd.DataFrame, as_of: pd.Timestamp, days: int = 28, scale: float = 1.0) -> pd.DataFrame:
    mean = demand.groupby(["store_id", "item_id"], as_index=False)["units"].mean()
    dates = pd.DataFrame({"date": pd.date_range(as_of + pd.Timedelta(days=1), periods=days)})
    fc = mean.merge(dates, how="cross")
    fc["yhat"] = fc["units"] * scale
    fc["yhat_q50"] = np.floor(fc["yhat"])
    fc["yhat_q90"] = np.ceil(fc["yhat"] * 1.8 + 1)
    return fc.drop(columns="units")


@pytest.fixture(scope="module")
def plan(tables, scores):
    as_of = tables["demand"]["date"].max()
    offers = preferred_offers(synthetic_catalogue(tables["items"], scores), scores)
    inventory = synthetic_inventory(tables["demand"], as_of=as_of)
    fc = _flat_forecast(tables["demand"], as_of)
    return as_of, offers, inventory, fc


def test_replenishment_identities(plan):
    as_of, offers, inventory, fc = plan
    rp = replenishment_proposals(fc, inventory, offers, as_of=as_of)
    assert len(rp) == len(inventory)
    assert (rp["order_qty"] >= 0).all()
    assert (rp["order_up_to"] >= rp["reorder_point"]).all()
    assert (rp["reorder_point"] >= rp["safety_stock"]).all()
    ordering = rp[rp["order_qty"] > 0]
    position = ordering["on_hand"] + ordering["on_order"]
    assert (ordering["order_qty"] == ordering["order_up_to"] - position).all()
    assert (position <= ordering["reorder_point"]).all()


def test_orders_grow_with_demand_and_service(plan):
    as_of, offers, inventory, fc = plan
    base = replenishment_proposals(fc, inventory, offers, as_of=as_of)
    more = replenishment_proposals(_flat_forecast_like(fc, 2.0), inventory, offers, as_of=as_of)
    safer = replenishment_proposals(fc, inventory, offers, as_of=as_of, service_level=0.99)
    assert (more["order_up_to"].to_numpy() >= base["order_up_to"].to_numpy()).all()
    assert more["order_qty"].sum() > base["order_qty"].sum()
    assert (safer["safety_stock"].to_numpy() >= base["safety_stock"].to_numpy()).all()
    with pytest.raises(ValueError, match="service_level"):
        replenishment_proposals(fc, inventory, offers, as_of=as_of, service_level=1.2)


def test_forecast_variance_takes_the_stated_variance_else_the_quantiles():
    z90 = 1.2815515655446004
    fc = pd.DataFrame({"yhat_q10": [1.0, 1.0, 0.0], "yhat_q50": [3.0, 3.0, 0.0], "yhat_q90": [6.0, 6.0, 2.0],
                       "yhat_var": [4.5, np.nan, np.nan]})
    assert forecast_variance(fc).tolist() == pytest.approx([4.5, (5 / (2 * z90)) ** 2, (2 / (2 * z90)) ** 2])
    # without the column, every row reads the quantiles
    assert forecast_variance(fc.drop(columns="yhat_var"))[0] == pytest.approx((5 / (2 * z90)) ** 2)


def test_safety_stock_from_the_stated_variance_where_the_forecast_has_one(plan):
    as_of, offers, inventory, fc = plan
    keys = fc[["store_id", "item_id"]].drop_duplicates()
    stated = keys.iloc[::2].assign(yhat_var=4.0)  # every other series states 4 units^2 a day
    rp = replenishment_proposals(fc.merge(stated, how="left"), inventory, offers, as_of=as_of).merge(
        stated, how="left")
    on = rp["yhat_var"].notna()
    assert (rp.loc[on, "spread_source"] == "level_variance").all() and on.sum() == len(stated)
    assert (rp.loc[~on, "spread_source"] == "quantiles").all()
    # sigma over P = L + R days: sqrt(4 P + (mean daily demand x lead-time sd)^2)
    protect = rp["lead_time_days"] + rp["review_days"]
    daily = rp["demand_protection"] / protect
    expected = np.sqrt(4.0 * protect + daily**2 * rp["lead_time_std_days"] ** 2)
    np.testing.assert_allclose(rp.loc[on, "sigma_protection"], expected[on], atol=2e-3)
    # the others keep the quantiles' spread: as without the column
    before = replenishment_proposals(fc, inventory, offers, as_of=as_of)
    np.testing.assert_array_equal(rp.loc[~on, "safety_stock"], before.loc[~on.to_numpy(), "safety_stock"])


def _flat_forecast_like(fc: pd.DataFrame, factor: float) -> pd.DataFrame:
    out = fc.copy()
    for col in ("yhat", "yhat_q50", "yhat_q90"):
        out[col] = out[col] * factor
    return out


@pytest.fixture(scope="module")
def proposals(plan, tables, scores):
    as_of, offers, inventory, fc = plan
    rp = replenishment_proposals(fc, inventory, offers, as_of=as_of)
    catalogue = synthetic_catalogue(tables["items"], scores)
    return rp, catalogue


def test_purchase_orders_rounding_status_and_ids(proposals, scores):
    rp, catalogue = proposals
    po = propose_purchase_orders(rp, catalogue, scores, approval=ApprovalPolicy(auto_approve_max_usd=100.0, tier_limits_usd=(1e9,)), time_limit=10).lines
    placed = po[po["status"] != "rejected"]
    assert not placed.empty
    assert (placed["qty"] >= placed["moq"]).all()
    assert (placed["qty"] % placed["pack_size"] == 0).all()
    assert set(po["status"]) <= set(PO_STATUSES)
    over = po["order_value"] > 100.0
    assert (po.loc[over & (po["status"] != "rejected"), "status"] == "needs_approval").all()
    assert (po.loc[po["status"] == "auto_approved", "order_value"] <= 100.0).all()
    assert (placed["expected_arrival"] > placed["order_date"]).all()
    again = propose_purchase_orders(rp.sample(frac=1, random_state=3), catalogue, scores,
                                    approval=ApprovalPolicy(auto_approve_max_usd=100.0, tier_limits_usd=(1e9,)), time_limit=10).lines
    assert set(again["po_id"]) == set(po["po_id"])
    assert placed.groupby("po_id")["supplier_id"].nunique().max() == 1


def test_item_without_offer_is_rejected(proposals, scores):
    rp, catalogue = proposals
    item = rp.loc[rp["order_qty"] > 0, "item_id"].iloc[0]
    po = propose_purchase_orders(rp, catalogue[catalogue["item_id"] != item], scores, time_limit=10).lines
    rejected = po[po["item_id"] == item]
    assert not rejected.empty
    assert (rejected["status"] == "rejected").all()
    assert rejected["reason"].str.startswith("Not ordered: no supplier offers this item (").all()


def test_reasons_read_the_line_columns(proposals, scores):
    rp, catalogue = proposals
    po = propose_purchase_orders(rp, catalogue, scores, time_limit=10).lines
    placed = po[po["status"] != "rejected"]
    money = lambda s: s.map("{:.2f}".format)  # noqa: E731
    expected = ("Chosen: " + placed["supplier_name"] + ", " + money(placed["landed_cost"]) + " USD/unit landed (price "
                + money(placed["unit_cost"]) + ", freight " + money(placed["freight_per_unit"]))
    assert all(r.startswith(e) for r, e in zip(placed["reason"], expected, strict=True))
    assert not po["reason"].str.contains("nan|None").any()
    assert set(placed["alternative_issue"]) <= set(ALTERNATIVE_ISSUES)
    # a retail freight bill: 2 % to 17 % of the unit price, never several times it
    assert (placed["freight_per_unit"] / placed["unit_cost"]).between(0.02, 0.17).all()
    assert set(placed["mode"]) <= {"road", "sea"}


def test_forecast_sums_over_first_days_hand_computed():
    as_of = pd.Timestamp("2016-05-22")
    day = lambda k: as_of + pd.Timedelta(days=k)  # noqa: E731
    # A: days 1-3 in order; B: day 2 missing, its day-3 mean missing, its rows shuffled, a short
    # horizon; C: days 1-2 only
    fc = pd.DataFrame({
        "store_id": "CA_1", "item_id": ["A", "A", "A", "B", "B", "B", "C", "C"],
        "date": [day(1), day(2), day(3), day(4), day(1), day(3), day(2), day(1)],
        "yhat": [1.0, 2.0, 3.0, 6.0, 4.0, np.nan, 5.0, 5.0],
        "yhat_q50": 1.0, "yhat_q90": 2.0, "yhat_var": [0.5, 0.5, 0.5, 2.0, 1.0, 9.0, 1.0, 3.0],
    })
    sums = forecast_cumsums(fc, as_of=as_of)
    rows = sums.rows(pd.MultiIndex.from_tuples([("CA_1", "A"), ("CA_1", "B"), ("CA_1", "C"), ("CA_1", "Z")]))
    assert rows[3] == -1 and sums.horizon == 4
    mu, var = sums.over_first(rows, np.array([2, 6, 5, 3]))
    # A: days 1-2, then 2 more days at its mean of 2; B: 4 + 6 over its 4 days (days 2-3 count
    # 0), then 2 days at the mean of its two values, 5; C: 10 over 2 days, 3 more at 5; Z: none
    np.testing.assert_allclose(mu[:3], [3.0, 10.0 + 2 * 5.0, 10.0 + 3 * 5.0])
    np.testing.assert_allclose(var[:3], [1.0, 12.0 + 2 * 4.0, 4.0 + 3 * 2.0])
    assert np.isnan(mu[3]) and np.isnan(var[3])
    np.testing.assert_array_equal(sums.last_day[rows[:3]], [3, 4, 2])


def test_replenishment_and_offers_sum_the_same_irregular_forecast():
    """The policy and each PO offer read demand over a period from one set of sums: on a forecast
    with gaps and series of different horizons they ask for the same order-up-to level."""
    as_of = pd.Timestamp("2016-05-22")
    fc = pd.DataFrame({
        "store_id": "CA_1", "item_id": ["A", "A", "B", "B", "B"],
        "date": as_of + pd.to_timedelta([1, 3, 1, 2, 3], unit="D"),
        "yhat": [2.0, 4.0, 1.0, 1.0, 1.0], "yhat_q50": 1.0, "yhat_q90": 2.0, "yhat_var": 1.0,
    })
    inventory = pd.DataFrame({"store_id": "CA_1", "item_id": ["A", "B"], "on_hand": 0, "on_order": 0})
    lead = pd.DataFrame({"item_id": ["A", "B"], "supplier_id": "S1", "lead_time_days": 3, "lead_time_std_days": 0.0})
    plan = replenishment_proposals(fc, inventory, lead, as_of=as_of, review_days=4, service_level=0.9)
    # A: 2 + 0 + 4 over days 1-3, then 4 days at its mean of 3; B: 7 days of 1
    np.testing.assert_allclose(plan["demand_protection"], [18.0, 7.0])
    pairs = plan[["store_id", "item_id", "lead_time_days", "lead_time_std_days", "review_days", "service_level"]]
    needs = offer_needs(pairs.assign(position=0.0), forecast_cumsums(fc, as_of=as_of))
    np.testing.assert_array_equal(needs.to_numpy(), plan["order_up_to"].to_numpy(dtype=float))


def test_forecast_cumsums_by_step_whatever_the_row_order():
    as_of = pd.Timestamp("2016-05-22")
    days = pd.date_range(as_of + pd.Timedelta(days=1), periods=3)
    fc = pd.DataFrame({"store_id": "CA_1", "item_id": np.repeat(["A", "B"], 3), "date": np.tile(days, 2),
                       "yhat": [1.0, 2.0, 3.0, 4.0, np.nan, 6.0], "yhat_q50": 1.0, "yhat_q90": 2.0,
                       "yhat_var": [0.5, 0.5, 0.5, 1.0, 2.0, 3.0]})
    for frame in (fc, fc.iloc[[4, 0, 5, 2, 1, 3]]):  # the table's layout, and rows in any order
        cums = forecast_cumsums(frame, as_of=as_of)
        row = cums.rows(pd.MultiIndex.from_tuples([("CA_1", "A"), ("CA_1", "B")]))
        assert cums.horizon == 3
        # a missing mean adds 0 units to the running sum and is left out of the mean day
        np.testing.assert_allclose(cums.cum_mu[row], [[0, 1, 3, 6], [0, 4, 4, 10]])
        np.testing.assert_allclose(cums.cum_var[row], [[0, 0.5, 1.0, 1.5], [0, 1, 3, 6]])
        np.testing.assert_allclose(cums.mean_mu[row], [2.0, 5.0])
