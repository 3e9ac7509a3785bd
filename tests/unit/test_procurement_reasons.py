"""The sentences a buyer reads on each PO line, one hand-computed case per branch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from procurement.reasons import line_alternatives, line_reasons, rejection_reasons

_ORDER_DATE = pd.Timestamp("2016-05-22")


def _offer(sid: str, **kw) -> dict:
    """One offer of item I1; defaults are a plain, cheap, fast, roomy supplier."""
    row = dict(supplier_id=sid, supplier_name=f"Supplier {sid}", item_id="I1", unit_cost=1.80, freight_per_unit=0.15,
               holding_per_unit=0.03, stockout_per_unit=0.02, landed_cost=2.00, objective_per_unit=2.10,
               risk_penalty_per_unit=0.05, carbon_cost_per_unit=0.05, lead_time_days=2, moq=6, pack_size=6,
               capacity_units_per_week=1000, on_time_rate=0.98)
    row.update(kw)
    row["offer_key"] = sid + "|I1"
    return row


def _reason(chosen: dict, *others: dict, qty: int = 12, need_qty: int = 12, need_days: int = 5,
            used: dict[str, float] | None = None, extra_lines: list[tuple[dict, int]] = (), **line) -> pd.DataFrame:
    """Allocate ``chosen`` (qty units) for need 0 and build its alternative columns and reason."""
    pairs = pd.DataFrame([chosen, *others]).assign(need_id=0, need_qty=need_qty, need_days=need_days)
    rows = [(chosen, qty), *extra_lines]
    lines = pd.DataFrame([{**o, "qty": q} for o, q in rows]).assign(
        need_id=0, need_qty=need_qty, need_days=need_days, order_date=_ORDER_DATE, **line)
    lines["expected_arrival"] = lines["order_date"] + pd.to_timedelta(lines["lead_time_days"], unit="D")
    used_qty = pd.Series(used or {}, dtype=float)
    lines = lines.join(line_alternatives(lines, pairs, used_qty))
    lines["reason"] = line_reasons(lines)
    return lines


_CHOSEN = ("Chosen: Supplier A, 2.00 USD/unit landed (price 1.80, freight 0.15, holding and late-delivery risk 0.05), "
           "arrives 24 May (2 days).")


def test_cheapest_feasible_offer_is_chosen():
    out = _reason(_offer("A"), _offer("B", landed_cost=2.50, objective_per_unit=2.60))
    assert out["alternative_issue"].iloc[0] == "dearer"
    assert out["reason"].iloc[0] == _CHOSEN + " Lowest landed cost of 2 offers; next: Supplier B at 2.50."
    assert out["alternative_landed_cost"].iloc[0] == pytest.approx(2.50)


def test_only_offer():
    out = _reason(_offer("A"))
    assert out["reason"].iloc[0] == _CHOSEN + " It is the only supplier of this item."
    assert out["alternative_supplier"].isna().all()
    out = _reason(_offer("A", lead_time_days=1))
    assert out["reason"].iloc[0].startswith("Chosen: Supplier A, 2.00 USD/unit landed (price 1.80, freight 0.15, "
                                            "holding and late-delivery risk 0.05), arrives 23 May (1 day).")


def test_cheaper_offer_too_slow():
    out = _reason(_offer("A"), _offer("B", landed_cost=1.50, objective_per_unit=1.60, lead_time_days=9))
    # the shelf runs out 5 days after 22 May
    assert out["reason"].iloc[0] == _CHOSEN + (
        " Cheaper Supplier B (1.50) cannot deliver before the shelf runs out on 27 May (lead time 9 days).")
    assert out["alternative_lead_time_days"].iloc[0] == 9


def test_cheaper_offer_over_capacity():
    b = _offer("B", landed_cost=1.50, objective_per_unit=1.60, capacity_units_per_week=24)
    out = _reason(_offer("A"), b, used={"B|I1": 24})  # 24 used + a pack of 6 > 24
    assert out["reason"].iloc[0] == _CHOSEN + " Cheaper Supplier B (1.50) has no capacity left this week (24 units a week)."


def test_cheaper_offer_below_moq():
    b = _offer("B", landed_cost=1.50, objective_per_unit=1.60, moq=48, pack_size=12)
    out = _reason(_offer("A", pack_size=1, moq=1), b, qty=10, need_qty=10)
    # alone B must sell 48 units: 48 x 1.60 = 76.80 against this order's 10 x 2.10 = 21.00
    assert out["alternative_issue"].iloc[0] == "moq"
    assert out["reason"].iloc[0] == _CHOSEN + (
        " Cheaper Supplier B (1.50) sells at least 48 units, more than the 10 needed: 76.80 against 21.00 for this order.")


def test_cheaper_offer_riskier():
    b = _offer("B", landed_cost=1.90, objective_per_unit=2.30, risk_penalty_per_unit=0.35, on_time_rate=0.73)
    out = _reason(_offer("A"), b)
    assert out["reason"].iloc[0] == _CHOSEN + (
        " Cheaper Supplier B (1.90) is less reliable (on time 73 %): with its delivery-risk charge it comes to 2.30"
        " against 2.10.")


def test_cheaper_offer_higher_carbon():
    b = _offer("B", landed_cost=1.90, objective_per_unit=2.30, carbon_cost_per_unit=0.35)
    out = _reason(_offer("A"), b)
    assert out["alternative_issue"].iloc[0] == "carbon"
    assert out["reason"].iloc[0].endswith("Cheaper Supplier B (1.90) ships from further away: with its carbon price it "
                                          "comes to 2.30 against 2.10.")


def test_cheaper_offer_dearer_after_rounding():
    b = _offer("B", landed_cost=1.90, objective_per_unit=1.95)
    out = _reason(_offer("A"), b)
    assert out["reason"].iloc[0].endswith(
        "Cheaper Supplier B (1.90) costs more for this order after rounding to its packs of 6 (minimum 6).")


def test_cheaper_offer_with_a_longer_lead_time():
    b = _offer("B", landed_cost=1.90, objective_per_unit=1.95, lead_time_days=4)
    out = _reason(_offer("A"), b)
    assert out["alternative_issue"].iloc[0] == "longer"
    assert out["reason"].iloc[0].endswith("Cheaper Supplier B (1.90) takes 4 days against 2: covering the longer wait "
                                          "needs more units, which costs more in total.")


def test_split_across_suppliers():
    # A (cheaper) is full after its 36 units; this need's other 24 come from B
    a = _offer("A", capacity_units_per_week=36)
    b = _offer("B", landed_cost=2.50, objective_per_unit=2.60)
    out = _reason(b, a, qty=24, need_qty=60, used={"A|I1": 36}, extra_lines=[(a, 36)]).set_index("supplier_id")
    assert out.loc["B", "reason"] == (
        "Chosen: Supplier B, 2.50 USD/unit landed (price 1.80, freight 0.15, holding and late-delivery risk 0.05), "
        "arrives 24 May (2 days). Cheaper Supplier A (2.00) has no capacity left this week (36 units a week). "
        "Split across 2 suppliers: this line brings 24 of 60 units.")
    assert out.loc["A", "reason"] == _CHOSEN + (
        " Lowest landed cost of 2 offers; next: Supplier B at 2.50. Split across 2 suppliers: this line brings 36 of 60 units.")


def test_late_backup_usual_supplier_and_rounding():
    a = _offer("A", lead_time_days=9, moq=12)
    c = _offer("C", landed_cost=1.20, objective_per_unit=1.30, lead_time_days=1, capacity_units_per_week=6)
    out = _reason(a, c, qty=12, need_qty=10, used={"C|I1": 6}, preferred_supplier="P", preferred_name="Supplier P",
                  preferred_issue="full")
    assert out["reason"].iloc[0] == (
        "Chosen: Supplier A, 2.00 USD/unit landed (price 1.80, freight 0.15, holding and late-delivery risk 0.05), "
        "arrives 31 May (9 days). Cheaper Supplier C (1.20) has no capacity left this week (6 units a week). "
        "It arrives after the shelf runs out on 27 May: no supplier that delivers in time had capacity left. "
        "The usual supplier, Supplier P, has no capacity left this week. "
        "Ordered 12 for the 10 needed (minimum order 12 units, packs of 6).")


def test_usual_supplier_not_repeated_when_it_is_the_alternative():
    b = _offer("B", landed_cost=1.50, objective_per_unit=1.60, lead_time_days=9)
    out = _reason(_offer("A"), b, preferred_supplier="B", preferred_name="Supplier B", preferred_issue="slower")
    assert "usual supplier" not in out["reason"].iloc[0]
    out = _reason(_offer("A"), b, preferred_supplier="P", preferred_name="Supplier P", preferred_issue="slower")
    assert out["reason"].iloc[0].endswith("The usual supplier, Supplier P, cannot deliver before 27 May.")


def test_no_supplier_fast_enough_takes_the_fastest():
    a = _offer("A", lead_time_days=9)
    out = _reason(a, _offer("B", landed_cost=1.50, objective_per_unit=1.60, lead_time_days=12))
    assert out["fastest_lead_time_days"].iloc[0] == 9
    assert out["reason"].iloc[0].endswith(
        "arrives 31 May (9 days). Cheaper Supplier B (1.50) cannot deliver before the shelf runs out on 27 May "
        "(lead time 12 days). No supplier can deliver before the shelf runs out on 27 May; this one is the fastest.")


def test_a_fraction_of_a_cent_is_not_cheaper():
    out = _reason(_offer("A"), _offer("B", landed_cost=1.998, objective_per_unit=2.2))
    assert out["alternative_issue"].iloc[0] == "dearer"
    assert out["reason"].iloc[0].endswith("Lowest landed cost of 2 offers; next: Supplier B at 2.00.")


def test_approval_sentence_and_small_charges():
    a = _offer("A", holding_per_unit=0.001, stockout_per_unit=0.0, landed_cost=1.95)
    lines = _reason(a, _offer("B", landed_cost=2.5))
    text = line_reasons(lines, approval=np.array(["under thresholds"]))
    assert text.iloc[0] == ("Chosen: Supplier A, 1.95 USD/unit landed (price 1.80, freight 0.15), arrives 24 May (2 days). "
                            "Lowest landed cost of 2 offers; next: Supplier B at 2.50. Approval: under thresholds.")


def test_rejection_reasons():
    short = pd.DataFrame({"shortage": [40, 7, 1], "unit_cost": [np.nan, 1.2, 1.0], "substitute_item": [None, "I9", None],
                          "substitute_supplier": [None, "g", None]})
    text = rejection_reasons(short, pd.Series({"g": "Supplier G"}))
    assert text.tolist() == [
        "Not ordered: no supplier offers this item (40 units needed).",
        "Not ordered: 7 units short; every supplier of this item is out of capacity this week or over the budget. "
        "Suggested substitute: I9 from Supplier G (same department, similar price).",
        "Not ordered: 1 unit short; every supplier of this item is out of capacity this week or over the budget.",
    ]


def test_explanation_says_when_the_runner_up_is_lower_per_unit_but_lost_on_the_order():
    from procurement.proposals import _explain

    lines = pd.DataFrame({"supplier_id": ["supplier-a", "supplier-a"], "runner_up": ["supplier-e", "supplier-e"],
                          "objective_per_unit": [1.95, 1.95], "runner_up_objective": [1.89, 2.10],
                          "landed_cost": [1.8, 1.8], "unit_cost": [1.5, 1.5], "freight_per_unit": [0.2, 0.2],
                          "holding_per_unit": [0.05, 0.05], "stockout_per_unit": [0.05, 0.05],
                          "risk_penalty_per_unit": [0.1, 0.1], "carbon_cost_per_unit": [0.05, 0.05]})
    text = _explain(lines)
    assert text.iloc[0].endswith("next best supplier-e at 1.89 (difference -0.06: lower per unit, dearer for this "
                                 "order after packs, MOQ, capacity or lead time)")
    assert text.iloc[1].endswith("next best supplier-e at 2.1 (difference 0.15)")
