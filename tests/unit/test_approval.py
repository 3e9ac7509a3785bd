"""The approval policy per PO with line exceptions: hand-computed references, guards, tiers, queue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from procurement.approval import (
    ApprovalPolicy,
    assess_purchase_orders,
    demand_references,
    line_exceptions,
    po_versions,
    queue_summary,
    review_queue,
)

AS_OF = pd.Timestamp("2016-05-01")
# fixed here so the hand-computed cases do not move with the calibrated defaults
POLICY = ApprovalPolicy(auto_approve_max_usd=50_000, tier_limits_usd=(100_000,), high_risk_auto_max_usd=5_000,
                        anomaly_min_excess_usd=50, substitution_min_extra_usd=250)


def _line(po, item, qty, unit_cost, freight, *, risk=0.2, supplier=None, moq=1, pack=1, status="x",
          substitution="", landed=None, preferred_landed=None, lead=3):
    return {"po_id": po, "supplier_id": supplier or f"sup-{po}", "item_id": item, "ship_to": "CA_1", "qty": qty,
            "unit_cost": unit_cost, "freight_cost": freight, "order_value": qty * unit_cost + freight,
            "risk_score": risk, "moq": moq, "pack_size": pack, "status": status, "lead_time_days": lead,
            "order_date": AS_OF, "expected_arrival": AS_OF + pd.Timedelta(days=lead), "substitution": substitution,
            "preferred_supplier": "pref", "landed_cost": landed if landed is not None else unit_cost,
            "preferred_landed_cost": preferred_landed if preferred_landed is not None else unit_cost}


def _refs(lines, fc, hist, days=10):
    return pd.DataFrame({"protect_days": days, "forecast_units": fc, "history_units": hist}, index=lines.index)


def test_references_forecast_over_lead_plus_review_and_winsorised_sales():
    lines = pd.DataFrame([_line("P", "A", 10, 1, 0, lead=3), _line("P", "B", 10, 1, 0, lead=3),
                          _line("P", "A", 10, 1, 0, lead=10)])
    days = pd.date_range(AS_OF + pd.Timedelta(days=1), periods=14)
    forecast = pd.DataFrame({"store_id": "CA_1", "item_id": "A", "date": days, "yhat": 2.0, "yhat_q50": 2.0,
                             "yhat_q90": 3.0})
    hist_days = pd.date_range(AS_OF - pd.Timedelta(days=27), AS_OF)
    spiked = [1.0] * 26 + [30.0, 30.0]  # two poisoned days at the end
    history = pd.concat([
        pd.DataFrame({"store_id": "CA_1", "item_id": "A", "date": hist_days, "units": spiked}),
        pd.DataFrame({"store_id": "CA_1", "item_id": "B", "date": hist_days, "units": 2.0}),
        # older than the 28-day window: ignored
        pd.DataFrame({"store_id": "CA_1", "item_id": "A", "date": [AS_OF - pd.Timedelta(days=40)], "units": [500.0]}),
    ])
    refs = demand_references(lines, forecast, history, as_of=AS_OF, review_days=7)
    assert list(refs["protect_days"]) == [10, 10, 17]
    # 10 days x 2; B has no forecast; 17 days = 14 in the horizon + 3 at the mean day (2)
    assert list(refs["forecast_units"]) == [20.0, 0.0, 34.0]
    # the 90th percentile of A's window is 1 (27 x 0.9 = 24.3 -> between two 1s): both 30s are cut to 1
    assert list(refs["history_daily"]) == [1.0, 2.0, 1.0]
    assert list(refs["history_units"]) == [10.0, 20.0, 17.0]
    unknown = demand_references(lines, None, None, as_of=AS_OF, review_days=7)
    assert unknown["history_units"].isna().all() and unknown["forecast_units"].isna().all()


def test_anomaly_guard_holds_what_neither_forecast_nor_sales_justify():
    lines = pd.DataFrame([
        _line("P", "ok", 60, 10, 0),         # 3.0 x max(20, 10) = 60: justified
        _line("P", "over", 70, 10, 0),       # 70 > 60, excess 10 units x 10 USD = 100 >= 50
        _line("P", "cheap", 70, 1, 0),       # excess 10 x 1 USD = 10 < 50: not worth a human
        _line("P", "jump", 45, 10, 0),       # forecast 40 > 3 x sales 10: justified 3 x 10 = 30
        _line("P", "moq", 48, 10, 0, moq=48, pack=48),  # MOQ forces 48 whatever sales say
        _line("P", "pack", 36, 10, 0, pack=12),         # 3 x 10 = 30 rounded up to the pack: 36
        _line("P", "unknown", 500, 10, 0),   # no recent sales known: nothing to judge by
    ])
    refs = _refs(lines, [20, 20, 20, 40, 1, 10, 20], [10, 10, 10, 10, 1, 10, np.nan])
    out = line_exceptions(lines, refs, POLICY)
    assert list(out["anomaly"]) == [False, True, False, True, False, False, False]
    assert list(out["justified_qty"].astype("float")[:6]) == [60, 60, 60, 30, 48, 36]
    assert pd.isna(out["justified_qty"].iloc[6])
    assert out["anomaly_ratio"].iloc[1] == 3.5 and out["anomaly_ratio"].iloc[3] == 4.5
    assert out["line_exception"].iloc[1] == ("over: qty 70 is 3.5x the larger of forecast (20.0) and recent sales "
                                             "(10.0) over 10 days")
    assert out["line_exception"].iloc[3].startswith("jump: qty 45 is 4.5x recent sales (10.0 units over 10 days)")
    assert "check the POS feed" in out["line_exception"].iloc[3]
    assert (out["line_exception"].iloc[[0, 2, 4, 5, 6]] == "").all()


def test_anomaly_guard_judges_a_need_split_across_suppliers_as_a_whole():
    lines = pd.DataFrame([
        # spiked: 50 + 50 to CA_1, each within 3 x max(20, 10) = 60, together 100: 40 over x 10 USD = 400
        _line("P", "split", 50, 10, 0, supplier="s1"),
        _line("Q", "split", 50, 10, 0, supplier="s2"),
        # a normal split: 20 + 20 = 40 <= 60
        _line("P", "calm", 20, 10, 0, supplier="s1"),
        _line("Q", "calm", 20, 10, 0, supplier="s2"),
        # two MOQ-bound lines: 48 + 48 = 96 > 60, but the split's MOQs justify 96
        _line("P", "moq", 48, 10, 0, supplier="s1", moq=48, pack=48),
        _line("Q", "moq", 48, 10, 0, supplier="s2", moq=48, pack=48),
    ])
    refs = _refs(lines, [20] * 6, [10] * 6)
    out = line_exceptions(lines, refs, POLICY)
    assert list(out["anomaly"]) == [True, True, False, False, False, False]
    assert list(out["anomaly_ratio"].iloc[:2]) == [5.0, 5.0]  # 100 / 20
    assert list(out["anomaly_ratio"].iloc[2:4]) == [2.0, 2.0]  # 40 / 20
    assert out["line_exception"].iloc[0] == ("split: qty 50 (100 in all over 2 lines to CA_1) is 5.0x the larger of "
                                             "forecast (20.0) and recent sales (10.0) over 10 days")
    assert (out["line_exception"].iloc[2:] == "").all()


def test_dearer_substitute_supplier_is_a_line_exception_only_when_it_costs_enough():
    sub = "preferred pref lead time 9 d misses need date in 3 d"
    lines = pd.DataFrame([
        _line("P", "big", 200, 2.0, 0, substitution=sub, landed=3.0, preferred_landed=1.5),  # +100 %, 300 USD
        _line("P", "small", 100, 2.0, 0, substitution=sub, landed=3.0, preferred_landed=1.5),  # +100 %, 150 USD
        _line("P", "mild", 1000, 2.0, 0, substitution=sub, landed=1.8, preferred_landed=1.5),  # +20 %
        _line("P", "chosen", 200, 2.0, 0, substitution="preferred pref dearer per unit after MOQ/pack rounding",
              landed=3.0, preferred_landed=1.5),  # the optimiser's own choice, not a substitution
    ])
    out = line_exceptions(lines, _refs(lines, 1e6, 1e6), POLICY)
    assert list(out["substitution_hold"]) == [True, False, False, False]
    assert out["line_exception"].iloc[0] == ("big: substitute supplier sup-P costs 100% more per unit landed than "
                                             "preferred pref (300 USD more)")


def _queue_lines():
    rows = [
        _line("A", "a1", 600, 50, 1000, risk=0.2),     # 31,000
        _line("A", "a2", 480, 50, 800, risk=0.2),      # 24,800 -> PO 55,800 > 50,000
        _line("B", "b1", 200, 40, 200, risk=0.8),      # 8,200 from a risky supplier
        _line("C", "c1", 24, 10, 40, risk=0.1),        # 280
        _line("E", "e1", 100, 39, 100, risk=0.75),     # 4,000: risky but small
        _line("F", "f1", 70, 10, 0, risk=0.5),         # anomalous: 3.5 x
        _line("F", "f2", 10, 10, 0, risk=0.5),
        _line("G", "g1", 1000, 150, 0, risk=0.0),      # 150,000: top tier
        _line("RJ", "r1", 5, np.nan, np.nan, status="rejected"),
    ]
    lines = pd.DataFrame(rows)
    fc = [1e6] * len(lines)
    hist = [1e6] * len(lines)
    fc[5], hist[5] = 20, 10
    return lines, _refs(lines, fc, hist)


def test_po_status_reason_tier_and_stake():
    lines, refs = _queue_lines()
    out = lines.drop(columns="status").join(assess_purchase_orders(lines, refs, POLICY))
    po = out.groupby("po_id").first()
    assert po["status"].to_dict() == {"A": "needs_approval", "B": "needs_approval", "C": "auto_approved",
                                      "E": "auto_approved", "F": "needs_approval", "G": "needs_approval",
                                      "RJ": "rejected"}
    assert po.loc["A", "approval_reason"] == ("needs buyer approval: PO value 55,800 USD over the auto-approval "
                                              "limit 50,000")
    assert po.loc["G", "approval_tier"] == "category manager" and po.loc["A", "approval_tier"] == "buyer"
    assert po.loc["B", "approval_reason"] == "needs buyer approval: supplier risk 0.8 above 0.7"
    assert po.loc["F", "approval_reason"] == "needs buyer approval: 1 line(s) held by the quantity anomaly guard"
    assert po.loc["C", "approval_reason"].startswith("auto-approved: PO value 280 USD within 50,000, supplier risk 0.1 "
                                                     "within 0.7, no line above")
    # a risky supplier passes only on the small-PO allowance, and the reason says so
    assert po.loc["E", "approval_reason"].startswith("auto-approved: PO value 4,000 USD within 50,000, supplier risk "
                                                     "0.75 above 0.7 but PO within 5,000 USD, no line above")
    assert po.loc["RJ", "approval_reason"] == "no feasible offer: nothing to approve"
    # a PO's status is the header's: every line carries it; only the anomalous line is held
    assert (out.loc[out["po_id"] == "F", "status"] == "needs_approval").all()
    assert list(out.loc[out["po_id"] == "F", "line_hold"]) == [True, False]
    # at stake = value x (1 + risk) x largest anomaly ratio
    assert po.loc["A", "at_stake_usd"] == pytest.approx(55_800 * 1.2)
    assert po.loc["F", "at_stake_usd"] == pytest.approx(800 * 1.5 * 3.5)
    assert po.loc["G", "at_stake_usd"] == pytest.approx(150_000)


def test_queue_ranks_waiting_pos_by_stake_and_sums_up():
    lines, refs = _queue_lines()
    out = lines.drop(columns="status").join(assess_purchase_orders(lines, refs, POLICY))
    queue = review_queue(out)
    assert list(queue["po_id"][:4]) == ["G", "A", "B", "F"]  # 150,000; 66,960; 14,760; 4,200
    assert list(queue["rank"]) == list(range(1, len(queue) + 1))
    assert queue.set_index("po_id").loc["F", "held_lines"] == 1
    summary = queue_summary(out)
    spend = 55_800 + 8_200 + 280 + 4_000 + 800 + 150_000
    assert summary["purchase_orders"] == 6 and summary["pos_needing_approval"] == 4
    assert summary["lines_needing_approval"] == 6 and summary["lines_held_by_exception"] == 1
    assert summary["auto_approved_spend_share"] == pytest.approx(round((280 + 4_000) / spend, 4))


def test_po_version_is_the_content_not_the_order_or_status():
    lines, _ = _queue_lines()
    v = po_versions(lines)
    shuffled = lines.sample(frac=1, random_state=1).assign(status="other")
    assert po_versions(shuffled).reindex(lines.index).equals(v)
    assert v[lines["po_id"] == "A"].nunique() == 1 and v.nunique() == lines["po_id"].nunique()
    changed = lines.copy()
    changed.loc[0, "qty"] = 612
    w = po_versions(changed)
    assert w[0] != v[0] and (w[lines["po_id"] != "A"] == v[lines["po_id"] != "A"]).all()


def test_policy_rejects_inconsistent_tiers():
    with pytest.raises(ValueError, match="tier_names"):
        ApprovalPolicy(tier_names=("buyer",))
    with pytest.raises(ValueError, match="above auto_approve_max_usd"):
        ApprovalPolicy(auto_approve_max_usd=200_000)
    with pytest.raises(ValueError, match="anomaly_factor"):
        ApprovalPolicy(anomaly_factor=1.0)


def test_winsorised_sums_cut_each_group_at_its_own_quantile():
    from procurement.approval import _winsorised_sums

    rows = pd.DataFrame({"store_id": ["a", "a", "a", "b", "c", "c", None],
                         "item_id": "x", "units": [1.0, 10.0, 3.0, 5.0, np.nan, 2.0, 99.0]})
    sums = _winsorised_sums(rows, ["store_id", "item_id"], "units", 0.9)
    # a: sorted 1, 3, 10; q90 at rank 1.8 -> 3 + 0.8 x 7 = 8.6; 10 is cut to it. c: the missing day is left out.
    # The row without a store is in no group.
    assert sums.to_dict() == pytest.approx({("a", "x"): 1 + 8.6 + 3, ("b", "x"): 5.0, ("c", "x"): 2.0})
