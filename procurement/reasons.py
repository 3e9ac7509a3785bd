"""Sentences a buyer reads: why each purchase-order line went to its supplier.

A line's ``reason`` names the chosen supplier and its landed cost per unit (price, freight, and the
holding and late-delivery charges), then the cheapest other offer of the same need by landed cost
and why it lost, in this order of precedence:

* ``only``: no other supplier offers the item;
* ``dearer``: the chosen supplier is the cheapest landed;
* ``slower``: the cheaper one cannot deliver before the shelf runs out;
* ``full``: the cheaper one has no weekly capacity left;
* ``moq``: the cheaper one's minimum order is above the need and costs more in total;
* ``risk`` / ``carbon``: cheaper landed, dearer once its delivery risk or its carbon is priced in;
* ``longer``: its longer lead time needs more units on order, dearer in total;
* ``rounding``: dearer for this order after its pack and MOQ rounding.

Further sentences say when the need is split across suppliers, when the chosen supplier itself
arrives after the shelf runs out (no on-time supplier had capacity left, or none is fast enough),
when the usual (preferred) supplier was passed over and why, and when the quantity was rounded up. Lines the allocation
could not place get their own sentence, with a substitute item where one fits. The numbers behind
each sentence stay in their own columns. Everything is built with column operations, no loop over
lines.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["ALTERNATIVE_ISSUES", "line_alternatives", "line_reasons", "rejection_reasons"]

ALTERNATIVE_ISSUES = ("only", "dearer", "slower", "full", "moq", "risk", "carbon", "longer", "rounding")
_ALT_COLS = ["supplier_id", "name", "landed_cost", "objective_per_unit", "lead_time_days", "moq", "pack_size",
             "capacity_units_per_week", "offer_key", "risk_penalty_per_unit", "carbon_cost_per_unit", "on_time_rate"]


def _names(frame: pd.DataFrame) -> pd.Series:
    """Display name of each row's supplier (``supplier_name`` where the catalogue has one)."""
    if "supplier_name" in frame:
        return frame["supplier_name"].fillna(frame["supplier_id"]).astype(str)
    return frame["supplier_id"].astype(str)


def _money(values: pd.Series) -> pd.Series:
    """Two decimals, as text (NaN stays 'nan' and is only read where the value exists)."""
    # str.format per value is ~3x faster than np.char.mod here
    return pd.Series(values.to_numpy(dtype=float), index=values.index).map("{:.2f}".format).astype(object)


def _int(values: pd.Series) -> pd.Series:
    return values.fillna(0).round().astype(int).astype(str)


def _units(values: pd.Series, unit: str = "unit") -> pd.Series:
    """'1 unit', '12 units' (or days, ...)."""
    n = _int(values)
    return n + np.where(n == "1", f" {unit}", f" {unit}s")


_MONTHS = np.array(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], dtype=object)


def _day(dates: pd.Series) -> pd.Series:
    """'30 May' for each date."""
    dates = pd.to_datetime(dates)
    month = _MONTHS[dates.dt.month.fillna(1).astype(int).to_numpy() - 1]
    return dates.dt.day.fillna(0).astype(int).astype(str) + " " + month


