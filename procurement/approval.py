"""Approval policy for purchase orders: per PO (the header), with line exceptions.

A buyer signs purchase orders, not lines, so the decision is made per PO: a PO is auto-approved
when nothing about it needs a human, and says why; otherwise it joins the review queue with the
reasons that hold it. What holds a PO (:class:`ApprovalPolicy`, every threshold configurable):

* **value**: the PO is worth more (goods + freight) than ``auto_approve_max_usd``; its value tier
  names the signing level it needs (``tier_limits_usd`` / ``tier_names``);
* **supplier risk**: the supplier's risk score is above ``high_risk_score`` and the PO is worth
  more than ``high_risk_auto_max_usd``;
* **line exceptions**, any line of the PO:

  - *substitution*: the line is bought from another supplier than the preferred one because the
    preferred one cannot serve it (need date or capacity), at a landed cost per unit more than
    ``substitution_premium`` above the preferred offer's and at least ``substitution_min_extra_usd``
    more in all;
  - *quantity anomaly*: the line orders far more than recent sales justify. Recent sales are the
    item's winsorised mean daily units over the last ``history_days`` (days above the window's
    ``winsor_quantile`` are cut to it, so a few spiked days cannot lift it) times the line's lead
    time + review period. A line is held when its quantity exceeds ``anomaly_factor`` times the
    larger of that and the forecast over the same period (the plan rests on neither source), or
    when the forecast itself is more than ``anomaly_factor`` times recent sales and the quantity is
    too (the plan rests on a forecast the sales do not back: a poisoned or broken POS feed, or a
    real jump a human should confirm). MOQ and pack rounding are never an anomaly, and an excess
    worth less than ``anomaly_min_excess_usd`` is ignored.

The review queue ranks held POs by what is at stake: value x (1 + supplier risk) x the largest
line anomaly ratio (at least 1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from procurement.policy import ForecastSums, forecast_cumsums

__all__ = [
    "ApprovalPolicy",
    "DEFAULT_POLICY",
    "demand_references",
    "line_exceptions",
    "assess_purchase_orders",
    "po_versions",
    "review_queue",
    "queue_summary",
]


@dataclass(frozen=True)
class ApprovalPolicy:
    """When a purchase order needs a human, and who.

    Attributes:
        auto_approve_max_usd: a PO worth up to this (goods + freight) is auto-approved when nothing
            else holds it.
        tier_limits_usd: upper PO values of the signing tiers above the auto-approval limit.
        tier_names: one name per tier, plus one for POs above the last limit.
        high_risk_score: a supplier risk score above this holds the PO ...
        high_risk_auto_max_usd: ... when the PO is worth more than this.
        substitution_premium: a line from a substitute supplier (the preferred one cannot serve it)
            is held when its landed cost per unit exceeds the preferred offer's by more than this share ...
        substitution_min_extra_usd: ... and the line costs at least this much more in all.
        anomaly_factor: k of the quantity anomaly guard.
        anomaly_min_excess_usd: excess (quantity above the justified one x the line's goods and
            freight per unit) below which an anomaly is not worth a human's time.
        history_days: days of sales before the as-of date behind the recent-sales rate.
        winsor_quantile: each day's units are cut to this quantile of the window before the mean.
    """

    auto_approve_max_usd: float = 75_000.0
    tier_limits_usd: tuple[float, ...] = (150_000.0,)
    tier_names: tuple[str, ...] = ("buyer", "category manager")
    high_risk_score: float = 0.7
    high_risk_auto_max_usd: float = 10_000.0
    substitution_premium: float = 0.5
    substitution_min_extra_usd: float = 1_000.0
    anomaly_factor: float = 3.0
    anomaly_min_excess_usd: float = 100.0
    history_days: int = 28
    winsor_quantile: float = 0.9

    def __post_init__(self) -> None:
        if len(self.tier_names) != len(self.tier_limits_usd) + 1:
            raise ValueError(f"tier_names needs one name per tier limit plus one above the last: "
                             f"{len(self.tier_limits_usd)} limits, {len(self.tier_names)} names")
        if list(self.tier_limits_usd) != sorted(self.tier_limits_usd) or any(
                t <= self.auto_approve_max_usd for t in self.tier_limits_usd):
            raise ValueError(f"tier_limits_usd {list(self.tier_limits_usd)} must rise and lie above "
                             f"auto_approve_max_usd {self.auto_approve_max_usd:g}")
        if self.anomaly_factor <= 1:
            raise ValueError(f"anomaly_factor must be above 1, got {self.anomaly_factor:g}")
        if not 0.5 <= self.winsor_quantile <= 1:
            raise ValueError(f"winsor_quantile must be in [0.5, 1], got {self.winsor_quantile:g}")
        if self.history_days < 7:
            raise ValueError(f"history_days must be at least 7, got {self.history_days}")


DEFAULT_POLICY = ApprovalPolicy()


def _fmt(x: pd.Series, digits: int = 0) -> pd.Series:
    return x.round(digits).map(f"{{:,.{digits}f}}".format)


def demand_references(
    lines: pd.DataFrame,
    forecast: pd.DataFrame | None,
    history: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    review_days: pd.Series | int,
    policy: ApprovalPolicy = DEFAULT_POLICY,
    store_col: str = "ship_to",
    item_col: str = "item_id",
    cumsums: ForecastSums | None = None,
) -> pd.DataFrame:
    """Forecast and recent sales over each line's lead time + review period.

    Args:
        lines: PO lines with ``ship_to, item_id, lead_time_days``.
        forecast: the ``forecast`` table (``store_id, item_id, date, yhat`` and quantiles); None = unknown.
        history: daily sales ``store_id, item_id, date, units`` (at least the last ``history_days``);
            None = unknown, and the quantity anomaly guard holds nothing.
        as_of: decision date; forecast day 1 is ``as_of + 1``.
        review_days: review period per line (or one number).
        policy: the window and winsorising quantile of the recent-sales rate.
        cumsums: ``forecast_cumsums(forecast, as_of=as_of)`` when the caller has it (built here otherwise).

    Returns:
        Frame on ``lines.index``: ``protect_days, forecast_units, history_units, history_daily``.
    """
    as_of = pd.Timestamp(as_of)
    protect = (lines["lead_time_days"].fillna(0) + review_days).clip(lower=1).astype(int).to_numpy()
    key = pd.MultiIndex.from_arrays([lines[store_col].astype(str), lines[item_col].astype(str)])
    fc_units = np.full(len(lines), np.nan)
    if forecast is not None and len(forecast):
        cums = cumsums if cumsums is not None else forecast_cumsums(forecast, as_of=as_of)
        row = cums.rows(key)
        # a series without forecast counts 0 units; past its last day its mean day is carried
        # forward, as the plan does
        fc_units = np.where(row >= 0, cums.over_first(row, protect)[0], 0.0)
    if history is None:
        return pd.DataFrame({"protect_days": protect, "forecast_units": fc_units.round(2), "history_units": np.nan,
                             "history_daily": np.nan}, index=lines.index)
    window = history[(history["date"] > as_of - pd.Timedelta(days=policy.history_days)) & (history["date"] <= as_of)]
    daily = _winsorised_sums(window, ["store_id", "item_id"], "units", policy.winsor_quantile)
    # days without a row sold nothing: the mean is over the whole window
    daily = daily / policy.history_days
    daily.index = daily.index.set_levels([lvl.astype(str) for lvl in daily.index.levels])
    rate = daily.reindex(key).fillna(0.0).to_numpy()
    return pd.DataFrame({"protect_days": protect, "forecast_units": fc_units.round(2),
                         "history_units": (rate * protect).round(2), "history_daily": rate.round(4)},
                        index=lines.index)


def _winsorised_sums(rows: pd.DataFrame, keys: list[str], value: str, q: float) -> pd.Series:
    """Per group of ``keys``, the sum of ``value`` with each value cut to its group's ``q`` quantile
    (linear interpolation, as pandas' grouped ``quantile``; missing values left out).

    One sort of (group, value) gives every group's quantile at once: pandas' grouped quantile
    and a second grouping of the same rows took 0.2-1 s on the full-M5 window of 850,000 rows.
    """
    grouped = rows.groupby(keys, observed=True, sort=True)
    index = grouped.size().index
    codes = grouped.ngroup().to_numpy(dtype=np.float64)  # NaN: a row without keys, in no group
    values = rows[value].to_numpy(dtype=np.float64)
    present = ~np.isnan(values) & ~np.isnan(codes)
    codes, values = codes[present].astype(np.int64), values[present]
    if not len(values):
        return pd.Series(np.zeros(len(index)), index=index, name=value)
    ranked = values[np.lexsort((values, codes))]
    counts = np.bincount(codes, minlength=len(index))
    starts = np.cumsum(counts) - counts
    at = q * np.maximum(counts - 1, 0)  # the quantile's rank within its group
    rank = np.floor(at)
    last = len(ranked) - 1  # a group with no values reads any row: its cap is never used
    below = ranked[np.minimum(starts + rank.astype(np.int64), last)]
    above = ranked[np.minimum(starts + np.ceil(at).astype(np.int64), last)]
    cap = below + (above - below) * (at - rank)
    sums = np.bincount(codes, weights=np.minimum(values, cap[codes]), minlength=len(index))
    return pd.Series(sums, index=index, name=value)


def _pack_ceil(qty: pd.Series, pack: pd.Series) -> pd.Series:
    pack = pack.fillna(1).clip(lower=1)
    return np.ceil(qty / pack) * pack


def line_exceptions(lines: pd.DataFrame, refs: pd.DataFrame, policy: ApprovalPolicy = DEFAULT_POLICY) -> pd.DataFrame:
    """Per line: justified quantity, anomaly ratio and the exception (empty when none).

    Args:
        lines: PO lines (``qty, unit_cost, moq, pack_size, supplier_id, preferred_supplier,
            substitution, landed_cost, preferred_landed_cost``).
        refs: :func:`demand_references` of the lines.
        policy: thresholds.

    Returns:
        Frame on ``lines.index``: ``justified_qty, anomaly_ratio, anomaly, substitution_hold,
        line_exception``.
    """
    k = policy.anomaly_factor
    # an unknown forecast counts as zero; without recent sales the guard has nothing to judge by
    fc, known = refs["forecast_units"].fillna(0.0), refs["history_units"].notna()
    hist = refs["history_units"].fillna(0.0)
    moq = _pack_ceil(lines["moq"].fillna(0), lines["pack_size"])
    # the plan rests on neither source, or on a forecast that recent sales do not back
    forecast_jump = fc > k * hist
    basis = pd.Series(np.where(forecast_jump, hist, np.maximum(fc, hist)), index=lines.index)
    justified = np.maximum(moq, _pack_ceil(k * basis, lines["pack_size"]))
    qty = lines["qty"].astype(float)
    # the excess is worth its goods and freight: what would be spent on it
    per_unit = (lines["order_value"] / qty.where(qty > 0)).fillna(lines["unit_cost"]).fillna(0)
    excess_usd = (qty - justified).clip(lower=0) * per_unit
    anomaly = (qty > justified) & (excess_usd >= policy.anomaly_min_excess_usd) & known
    ratio = (qty / basis.clip(lower=1.0)).where(known)
    split = _split_need(lines, qty=qty.where(known, 0.0), basis=basis.where(known), justified=justified.where(known),
                        moq=moq.where(known, 0.0), value=(qty * per_unit).where(known, 0.0), policy=policy)
    # a need split across suppliers is judged as a whole: each line may pass while their sum does not
    anomaly = anomaly | (split["anomaly"] & known & (qty > 0))
    ratio = np.fmax(ratio, split["ratio"]).where(known)
    justified = justified.where(known).round().astype("Int64")
    premium = lines["landed_cost"] / lines["preferred_landed_cost"] - 1
    substituted = lines["substitution"].fillna("").str.match(r"preferred .* (lead time|out of capacity)")
    extra_usd = (lines["landed_cost"] - lines["preferred_landed_cost"]) * lines["qty"]
    sub_hold = substituted & (premium > policy.substitution_premium) & (extra_usd >= policy.substitution_min_extra_usd)
    days = refs["protect_days"].astype(str)
    text = np.select(
        [anomaly & forecast_jump, anomaly],
        [lines["item_id"] + ": qty " + _fmt(qty) + split["note"] + " is " + _fmt(ratio, 1) + "x recent sales (" + _fmt(hist, 1)
         + " units over " + days + " days) and the forecast (" + _fmt(fc, 1) + ") is above " + f"{k:g}x sales: "
         "check the POS feed or confirm the jump",
         lines["item_id"] + ": qty " + _fmt(qty) + split["note"] + " is " + _fmt(ratio, 1) + "x the larger of forecast ("
         + _fmt(fc, 1) + ") and recent sales (" + _fmt(hist, 1) + ") over " + days + " days"],
        "",
    )
    sub_text = np.where(sub_hold, lines["item_id"] + ": substitute supplier " + lines["supplier_id"] + " costs "
                        + _fmt(premium * 100) + "% more per unit landed than preferred "
                        + lines["preferred_supplier"].fillna("?") + " (" + _fmt(extra_usd) + " USD more)", "")
    both = np.where((text != "") & (sub_text != ""), "; ", "")
    return pd.DataFrame({
        "justified_qty": justified, "anomaly_ratio": ratio.round(2), "anomaly": anomaly.to_numpy(),
        "substitution_hold": sub_hold.to_numpy(),
        "line_exception": pd.Series(text, index=lines.index) + both + sub_text,
    }, index=lines.index)


def _split_need(lines: pd.DataFrame, *, qty: pd.Series, basis: pd.Series, justified: pd.Series, moq: pd.Series,
                value: pd.Series, policy: ApprovalPolicy) -> pd.DataFrame:
    """The anomaly guard over all lines of one item to one store (a need the allocation split).

    The whole is justified up to the largest line's justified quantity, or the sum of the lines'
    MOQs when the split itself forced more; its excess is valued at the lines' mean value per unit.

    Returns:
        Frame on ``lines.index``: ``anomaly`` (of the whole), ``ratio`` (its quantity over the
        largest basis) and ``note`` (" (N in all over K lines to S)" where K > 1, else "").
    """
    keys = [lines["ship_to"].astype(str), lines["item_id"].astype(str)]
    total = qty.groupby(keys).transform("sum")
    count = (qty > 0).groupby(keys).transform("sum")
    whole_justified = np.maximum(justified.groupby(keys).transform("max"), moq.groupby(keys).transform("sum"))
    per_unit = value.groupby(keys).transform("sum") / total.where(total > 0)
    excess_usd = (total - whole_justified).clip(lower=0) * per_unit.fillna(0)
    anomaly = (count > 1) & (total > whole_justified) & (excess_usd >= policy.anomaly_min_excess_usd)
    ratio = total / basis.groupby(keys).transform("max").clip(lower=1.0)
    note = np.where(count > 1, " (" + _fmt(total) + " in all over " + count.astype(int).astype(str) + " lines to "
                    + lines["ship_to"].astype(str) + ")", "")
    return pd.DataFrame({"anomaly": anomaly.fillna(False).astype(bool), "ratio": ratio.where(count > 1),
                         "note": note}, index=lines.index)


def po_versions(lines: pd.DataFrame) -> pd.Series:
    """Per line, the version of its PO: a hash of the PO's lines' content.

    Content is what the supplier would receive: supplier, item, ship-to, quantity, unit cost and
    expected arrival. Statuses, reasons and line order do not change the version.
    """
    arrival = pd.to_datetime(lines["expected_arrival"]).dt.strftime("%Y-%m-%d").fillna("")
    content = (lines["supplier_id"].fillna("").astype(str) + "|" + lines["item_id"].astype(str) + "|"
               + lines["ship_to"].astype(str) + "|" + lines["qty"].astype("int64").astype(str) + "|"
               + lines["unit_cost"].round(4).astype(str) + "|" + arrival)
    ordered = content.groupby(lines["po_id"]).agg(lambda s: "\n".join(sorted(s)))
    digest = ordered.map(lambda text: hashlib.sha1(text.encode()).hexdigest()[:12])
    return lines["po_id"].map(digest)


def _tiers(value: pd.Series, policy: ApprovalPolicy) -> pd.Series:
    idx = np.searchsorted(np.asarray(policy.tier_limits_usd), value.to_numpy(), side="left")
    return pd.Series(np.asarray(policy.tier_names, dtype=object)[idx], index=value.index)


def assess_purchase_orders(lines: pd.DataFrame, refs: pd.DataFrame,
                           policy: ApprovalPolicy = DEFAULT_POLICY) -> pd.DataFrame:
    """Approval status per PO (repeated on its lines), with the reason a buyer reads.

    Args:
        lines: PO lines (``po_id, order_value, risk_score`` and what :func:`line_exceptions` reads);
            rejected lines (no feasible offer) keep their status.
        refs: :func:`demand_references` of the lines.
        policy: thresholds.

    Returns:
        Frame on ``lines.index``: ``status, approval_reason, approval_tier, line_hold,
        line_exception, justified_qty, anomaly_ratio, forecast_units, history_units, po_version,
        at_stake_usd``.
    """
    rejected = lines["status"].eq("rejected") if "status" in lines else pd.Series(False, index=lines.index)
    exc = line_exceptions(lines, refs, policy)
    exc.loc[rejected, ["anomaly", "substitution_hold"]] = False
    exc.loc[rejected, "line_exception"] = ""
    hold = exc["anomaly"] | exc["substitution_hold"]
    po = lines["po_id"]
    value = lines["order_value"].fillna(0).groupby(po).transform("sum")
    risk = lines["risk_score"].fillna(0).groupby(po).transform("max")
    n_held = hold.groupby(po).transform("sum").astype(int)
    n_anom = exc["anomaly"].groupby(po).transform("sum").astype(int)
    n_sub = exc["substitution_hold"].groupby(po).transform("sum").astype(int)
    max_ratio = exc["anomaly_ratio"].where(exc["anomaly"], 1.0).groupby(po).transform("max").clip(lower=1.0)

    over_value = value > policy.auto_approve_max_usd
    risky = (risk > policy.high_risk_score) & (value > policy.high_risk_auto_max_usd)
    needs = (over_value | risky | (n_held > 0)) & ~rejected
    tier = np.where(needs, _tiers(value, policy), "auto")
    holds = pd.DataFrame({
        "value": np.where(over_value, "PO value " + _fmt(value) + " USD over the auto-approval limit "
                          + f"{policy.auto_approve_max_usd:,.0f}", ""),
        "risk": np.where(risky, "supplier risk " + risk.round(2).astype(str) + f" above {policy.high_risk_score:g}", ""),
        "anomaly": np.where(n_anom > 0, n_anom.astype(str) + " line(s) held by the quantity anomaly guard", ""),
        "subst": np.where(n_sub > 0, n_sub.astype(str) + " line(s) from a dearer substitute supplier", ""),
    }, index=lines.index)
    held_text = holds.apply(lambda col: col.where(col == "", col + "; ")).sum(axis=1).str.rstrip("; ")
    # a risky supplier is let through only by the small-PO allowance: say which of the two held
    risk_text = np.where(risk > policy.high_risk_score,
                         "supplier risk " + risk.round(2).astype(str) + f" above {policy.high_risk_score:g} but PO within "
                         + f"{policy.high_risk_auto_max_usd:,.0f} USD",
                         "supplier risk " + risk.round(2).astype(str) + f" within {policy.high_risk_score:g}")
    auto_text = ("auto-approved: PO value " + _fmt(value) + f" USD within {policy.auto_approve_max_usd:,.0f}, "
                 + risk_text + f", no line above {policy.anomaly_factor:g}x what forecast "
                 "and recent sales justify, no dearer substitute")
    reason = np.where(rejected, "no feasible offer: nothing to approve",
                      np.where(needs, "needs " + pd.Series(tier, index=lines.index) + " approval: " + held_text, auto_text))
    status = np.where(rejected, "rejected", np.where(needs, "needs_approval", "auto_approved"))
    return pd.DataFrame({
        "status": status, "approval_reason": reason, "approval_tier": tier, "line_hold": hold.to_numpy(),
        "line_exception": exc["line_exception"], "justified_qty": exc["justified_qty"],
        "anomaly_ratio": exc["anomaly_ratio"], "forecast_units": refs["forecast_units"],
        "history_units": refs["history_units"], "po_version": po_versions(lines),
        "at_stake_usd": (value * (1 + risk) * max_ratio).round(2),
    }, index=lines.index)


_QUEUE_STATUSES = ("needs_approval",)


def review_queue(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per PO: value, status, reason, held lines and what is at stake, ranked.

    Args:
        lines: PO lines with the :func:`assess_purchase_orders` columns (``status`` may already be
            the status after decisions, see :func:`procurement.review.current_status`).

    Returns:
        ``po_id, supplier_id, ship_to, order_date, expected_arrival, lines, held_lines, value_usd,
        risk_score, max_anomaly_ratio, at_stake_usd, approval_tier, po_version, status, reason,
        line_exceptions, rank`` sorted by rank (POs needing approval first, most at stake first).
    """
    g = lines.groupby("po_id", sort=False)
    out = g.agg(
        supplier_id=("supplier_id", "first"), ship_to=("ship_to", "first"), order_date=("order_date", "first"),
        expected_arrival=("expected_arrival", "max"), lines=("item_id", "size"), held_lines=("line_hold", "sum"),
        value_usd=("order_value", "sum"), risk_score=("risk_score", "max"),
        max_anomaly_ratio=("anomaly_ratio", "max"), at_stake_usd=("at_stake_usd", "first"),
        approval_tier=("approval_tier", "first"), po_version=("po_version", "first"), status=("status", "first"),
        reason=("approval_reason", "first"),
    ).reset_index()
    # the worst anomalies first: a buyer reads the top of the list
    held = lines.loc[lines["line_exception"].fillna("") != ""].sort_values("anomaly_ratio", ascending=False)
    exceptions = held.groupby("po_id", sort=False)["line_exception"].agg(
        lambda s: " | ".join(s.head(5)) + (f" | ... {len(s) - 5} more" if len(s) > 5 else ""))
    out["line_exceptions"] = out["po_id"].map(exceptions).fillna("")
    out["value_usd"] = out["value_usd"].fillna(0).round(2)
    out["held_lines"] = out["held_lines"].astype(int)
    waiting = out["status"].isin(_QUEUE_STATUSES)
    out = out.assign(_w=~waiting).sort_values(["_w", "at_stake_usd", "po_id"], ascending=[True, False, True])
    out["rank"] = np.arange(1, len(out) + 1)
    return out.drop(columns="_w").reset_index(drop=True)


def queue_summary(lines: pd.DataFrame) -> dict[str, float | int]:
    """What a buyer faces: POs and lines needing a human, queue length, share of spend auto-approved."""
    placed = lines[lines["status"] != "rejected"]
    pos = placed.groupby("po_id").agg(status=("status", "first"), value=("order_value", "sum"))
    spend = float(pos["value"].sum())
    auto = float(pos.loc[pos["status"] == "auto_approved", "value"].sum())
    waiting = pos["status"] == "needs_approval"
    return {
        "purchase_orders": len(pos), "pos_needing_approval": int(waiting.sum()),
        "lines": len(placed), "lines_needing_approval": int((placed["status"] == "needs_approval").sum()),
        "lines_held_by_exception": int(placed["line_hold"].sum()) if "line_hold" in placed else 0,
        "spend_usd": round(spend, 2), "auto_approved_spend_share": round(auto / spend, 4) if spend else 0.0,
    }
