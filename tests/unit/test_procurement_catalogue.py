"""The synthetic demo supplier base: calibration on the real USAID lanes, freight, carbon, lane joins."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from procurement.catalogue import (
    LEAD_TIME_COMPRESSION,
    assign_lanes,
    demo_parameters,
    demo_suppliers,
    synthetic_catalogue,
    with_lane_scores,
)
from procurement.distance import country_centroid, destination_centroid, great_circle_km
from procurement.orders import preferred_offers
from procurement.risk import lane_lead_times
from procurement.scoring import score_suppliers
from warehouse.feeds import SAMPLE_DIR


@pytest.fixture(scope="module")
def real(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    out = {t: con.execute(f"SELECT * FROM {t}").df() for t in ("raw_shipments", "shipment_stats", "raw_emission_factors")}
    out["items"] = con.execute(
        "SELECT item_id, any_value(dept_id) dept_id, any_value(cat_id) cat_id, median(sell_price) sell_price, "
        "sum(units) * 7.0 / count(DISTINCT date) weekly_units FROM demand_history GROUP BY 1").df()
    con.close()
    out["scores"] = score_suppliers(out["shipment_stats"], out["raw_emission_factors"])
    out["catalogue"] = synthetic_catalogue(out["items"], out["scores"])
    return out


def test_every_offer_is_a_labelled_fictitious_supplier(real):
    cat = real["catalogue"]
    assert cat["synthetic"].all() and cat["provenance"].str.startswith("SYNTHETIC demo supplier").all()
    assert set(cat["supplier_name"]) == {f"Supplier {c}" for c in "ABCDEFGH"}
    assert set(cat["calibrated_on_lane"]) <= set(real["scores"]["supplier_id"])
    # one real lane per demo supplier, never shared
    lanes = cat.drop_duplicates("supplier_id").set_index("supplier_id")["calibrated_on_lane"]
    assert lanes.is_unique
    # every item has three offers: FOODS from three road suppliers, the others two road + one importer
    modes = cat.groupby(["cat_id", "item_id"])["mode"].agg(lambda m: "".join(sorted(m)))
    assert set(modes.loc["FOODS"]) == {"roadroadroad"}
    assert set(modes.loc["HOUSEHOLD"]) == set(modes.loc["HOBBIES"]) == {"roadroadsea"}


def test_lead_times_and_on_time_rates_are_the_real_lanes(real):
    """Each supplier's lead-time quantiles are its USAID lane's, divided by the compression."""
    cat = real["catalogue"].drop_duplicates("supplier_id")
    ids = real["scores"].set_index("supplier_id")[["vendor", "mode"]]
    samples = lane_lead_times(real["raw_shipments"])
    shipments = real["raw_shipments"]
    for _, offer in cat.iterrows():
        vendor, mode = ids.loc[offer["calibrated_on_lane"]]
        days = samples.loc[(samples["vendor"] == vendor) & (samples["mode"] == mode), "lead_days"]
        assert len(days) >= 10
        assert offer["lead_time_days"] == max(1, round(days.quantile(0.5) / LEAD_TIME_COMPRESSION))
        assert offer["lead_time_p90_days"] == pytest.approx(days.quantile(0.9) / LEAD_TIME_COMPRESSION, abs=0.01)
        assert offer["lead_time_std_days"] == pytest.approx(days.std() / LEAD_TIME_COMPRESSION, abs=0.01)
        lines = shipments[(shipments["vendor"] == vendor) & (shipments["shipment_mode"].map(
            {"Air": "air", "Air Charter": "air", "Truck": "road", "Ocean": "sea"}) == mode)]
        lines = lines.dropna(subset=["scheduled_date", "delivered_date"])
        on_time = (lines["delivered_date"] <= lines["scheduled_date"]).mean()
        assert offer["on_time_rate"] == pytest.approx(on_time, abs=1e-4)


def test_lanes_follow_the_documented_rule(real):
    base = assign_lanes(demo_suppliers(), real["scores"]).set_index("supplier_id")
    lanes = real["scores"].set_index("supplier_id")
    mode = lanes.loc[base["calibrated_on_lane"], "mode"].to_numpy()
    assert (mode[base["mode"] == "sea"] == "sea").all() and (mode[base["mode"] == "road"] != "sea").all()
    # road suppliers stand on the best-evidenced non-sea lanes with a median of at least a compressed day
    usable = lanes[(lanes["mode"] != "sea") & (lanes["lead_time_p50"] >= LEAD_TIME_COMPRESSION)]
    road = base[base["mode"] == "road"]
    assert set(road["calibrated_on_lane"]) == set(usable.nlargest(len(road), "n_lines").index)
    # nearest supplier, fastest lane
    by_km = road.sort_values("road_km")["lane_lead_time_p50"].to_numpy()
    assert (np.diff(by_km) >= 0).all()


def test_too_few_lanes_are_reused(real):
    two = real["scores"][real["scores"]["supplier_id"].isin(real["scores"].nlargest(2, "n_lines")["supplier_id"])]
    base = assign_lanes(demo_suppliers(), two)
    assert len(base) == 8 and set(base["calibrated_on_lane"]) == set(two["supplier_id"])
    with pytest.raises(ValueError, match="median lead time"):
        assign_lanes(demo_suppliers(), two.assign(lead_time_p50=1.0))


def test_freight_is_a_documented_share_of_the_price(real):
    cat, p = real["catalogue"], demo_parameters()
    road_lo, road_hi = p["road_freight_share"] * 0.5, p["road_freight_share"] * 1.5
    road, sea = cat[cat["mode"] == "road"], cat[cat["mode"] == "sea"]
    assert road["freight_share"].between(road_lo, road_hi).all()
    assert sea["freight_share"].between(road_lo + p["sea_freight_share_low"], road_hi + p["sea_freight_share_high"]).all()
    assert road["freight_share"].median() == pytest.approx(0.0443, abs=0.003)
    assert np.allclose(cat["freight_per_unit"], cat["unit_cost"] * cat["freight_share"], atol=1e-4)
    assert 0.02 < cat["freight_share"].median() < 0.15
    # 4.43 % of the Establish Davis 2014 average company, 6.2 % and 10.4 % of UNCTADstat
    assert (p["road_freight_share"], p["sea_freight_share_low"], p["sea_freight_share_high"]) == (0.0443, 0.062, 0.104)


def test_carbon_uses_the_repository_emission_factors(real):
    factors = pd.read_csv(SAMPLE_DIR / "freight_emission_factors.csv").set_index("mode")["g_co2e_per_tonne_km"]
    p = demo_parameters()
    assert p["road_g_co2e_per_tonne_km"] == factors["road"] and p["sea_g_co2e_per_tonne_km"] == factors["sea"]
    one = real["catalogue"].drop_duplicates("supplier_id").set_index("supplier_id")
    # Supplier A: 150 km by road at 75.47 g/t-km = 0.0113205 kg CO2e per kg
    assert one.loc["supplier-a", "kg_co2e_per_kg"] == pytest.approx(75.47 * 150 / 1e6, abs=1e-6)
    # Supplier G: China's city centroid to the M5 states by sea (great circle), then 300 km by road
    lat, lon = country_centroid("CN")
    sea_km = round(float(great_circle_km(np.array([lat]), np.array([lon]), *destination_centroid())[0]))
    assert 10_000 < sea_km < 13_000 and one.loc["supplier-g", "distance_km"] == sea_km + 300
    assert one.loc["supplier-g", "kg_co2e_per_kg"] == pytest.approx((16.12 * sea_km + 75.47 * 300) / 1e6, abs=1e-6)


def test_unknown_category_gets_the_fallback_suppliers(real):
    items = pd.DataFrame({"item_id": ["X_1"], "dept_id": ["DEPT_01"], "cat_id": ["WALMART"], "sell_price": [3.0]})
    cat = synthetic_catalogue(items, real["scores"])
    assert sorted(cat["supplier_id"]) == ["supplier-a", "supplier-e", "supplier-g"]


def test_lane_scores_join_through_the_calibrating_lane(real):
    cat, scores = real["catalogue"], real["scores"]
    joined = with_lane_scores(cat, scores, ["risk_score", "total_score", "kg_co2e_per_kg"])
    assert len(joined) == len(cat)
    lane_risk = scores.set_index("supplier_id")["risk_score"]
    assert np.allclose(joined["risk_score"], cat["calibrated_on_lane"].map(lane_risk))
    # the demo supplier's own carbon wins over the lane's air or sea figure
    assert np.allclose(joined["kg_co2e_per_kg"], cat["kg_co2e_per_kg"])
    # a real catalogue (no calibrated_on_lane) joins on its own supplier_id
    real_cat = cat.drop(columns=["calibrated_on_lane", "kg_co2e_per_kg"]).assign(supplier_id=cat["calibrated_on_lane"])
    assert np.allclose(with_lane_scores(real_cat, scores, ["risk_score"])["risk_score"], joined["risk_score"])
    pref = preferred_offers(cat, scores)
    assert pref["item_id"].is_unique and len(pref) == cat["item_id"].nunique()
