"""Late-delivery risk model, real carbon distances and landed cost."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from procurement.distance import (
    destination_centroid,
    great_circle_km,
    lane_distances,
    load_vendor_origins,
    site_country,
    vendor_origins,
)
from procurement.landed_cost import CostParams, landed_costs
from procurement.risk import fit_risk_model, lane_risk
from procurement.scoring import score_suppliers
from warehouse.feeds import SAMPLE_DIR


@pytest.fixture(scope="module")
def shipments(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    out = {t: con.execute(f"SELECT * FROM {t}").df() for t in ("raw_shipments", "shipment_stats", "raw_emission_factors")}
    con.close()
    return out


@pytest.fixture(scope="module")
def model(shipments):
    return fit_risk_model(shipments["raw_shipments"])


def test_risk_model_beats_base_rate_out_of_time(model):
    m = model.metrics
    assert m["auc"] > 0.55
    assert m["brier"] < m["brier_base_rate"]
    assert model.reliability["n"].sum() == m["test_lines"]
    assert model.split_date == pd.Timestamp("2014-01-01")


def test_risk_model_does_not_depend_on_the_order_of_the_rows(shipments, model):
    # a warehouse table's rows come back in any order; the scores must not follow it
    shuffled = shipments["raw_shipments"].sample(frac=1.0, random_state=3)
    again = fit_risk_model(shuffled)
    lines = shipments["raw_shipments"].head(200)
    assert np.array_equal(again.predict(lines), model.predict(lines))
    assert again.metrics == model.metrics


def test_time_split_needs_both_classes(shipments):
    with pytest.raises(ValueError, match="raw_shipments: time split"):
        fit_risk_model(shipments["raw_shipments"], split_date="2030-01-01")


def test_lane_risk_and_scores_use_it(shipments, model):
    lanes = lane_risk(shipments["raw_shipments"], model)
    assert lanes["p_late"].between(0, 1).all()
    both = lanes.dropna(subset=["lead_time_p10", "lead_time_p90_model"])
    assert not both.empty and (both["lead_time_p10"] <= both["lead_time_p90_model"]).all()
    scores = score_suppliers(shipments["shipment_stats"], shipments["raw_emission_factors"], lane_risk=lanes,
                             distances=lane_distances(shipments["shipment_stats"]["vendor"]))
    assert scores["risk_source"].str.startswith("LightGBM").all()
    assert scores["explanation"].str.contains("P\\(late\\)").all()
    # carbon per kg = tonne-km factor x real km
    expected = scores["g_co2e_per_tonne_km"] * 1e-6 * scores["distance_km"]
    assert np.allclose(scores["kg_co2e_per_kg"], expected)
    assert scores["distance_km"].nunique() > 1


@pytest.mark.parametrize(("site", "iso"), [
    ("Aurobindo Unit III, India", "IN"), ("MSD Manati, Puerto Rico, (USA)", "PR"), ("Roche Basel", "CH"),
    ("GSK Ware (UK)", "GB"), ("Alere Medical Co., Ltd.", None), ("Not Applicable", None),
])
def test_site_country(site, iso):
    assert site_country(site) == iso


def test_committed_origin_table_rebuilds_from_the_real_file():
    raw = pd.read_parquet(SAMPLE_DIR / "usaid_scms_shipments" / "shipments.parquet", columns=["Vendor", "Manufacturing Site"])
    rebuilt = vendor_origins(raw).reset_index(drop=True)
    committed = load_vendor_origins()
    assert list(rebuilt["vendor"]) == list(committed["vendor"])
    assert list(rebuilt["origin_country"]) == list(committed["origin_country"])


def test_distances_are_great_circle_to_the_m5_states():
    # London -> New York is about 5,570 km
    assert great_circle_km(np.array([51.5074]), np.array([-0.1278]), 40.7128, -74.0060)[0] == pytest.approx(5570, abs=30)
    lat, lon = destination_centroid()
    assert 29 < lat < 45 and -120 < lon < -88  # between California, Texas and Wisconsin
    d = lane_distances(pd.Series(["Aurobindo Pharma Limited", "Abbott GmbH & Co. KG", "Trinity Biotech, Plc"])).set_index("vendor")
    assert d.loc["Aurobindo Pharma Limited", "distance_km"] > d.loc["Abbott GmbH & Co. KG", "distance_km"]
    assert d.loc["Trinity Biotech, Plc", "distance_source"].startswith("fallback")


def test_landed_cost_parts_and_carbon_price():
    offers = pd.DataFrame({
        "unit_cost": [10.0, 10.0], "unit_weight_kg": [1.0, 1.0], "freight_usd_per_kg": [2.0, 0.5],
        "lead_time_days": [3, 12], "p_late": [0.1, 0.0], "delay_days_p50_if_late": [28.0, 0.0],
        "risk_score": [0.5, 0.0], "kg_co2e_per_kg": [10.0, 0.2],
    })
    cheap_carbon = landed_costs(offers, CostParams(carbon_price_usd_per_tonne=0))
    dear_carbon = landed_costs(offers, CostParams(carbon_price_usd_per_tonne=500))
    parts = cheap_carbon["unit_cost"] + cheap_carbon["freight_per_unit"] + cheap_carbon["holding_per_unit"] + cheap_carbon["stockout_per_unit"]
    assert np.allclose(cheap_carbon["landed_cost"], parts)
    assert cheap_carbon.loc[0, "stockout_per_unit"] > 0 and cheap_carbon.loc[1, "stockout_per_unit"] == 0
    assert cheap_carbon.loc[1, "holding_per_unit"] > cheap_carbon.loc[0, "holding_per_unit"]
    assert dear_carbon.loc[0, "carbon_cost_per_unit"] == pytest.approx(10.0 / 1000 * 500)
    assert (dear_carbon["objective_per_unit"] - cheap_carbon["objective_per_unit"]).iloc[0] > 4
