"""Plot and table helpers behind the UI metadata, on small frames built here."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import pytest

from assets import _plots


def _png(value) -> bytes:
    text = value.value
    assert text.startswith("![") and "data:image/png;base64," in text
    return base64.b64decode(text.split("base64,", 1)[1].rstrip(")"))


@pytest.fixture()
def predictions() -> pd.DataFrame:
    dates = pd.date_range("2016-05-09", periods=7)
    rows = []
    # item A: big and well forecast; B: small, badly forecast; C, D: middling
    for item, actual, pred in [("A", 50.0, 49.0), ("B", 2.0, 9.0), ("C", 10.0, 12.0), ("D", 8.0, 7.0)]:
        for d in dates:
            rows.append({"store_id": "CA_1", "item_id": item, "date": d, "units": actual, "imapa": pred,
                         "seasonal_naive": actual + 1})
    return pd.DataFrame(rows)


def test_worst_forecast_items_ranks_by_mae_with_bias(predictions):
    worst = _plots.worst_forecast_items(predictions, "imapa", n=2)
    assert worst["item_id"].tolist() == ["B", "C"]
    assert worst.loc[0, "mae"] == pytest.approx(7.0) and worst.loc[0, "bias"] == pytest.approx(7.0)


def test_forecast_vs_actual_is_a_png(predictions):
    png = _png(_plots.forecast_vs_actual(predictions, "imapa", n_sample=2, n_worst=2))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_stockout_risk_ranks_by_units_short():
    proposals = pd.DataFrame({
        "store_id": ["CA_1"] * 3, "item_id": ["X", "Y", "Z"],
        "on_hand": [1, 50, 0], "on_order": [0, 0, 0], "reorder_point": [30, 20, 1], "order_qty": [40, 0, 1],
        "demand_lead_time": [20.0, 10.0, 0.0], "lead_time_days": [10, 10, 10],
    })
    risk = _plots.stockout_risk(proposals)
    # Z has no demand (infinite cover) and is left out; X runs dry long before Y
    assert risk["item_id"].tolist() == ["X", "Y"]
    assert risk.loc[0, "days_of_cover"] == pytest.approx(0.5) and risk.loc[0, "expected_short_units"] == 19
    assert risk.loc[1, "short_days"] < 0
    assert _png(_plots.stockout_risk_plot(proposals))[:4] == b"\x89PNG"


def test_po_status_table_sums_value_per_supplier_and_status():
    orders = pd.DataFrame({
        "supplier_id": ["s1", "s1", "s2", "s2", "s2"],
        "status": ["auto_approved", "needs_approval", "auto_approved", "auto_approved", "rejected"],
        "order_value": [10.0, 90.0, 5.0, 5.0, 1.0],
    })
    table = _plots.po_status_table(orders)
    assert table["supplier_id"].tolist() == ["s1", "s2"]
    s2 = table.set_index("supplier_id").loc["s2"]
    assert (s2["auto_approved"], s2["needs_approval"], s2["rejected"], s2["total_usd"], s2["lines"]) == (10, 0, 1, 11, 3)
    assert _png(_plots.po_by_supplier_status(orders))[:4] == b"\x89PNG"


def test_scorecard_plot_and_missing_columns_degrade_to_text():
    scores = pd.DataFrame({"supplier_id": ["a", "b"], "risk_score": [0.1, 0.9], "cost_score": [0.2, 0.5],
                           "carbon_score": [0.0, 1.0], "total_score": [0.12, 0.76]})
    assert _png(_plots.supplier_scorecard_plot(scores, {"risk": 0.4, "cost": 0.4, "carbon": 0.2}))[:4] == b"\x89PNG"
    note = _plots.safe_plot(_plots.supplier_scorecard_plot, scores.drop(columns=["carbon_score"]), {"risk": 1.0})
    assert note.value.startswith("plot unavailable") and "carbon_score" in note.value
    empty = _plots.safe_plot(_plots.po_by_supplier_status, pd.DataFrame(columns=["supplier_id", "status", "order_value"]))
    assert "no purchase-order lines" in empty.value


def test_plots_stay_cheap_on_many_series():
    # 30,490 series x 14 days, like the full M5 backtest: still only a few lines get drawn
    n, days = 30_490, 14
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "store_id": np.repeat([f"S{i % 10}" for i in range(n)], days),
        "item_id": np.repeat([f"I{i}" for i in range(n)], days),
        "date": np.tile(pd.date_range("2016-05-09", periods=days), n),
        "units": rng.poisson(2.0, n * days).astype(float),
    })
    frame["imapa"] = 2.0
    value = _plots.forecast_vs_actual(frame, "imapa", baseline=None)
    assert len(_png(value)) < 400_000