def line_alternatives(lines: pd.DataFrame, pairs: pd.DataFrame, used_qty: pd.Series) -> pd.DataFrame:
    """The cheapest other offer (by landed cost per unit) of each line's need, and why it lost.

    Args:
        lines: allocated lines (``need_id, supplier_id, qty, need_qty, need_days, landed_cost,
            objective_per_unit, risk_penalty_per_unit, carbon_cost_per_unit``).
        pairs: every need x offer pair (``need_id`` and the offer's columns, ``offer_key``
            included), whether or not the allocation used it.
        used_qty: units allocated per ``offer_key`` over all needs.

    Returns:
        Indexed like ``lines``: ``alternative_supplier, alternative_name, alternative_landed_cost,
        alternative_objective, alternative_lead_time_days, alternative_moq, alternative_pack_size,
        alternative_capacity, alternative_on_time_rate, alternative_risk_penalty,
        alternative_carbon_cost, n_offers, fastest_lead_time_days`` (of all the need's offers) and
        ``alternative_issue`` (one of ``ALTERNATIVE_ISSUES``).
    """
    ranked = pairs.assign(name=_names(pairs))
    if "on_time_rate" not in ranked:
        ranked["on_time_rate"] = 1 - ranked["p_late"] if "p_late" in ranked else np.nan
    ranked = ranked.sort_values(["need_id", "landed_cost", "supplier_id"])
    rank = ranked.groupby("need_id").cumcount()
    need = lines["need_id"].to_numpy()
    first = ranked.loc[rank == 0, ["need_id", *_ALT_COLS]].set_index("need_id").reindex(need)
    second = ranked.loc[rank == 1, ["need_id", *_ALT_COLS]].set_index("need_id").reindex(need)
    is_first = (first["supplier_id"].to_numpy() == lines["supplier_id"].to_numpy())[:, None]
    alt = first.where(~np.repeat(is_first, len(_ALT_COLS), axis=1), second).set_axis(lines.index)
    n_offers = ranked.groupby("need_id").size().reindex(need).fillna(0).astype(int).to_numpy()
    fastest = ranked.groupby("need_id")["lead_time_days"].min().reindex(need).to_numpy()

    num = {c: pd.to_numeric(alt[c], errors="coerce") for c in _ALT_COLS if c not in ("supplier_id", "name", "offer_key")}
    # cheaper by at least the half cent the sentence can show
    cheaper = alt["supplier_id"].notna() & (num["landed_cost"] < lines["landed_cost"] - 0.005)
    slower = num["lead_time_days"] > lines["need_days"]
    used = alt["offer_key"].map(used_qty).fillna(0)
    full = used + num["pack_size"].fillna(1) > num["capacity_units_per_week"]
    # serving the need alone from the cheaper offer: its MOQ, rounded up to whole packs
    alone = np.ceil(np.maximum(lines["need_qty"], num["moq"]) / num["pack_size"]) * num["pack_size"]
    moq = (num["moq"] > lines["need_qty"]) & (alone * num["objective_per_unit"]
                                              > lines["qty"] * lines["objective_per_unit"])
    charged = num["objective_per_unit"] >= lines["objective_per_unit"]
    risk_gap = num["risk_penalty_per_unit"] - lines["risk_penalty_per_unit"]
    carbon_gap = num["carbon_cost_per_unit"] - lines["carbon_cost_per_unit"]
    longer = num["lead_time_days"] > lines["lead_time_days"]
    issue = np.select(
        [alt["supplier_id"].isna(), ~cheaper, slower, full, moq, charged & (risk_gap >= carbon_gap), charged, longer],
        list(ALTERNATIVE_ISSUES[:-1]), ALTERNATIVE_ISSUES[-1],
    )
    return pd.DataFrame({
        "alternative_supplier": alt["supplier_id"], "alternative_name": alt["name"],
        "alternative_landed_cost": num["landed_cost"], "alternative_objective": num["objective_per_unit"],
        "alternative_lead_time_days": num["lead_time_days"], "alternative_moq": num["moq"],
        "alternative_pack_size": num["pack_size"], "alternative_capacity": num["capacity_units_per_week"],
        "alternative_on_time_rate": num["on_time_rate"], "alternative_risk_penalty": num["risk_penalty_per_unit"],
        "alternative_carbon_cost": num["carbon_cost_per_unit"], "n_offers": n_offers,
        "fastest_lead_time_days": fastest, "alternative_issue": issue,
    }, index=lines.index)


def _by_case(frame: pd.DataFrame, cases: list[tuple[pd.Series | np.ndarray, Callable[[pd.DataFrame], pd.Series]]]
             ) -> pd.Series:
    """One sentence per row from the first case whose mask holds; each sentence is built only on
    the rows of its case (column operations on that subset, not a loop over rows)."""
    out = pd.Series("", index=frame.index, dtype=object)
    free = np.ones(len(frame), dtype=bool)
    for mask, build in cases:
        rows = free & np.asarray(mask, dtype=bool)
        if rows.any():
            out.iloc[rows] = build(frame.iloc[rows]).to_numpy()
        free &= ~rows
    return out


def _why(f: pd.DataFrame, issue: str) -> pd.Series:
    """Why the cheapest other offer lost, for rows whose ``alternative_issue`` is ``issue``."""
    alt_cost = _money(f["alternative_landed_cost"])
    cheaper = "Cheaper " + f["alternative_name"] + " (" + alt_cost + ")"
    versus = _money(f["alternative_objective"]) + " against " + _money(f["objective_per_unit"]) + "."
    if issue == "only":
        return pd.Series("It is the only supplier of this item.", index=f.index)
    if issue == "dearer":
        return ("Lowest landed cost of " + f["n_offers"].astype(str) + " offers; next: " + f["alternative_name"]
                + " at " + alt_cost + ".")
    if issue == "slower":
        return (cheaper + " cannot deliver before the shelf runs out on " + f["_shelf"] + " (lead time "
                + _units(f["alternative_lead_time_days"], "day") + ").")
    if issue == "full":
        return cheaper + " has no capacity left this week (" + _units(f["alternative_capacity"]) + " a week)."
    if issue == "moq":
        alone = np.ceil(np.maximum(f["need_qty"], f["alternative_moq"]) / f["alternative_pack_size"]) * f["alternative_pack_size"]
        return (cheaper + " sells at least " + _units(f["alternative_moq"]) + ", more than the " + _int(f["need_qty"])
                + " needed: " + _money(alone * f["alternative_objective"]) + " against "
                + _money(f["qty"] * f["objective_per_unit"]) + " for this order.")
    if issue == "risk":
        on_time = (100 * f["alternative_on_time_rate"]).round(0).fillna(0).astype(int).astype(str)
        return cheaper + " is less reliable (on time " + on_time + " %): with its delivery-risk charge it comes to " + versus
    if issue == "carbon":
        return cheaper + " ships from further away: with its carbon price it comes to " + versus
    if issue == "longer":
        return (cheaper + " takes " + _units(f["alternative_lead_time_days"], "day") + " against "
                + _int(f["lead_time_days"]) + ": covering the longer wait needs more units, which costs more in total.")
    return (cheaper + " costs more for this order after rounding to its packs of " + _int(f["alternative_pack_size"])
            + " (minimum " + _int(f["alternative_moq"]) + ").")


def line_reasons(lines: pd.DataFrame, *, approval: pd.Series | np.ndarray | None = None) -> pd.Series:
    """One short paragraph per allocated line (see the module docstring).

    Args:
        lines: allocated lines with :func:`line_alternatives` columns, ``order_date,
            expected_arrival, need_days, need_qty, qty, moq, pack_size, unit_cost, freight_per_unit,
            holding_per_unit, stockout_per_unit, landed_cost, lead_time_days, need_id`` and, for
            the usual-supplier sentence, ``preferred_supplier, preferred_name, preferred_issue``
            (``''``, ``slower``, ``full`` or ``dearer``).
        approval: optional text per line on its approval gate, added as a last sentence.

    Returns:
        The ``reason`` text, indexed like ``lines``.
    """
    f = lines.assign(_name=_names(lines), alternative_name=lines["alternative_name"].fillna(""),
                     _shelf=_day(lines["order_date"] + pd.to_timedelta(lines["need_days"], unit="D")),
                     _other=lines["holding_per_unit"].fillna(0) + lines["stockout_per_unit"].fillna(0),
                     _parts=lines.groupby("need_id")["supplier_id"].transform("size"),
                     _need_total=lines.groupby("need_id")["qty"].transform("sum"))
    text = (
        "Chosen: " + f["_name"] + ", " + _money(f["landed_cost"]) + " USD/unit landed (price " + _money(f["unit_cost"])
        + ", freight " + _money(f["freight_per_unit"])
        + np.where(f["_other"] >= 0.005, ", holding and late-delivery risk " + _money(f["_other"]), "") + "), arrives "
        + _day(f["expected_arrival"]) + " (" + _units(f["lead_time_days"], "day") + ")."
    )
    issue = f["alternative_issue"].to_numpy()
    late, on_time = f["lead_time_days"] > f["need_days"], f["fastest_lead_time_days"] <= f["need_days"]
    sentences = [
        _by_case(f, [(issue == c, lambda g, c=c: _why(g, c)) for c in ALTERNATIVE_ISSUES]),
        _by_case(f, [
            (late & on_time, lambda g: "It arrives after the shelf runs out on " + g["_shelf"]
             + ": no supplier that delivers in time had capacity left."),
            (late, lambda g: "No supplier can deliver before the shelf runs out on " + g["_shelf"]
             + "; this one is the fastest."),
        ]),
        _by_case(f, [(f["_parts"] > 1, lambda g: "Split across " + g["_parts"].astype(str)
                      + " suppliers: this line brings " + _int(g["qty"]) + " of " + _units(g["_need_total"]) + ".")]),
        _usual_supplier(f),
        _by_case(f, [(f["qty"] > f["need_qty"], lambda g: "Ordered " + _int(g["qty"]) + " for the " + _int(g["need_qty"])
                      + " needed (minimum order " + _units(g["moq"]) + ", packs of " + _int(g["pack_size"]) + ").")]),
    ]
    if approval is not None:
        sentences.append("Approval: " + pd.Series(approval, index=f.index).astype(str) + ".")
    for sentence in sentences:
        said = (sentence != "").to_numpy()
        text[said] = text[said] + " " + sentence[said]
    return text


def _usual_supplier(f: pd.DataFrame) -> pd.Series:
    """'The usual supplier, X, ...' when the preferred supplier was passed over and is not the alternative."""
    if "preferred_issue" not in f:
        return pd.Series("", index=f.index, dtype=object)
    shown = (f["preferred_issue"] != "") & (f["preferred_supplier"] != f["alternative_supplier"])

    def usual(g: pd.DataFrame) -> pd.Series:
        return "The usual supplier, " + g["preferred_name"].fillna(g["preferred_supplier"]).astype(str) + ", "

    return _by_case(f, [
        (shown & (f["preferred_issue"] == "slower"), lambda g: usual(g) + "cannot deliver before " + g["_shelf"] + "."),
        (shown & (f["preferred_issue"] == "full"), lambda g: usual(g) + "has no capacity left this week."),
        (shown, lambda g: usual(g) + "costs more for this order (MOQ, packs, risk and carbon)."),
    ])


def rejection_reasons(short: pd.DataFrame, names: pd.Series) -> pd.Series:
    """Why a need was left unordered, with the suggested substitute item where one fits.

    Args:
        short: needs with a shortage (``shortage, unit_cost`` (NaN: no supplier offers the item),
            ``substitute_item, substitute_supplier``).
        names: display name per supplier id.

    Returns:
        The ``reason`` text, indexed like ``short``.
    """
    units = _units(short["shortage"])
    head = np.where(short["unit_cost"].isna(), "Not ordered: no supplier offers this item (" + units + " needed).",
                    "Not ordered: " + units + " short; every supplier of this item is out of capacity "
                    "this week or over the budget.")
    sub_name = short["substitute_supplier"].map(names).fillna(short["substitute_supplier"]).astype(str)
    sub = np.where(short["substitute_item"].notna(),
                   " Suggested substitute: " + short["substitute_item"].astype(str) + " from " + sub_name
                   + " (same department, similar price).", "")
    return pd.Series(head, index=short.index, dtype=object) + sub
