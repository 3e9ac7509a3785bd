"""Day-by-day replay of replenishment policies against real demand after the as-of date.

Three policies start from the same stock (``replenishment_proposals.on_hand``/``on_order``) and
face the same real daily demand and the same lead-time draws (a fixed seed). Each review's lead time is
drawn from the real lead times of the supplier's lane (a bootstrap of its USAID shipment lines, on the
catalogue's compressed day scale, rounded, at least 1 day) when ``lead_time_samples`` are given;
otherwise, or for a lane without samples, round(Normal(lead_time_days, lead_time_std_days)), at least 1 day:

* ``supplycast``: the stored (R, s, S) policy: at each review (day 0 = as-of, then every R days) the
  reorder point and order-up-to level are recomputed from the stored forecast quantiles over the
  protection period with the stored service target (the same variance as the plan:
  ``procurement.policy.forecast_variance``); day 0 places exactly the stored proposal;
* ``snaive_base_stock``: a base-stock policy whose forecast is seasonal naive (the same weekday
  one week earlier) with the same service target; its demand spread is the spread of the
  seasonal-naive errors in the history, scaled by the square root of the protection period;
* ``oracle``: perfect foresight: orders exactly the real demand of the protection period.

Stock on order at the start is the steady-state pipeline of the planned lane (see
``procurement.catalogue.synthetic_inventory``): it lands in equal daily parts over the planned
lead time. Every KPI is reported twice: over all days, and over each series' days from the
first day an order placed at the as-of review can land (its day-0 lead-time draw, the same for
the three policies; the ``_after_arrival`` columns): before that day no policy's decision can
change anything, so those days measure the starting stock, not the policy.

:func:`replay_frontier` sweeps the service target of ``supplycast`` and ``snaive_base_stock`` (one
level for every series) under those same conditions, re-planning from the stored forecast, its
quantiles and the history at every review, and :func:`matched_fill` reads off the seasonal-naive
stock needed for each supplycast fill rate.

Unmet demand is lost. Costs: holding = on-hand at end of day x unit cost x annual rate / 365;
stock-out = lost units x lost gross margin per unit; ordering = a fixed cost per order line.
The simulation loops over days; every day is one vectorised step over all series.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from procurement.landed_cost import DEFAULT_COSTS
from procurement.policy import forecast_variance

__all__ = ["ReplayParams", "DEFAULT_REPLAY", "load_actuals", "replay", "replay_frontier", "service_levels", "matched_fill",
           "ActualsError", "POLICIES", "FRONTIER_POLICIES", "DEFAULT_LEVELS"]

POLICIES = ("supplycast", "snaive_base_stock", "oracle")
# the policies whose service target the frontier sweeps
FRONTIER_POLICIES = ("supplycast", "snaive_base_stock")
DEFAULT_LEVELS = (0.80, 0.85, 0.90, 0.95, 0.975, 0.99, 0.995)


class ActualsError(ValueError):
    """The actuals file cannot be replayed; the message names the file and column."""


@dataclass(frozen=True)
class ReplayParams:
    """Seed of the lead-time draws and the money rates; holding and stock-out rates default to the
    allocation's (``DEFAULT_COSTS``), so the replay prices stock the way the orders were chosen."""

    seed: int = 2016
    holding_rate_annual: float = DEFAULT_COSTS.holding_rate_annual
    stockout_margin: float = DEFAULT_COSTS.stockout_margin
    order_cost: float = 2.0


DEFAULT_REPLAY = ReplayParams()


def load_actuals(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Real daily demand from a POS file (canonical ``store_id, item_id, date, units`` or M5 long
    ``item_id, store_id, date, sales``), as parquet or CSV.

    Returns:
        ``(actuals, quarantined)``: clean rows ``store_id, item_id, date, units`` and rows that
        cannot be used (missing keys, missing or negative units) with a ``reason``.
    """
    path = Path(path)
    if not path.exists():
        raise ActualsError(f"actuals file {path} does not exist")
    raw = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    target = "units" if "units" in raw.columns else "sales"
    missing = [c for c in ("store_id", "item_id", "date", target) if c not in raw.columns]
    if missing:
        raise ActualsError(
            f"actuals file {path}: missing column(s) {missing} in {len(raw):,} rows; expected canonical "
            "(store_id, item_id, date, units) or M5 long (item_id, store_id, date, sales)"
        )
    df = raw[["store_id", "item_id", "date", target]].rename(columns={target: "units"})
    df["date"] = pd.to_datetime(df["date"], errors="coerce")
    units = pd.to_numeric(df["units"], errors="coerce")
    reason = np.select(
        [df[["store_id", "item_id", "date"]].isna().any(axis=1), units.isna(), units < 0],
        ["missing store_id, item_id or date", f"missing or non-numeric {target}", f"negative {target}"], "",
    )
    bad = reason != ""
    quarantined = raw[bad].astype(str).assign(reason=reason[bad], source_file=str(path))
    clean = df[~bad].assign(units=units[~bad].astype(float))
    return clean.reset_index(drop=True), quarantined.reset_index(drop=True)


def _matrix(frame: pd.DataFrame, index: pd.MultiIndex, days: pd.DatetimeIndex, col: str) -> np.ndarray:
    wide = frame.pivot_table(index=["store_id", "item_id"], columns="date", values=col, aggfunc="sum")
    return wide.reindex(index=index, columns=days).to_numpy(dtype=float)


@dataclass(frozen=True)
class _Setup:
    """Everything the policies share: demand, forecasts, suppliers, lead-time draws, starting stock."""

    as_of: pd.Timestamp
    days: pd.DatetimeIndex
    demand: np.ndarray
    covered: np.ndarray
    cum_mu: np.ndarray
    cum_var: np.ndarray
    cum_sn: np.ndarray
    cum_or: np.ndarray
    snaive_sd: np.ndarray
    lead: np.ndarray
    lead_sd: np.ndarray
    pack: np.ndarray
    moq: np.ndarray
    stored_order: np.ndarray
    review: int
    reviews: list[int]
    draws: np.ndarray
    cost: np.ndarray
    on_hand: np.ndarray
    on_order: np.ndarray
    plan_pipeline: np.ndarray
    after: np.ndarray
    first_arrival: np.ndarray


def _prepare(
    proposals: pd.DataFrame, forecast: pd.DataFrame, history: pd.DataFrame, actuals: pd.DataFrame,
    unit_cost: pd.Series, *, supply: pd.DataFrame | None, lead_time_samples: pd.DataFrame | None,
    params: ReplayParams,
) -> _Setup:
    """The shared conditions of every simulated policy (see :func:`replay` for the arguments)."""
    as_of = pd.Timestamp(proposals["as_of"].iloc[0])
    act = actuals[actuals["date"] > as_of]
    if act.empty:
        raise ActualsError(f"actuals hold no day after the as-of date {as_of:%Y-%m-%d}")
    days = pd.date_range(as_of + pd.Timedelta(days=1), act["date"].max(), freq="D")
    index = pd.MultiIndex.from_frame(proposals[["store_id", "item_id"]])
    demand = np.nan_to_num(_matrix(act, index, days, "units"))
    covered = (~np.isnan(_matrix(act, index, days, "units"))).any(axis=1)
    n, horizon = demand.shape
    fc = forecast[forecast["date"] > as_of]
    fc_days = pd.date_range(days[0], periods=max(horizon, 1) + 60, freq="D")
    mu = _matrix(fc, index, fc_days, "yhat")
    var = _matrix(fc.assign(_var=forecast_variance(fc)), index, fc_days, "_var")
    # beyond the forecast horizon, carry each series' mean forward
    mu = np.where(np.isnan(mu), np.nanmean(mu, axis=1, keepdims=True), mu)
    var = np.where(np.isnan(var), np.nanmean(var, axis=1, keepdims=True), var)
    mu, var = np.nan_to_num(mu), np.nan_to_num(var)

    hist_days = pd.date_range(as_of - pd.Timedelta(days=27), as_of, freq="D")
    raw = _matrix(history[history["date"] <= as_of], index, hist_days, "units")
    # days before a series' first history row are unknown, not zero sales (a 2-week series has no
    # weekly differences from its first week); a day missing after it is a day without sales
    started = np.cumsum(~np.isnan(raw), axis=1) > 0
    hist = np.where(started, np.nan_to_num(raw), np.nan)
    last_week = np.nan_to_num(hist[:, -7:])
    snaive = np.tile(last_week, (1, (fc.shape[0] and len(fc_days)) // 7 + 2))[:, : len(fc_days)]
    err = hist[:, 7:] - hist[:, :-7]
    n_err = (~np.isnan(err)).sum(axis=1)
    valid = (np.nansum(hist, axis=1) > 0) & (n_err > 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.nanstd(np.where(valid[:, None], err, 0.0), axis=1, ddof=1)
    snaive_sd = np.where(valid, spread, 0.0)
    oracle_demand = np.concatenate([demand, np.zeros((n, len(fc_days) - horizon))], axis=1)
    # beyond the replay window the oracle assumes the last real week repeats
    if len(fc_days) > horizon and horizon >= 7:
        reps = np.tile(demand[:, -7:], (1, (len(fc_days) - horizon) // 7 + 1))[:, : len(fc_days) - horizon]
        oracle_demand[:, horizon:] = reps

    lead = proposals["lead_time_days"].to_numpy(dtype=float)
    lead_sd = proposals["lead_time_std_days"].fillna(0).to_numpy(dtype=float)
    stored_order = proposals["order_qty"].to_numpy(dtype=float)
    supplier = proposals["supplier_id"] if "supplier_id" in proposals else pd.Series(pd.NA, index=proposals.index)
    supplier = supplier.to_numpy(dtype=object)
    if supply is not None:
        sup = supply.set_index(["store_id", "item_id"]).reindex(index)
        has = sup["lead_time_days"].notna().to_numpy()
        lead = np.where(has, sup["lead_time_days"].to_numpy(dtype=float), lead)
        lead_sd = np.where(has, sup["lead_time_std_days"].fillna(0).to_numpy(dtype=float), lead_sd)
        stored_order = sup["po_qty"].fillna(0).to_numpy(dtype=float)
        if "supplier_id" in sup:
            supplier = np.where(has, sup["supplier_id"].to_numpy(dtype=object), supplier)
        pack = np.where(has, sup["pack_size"].fillna(1).to_numpy(dtype=float), 1.0)
        moq = np.where(has, sup["moq"].fillna(1).to_numpy(dtype=float), 1.0)
    else:
        pack = moq = np.ones(len(proposals))
    review = int(proposals["review_days"].iloc[0])
    reviews = list(range(0, horizon, review))
    rng = np.random.default_rng(params.seed)
    draws = np.round(lead[:, None] + lead_sd[:, None] * rng.standard_normal((n, len(reviews))))
    if lead_time_samples is not None:
        draws = _bootstrap_lead_times(rng.random((n, len(reviews))), supplier, lead_time_samples, fallback=draws)
    draws = np.maximum(1, draws).astype(int)
    cost = proposals["item_id"].map(unit_cost).fillna(unit_cost.median()).to_numpy(dtype=float)
    cum = lambda m: np.concatenate([np.zeros((n, 1)), np.cumsum(m, axis=1)], axis=1)  # noqa: E731
    # the first day an order placed at the as-of review can be on the shelf (the same draw for every
    # policy): before it, no policy's decision can change anything
    first_arrival = draws[:, 0] - 1
    return _Setup(
        as_of=as_of, days=days, demand=demand, covered=covered, cum_mu=cum(mu), cum_var=cum(var),
        cum_sn=cum(snaive), cum_or=cum(oracle_demand), snaive_sd=snaive_sd, lead=lead, lead_sd=lead_sd,
        pack=pack, moq=moq, stored_order=stored_order, review=review, reviews=reviews, draws=draws, cost=cost,
        on_hand=proposals["on_hand"].to_numpy(dtype=float), on_order=proposals["on_order"].to_numpy(dtype=float),
        plan_pipeline=proposals["lead_time_days"].to_numpy(dtype=float).clip(min=1).astype(int),
        after=np.arange(horizon)[None, :] >= first_arrival[:, None], first_arrival=first_arrival,
    )


def _targets(sim: _Setup, policy: str, z: np.ndarray, t: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(reorder point, order-up-to level) of ``policy`` at the review of day t (the k-th review)."""
    rows = np.arange(len(sim.lead))

    def window(c: np.ndarray, start: int, length: np.ndarray) -> np.ndarray:
        end = np.minimum(start + length, c.shape[1] - 1)
        return c[rows, end] - c[:, start]

    protect = sim.lead.astype(int) + sim.review
    if policy == "supplycast":
        m_p = window(sim.cum_mu, t, protect)
        daily = m_p / protect
        ss = np.ceil(z * np.sqrt(window(sim.cum_var, t, protect) + daily**2 * sim.lead_sd**2))
        big_s = np.ceil(m_p + ss)
        return big_s - np.maximum(1, np.ceil(daily)), big_s
    if policy == "snaive_base_stock":
        m_p = window(sim.cum_sn, t, protect)
        daily = m_p / protect
        ss = np.ceil(z * np.sqrt(sim.snaive_sd**2 * protect + daily**2 * sim.lead_sd**2))
        level = np.ceil(m_p + ss)
        return level, level
    # perfect foresight of demand and of lead times: cover until the next order lands
    nxt = sim.draws[:, min(k + 1, sim.draws.shape[1] - 1)]
    level = window(sim.cum_or, t, np.maximum(sim.draws[:, k], nxt + sim.review))
    return level, level


def _simulate(sim: _Setup, policy: str, z: np.ndarray, params: ReplayParams, *,
              first_order: np.ndarray | None = None) -> tuple[dict, list[dict]]:
    """Run one policy day by day over all series at once.

    Args:
        sim: The shared conditions (:func:`_prepare`).
        policy: One of :data:`POLICIES`.
        z: Safety factor per series (ignored by the oracle).
        params: Seed and cost parameters.
        first_order: Units to order at the as-of review instead of the policy's own order (the
            stored proposal, as the buyer would place it).

    Returns:
        ``(kpis, daily)``: the KPI row (without the cross-policy columns) and one dict per day.
    """
    n, horizon = sim.demand.shape
    rows = np.arange(n)
    on_hand = sim.on_hand.copy()
    pipeline = np.zeros((n, horizon + int(max(sim.draws.max(), sim.plan_pipeline.max())) + 2))
    # stock already on order is the steady-state pipeline of the planned lane: what was ordered
    # for each of its last L days of demand lands in equal daily parts over the next L days
    pipeline += _spread(sim.on_order, sim.plan_pipeline, pipeline.shape[1])
    n_orders = 0
    held, sold, short = np.zeros((n, horizon)), np.zeros((n, horizon)), np.zeros((n, horizon))
    daily_rows = []
    for t in range(horizon):
        if t in sim.reviews:
            k = sim.reviews.index(t)
            position = on_hand + pipeline[:, t:].sum(axis=1)
            s_level, big_s = _targets(sim, policy, z, t, k)
            if first_order is not None and t == 0:
                order = first_order
            else:
                order = np.where(position <= s_level, np.maximum(big_s - position, 0), 0)
                # every policy buys from the same offer, so MOQ and packs bind all alike
                order = np.where(order > 0, np.ceil(np.maximum(order, sim.moq) / sim.pack) * sim.pack, 0)
            order = np.where(sim.covered, order, 0)
            # the review of day t happens the evening before (day 0: the as-of evening), so an
            # order with lead time L is on the shelf at the start of day t + L - 1
            pipeline[rows, t + sim.draws[:, k] - 1] += order
            n_orders += int((order > 0).sum())
        on_hand += pipeline[:, t]
        served = np.minimum(on_hand, sim.demand[:, t])
        on_hand -= served
        sold[:, t], short[:, t], held[:, t] = served, sim.demand[:, t] - served, on_hand
        daily_rows.append({"policy": policy, "date": sim.days[t], "demand": sim.demand[:, t].sum(),
                           "served": served.sum(), "lost": short[:, t].sum(), "on_hand_units": on_hand.sum(),
                           "series_after_first_arrival": int(sim.after[:, t].sum())})
    row = {"policy": policy, **_window_kpis(sold, short, held, sim.cost, np.ones_like(sim.after), params)}
    row.update({f"{k}_after_arrival": v for k, v in
                _window_kpis(sold, short, held, sim.cost, sim.after, params).items() if k != "ordering_cost"})
    row.update({"ordering_cost": n_orders * params.order_cost, "orders": n_orders, "days": horizon,
                "series": int(sim.covered.sum()), "first_arrival_day_mean": float(sim.first_arrival.mean() + 1),
                "as_of": sim.as_of, "first_day": sim.days[0], "last_day": sim.days[-1], "seed": params.seed})
    row["total_cost"] = row["holding_cost"] + row["stockout_cost"] + row["ordering_cost"]
    return row, daily_rows


def replay(
    proposals: pd.DataFrame,
    forecast: pd.DataFrame,
    history: pd.DataFrame,
    actuals: pd.DataFrame,
    unit_cost: pd.Series,
    *,
    supply: pd.DataFrame | None = None,
    lead_time_samples: pd.DataFrame | None = None,
    params: ReplayParams = DEFAULT_REPLAY,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replay the three policies.

    Args:
        proposals: ``replenishment_proposals`` (as_of, on_hand, on_order, order_qty, lead_time_days,
            lead_time_std_days, review_days, service_level).
        forecast: ``forecast`` (yhat, yhat_q50, yhat_q90, optional yhat_q10 and yhat_var) after the as-of date.
        history: real daily ``units`` up to the as-of date (for the seasonal-naive baseline).
        actuals: real daily ``units`` after the as-of date.
        unit_cost: per item_id (for the money KPIs).
        supply: the stored purchase-order proposals per store x item (``store_id, item_id, po_qty,
            lead_time_days, lead_time_std_days, pack_size, moq`` and optionally ``supplier_id`` of the
            supplier the allocation chose). When given,
            every policy is supplied by that supplier (same lead-time draws for all) and
            ``supplycast`` places exactly ``po_qty`` on day 0; otherwise the replenishment
            proposal's supplier and ``order_qty`` are used.
        lead_time_samples: real lead times per lane, ``supplier_id, lead_time_days`` (one row per
            shipment line, in catalogue days); each series draws from its supplier's (the ``supply``
            supplier, else the proposal's ``supplier_id``).
        params: seed and cost parameters.

    Returns:
        ``(kpis, daily)``: one row per policy (CONTRACTS §3 ``replay_kpis`` columns and more) and
        the daily totals per policy.
    """
    sim = _prepare(proposals, forecast, history, actuals, unit_cost, supply=supply,
                   lead_time_samples=lead_time_samples, params=params)
    z = norm.ppf(proposals["service_level"].to_numpy(dtype=float))
    kpis, daily_rows = [], []
    for policy in POLICIES:
        stored = sim.stored_order if policy == "supplycast" else None
        row, days = _simulate(sim, policy, z, params, first_order=stored)
        kpis.append(row)
        daily_rows.extend(days)
    out = pd.DataFrame(kpis)
    base = out.set_index("policy").loc["snaive_base_stock"]
    for suffix in ("", "_after_arrival"):
        ref = base[f"avg_on_hand_units{suffix}"]
        out[f"on_hand_vs_baseline{suffix}"] = out[f"avg_on_hand_units{suffix}"] / ref if ref else np.nan
    cols = ["policy", "fill_rate", "avg_on_hand_units", "stockout_units", "holding_cost", "stockout_cost", "ordering_cost",
            "total_cost", "on_hand_vs_baseline", "fill_rate_after_arrival", "avg_on_hand_units_after_arrival",
            "stockout_units_after_arrival", "holding_cost_after_arrival", "stockout_cost_after_arrival",
            "on_hand_vs_baseline_after_arrival", "demand_units_after_arrival", "orders", "demand_units", "days",
            "series", "first_arrival_day_mean", "as_of", "first_day", "last_day", "seed"]
    return out[cols], pd.DataFrame(daily_rows)


def service_levels(levels: Iterable[float]) -> list[float]:
    """The frontier's grid: the distinct levels, ascending.

    Raises:
        ValueError: a level outside [0.5, 1), or no level.
    """
    grid = sorted({float(v) for v in levels})
    bad = [v for v in grid if not 0.5 <= v < 1]
    if not grid or bad:
        raise ValueError(f"service levels must be in [0.5, 1), got {bad or 'none'}")
    return grid


def replay_frontier(
    proposals: pd.DataFrame,
    forecast: pd.DataFrame,
    history: pd.DataFrame,
    actuals: pd.DataFrame,
    unit_cost: pd.Series,
    *,
    levels: tuple[float, ...] = DEFAULT_LEVELS,
    supply: pd.DataFrame | None = None,
    lead_time_samples: pd.DataFrame | None = None,
    params: ReplayParams = DEFAULT_REPLAY,
) -> pd.DataFrame:
    """Fill rate against stock for ``supplycast`` and ``snaive_base_stock`` over a sweep of service levels.

    Every point faces the same demand, suppliers, MOQ, packs, starting stock and lead-time draws as
    :func:`replay`; only the service target changes, one level for all series. Both policies
    re-plan from what is stored (the forecast and its quantiles; the history for seasonal naive)
    at every review, the as-of review included: nothing is re-forecast, and the stored proposal's
    own order (placed at each series' class target) is not used. The oracle, which needs no
    target, is one more row with an empty ``service_level``.

    Args:
        proposals, forecast, history, actuals, unit_cost, supply, lead_time_samples, params: as
            for :func:`replay`.
        levels: Cycle service levels in [0.5, 1).

    Returns:
        One row per policy x level: ``policy, service_level, fill_rate,
        fill_rate_after_first_arrival, avg_on_hand_units, avg_on_hand_units_after_first_arrival,
        total_cost`` and the other KPIs of :func:`replay`.

    Raises:
        ValueError: a level outside [0.5, 1), or no level.
    """
    grid = service_levels(levels)
    sim = _prepare(proposals, forecast, history, actuals, unit_cost, supply=supply,
                   lead_time_samples=lead_time_samples, params=params)
    n = len(sim.lead)
    rows = []
    for level in grid:
        z = np.full(n, norm.ppf(level))
        rows += [{**_simulate(sim, policy, z, params)[0], "service_level": level} for policy in FRONTIER_POLICIES]
    rows.append({**_simulate(sim, "oracle", np.zeros(n), params)[0], "service_level": np.nan})
    out = pd.DataFrame(rows).rename(columns=lambda c: c.replace("_after_arrival", "_after_first_arrival"))
    first = ["policy", "service_level", "fill_rate", "fill_rate_after_first_arrival", "avg_on_hand_units",
             "avg_on_hand_units_after_first_arrival", "total_cost"]
    return out[first + [c for c in out.columns if c not in first]]


def matched_fill(frontier: pd.DataFrame, *, fill_col: str = "fill_rate", on_hand_col: str = "avg_on_hand_units",
                 policy: str = "supplycast", baseline: str = "snaive_base_stock") -> pd.DataFrame:
    """The baseline's stock at each of ``policy``'s fill rates, and the ratio of the two.

    The baseline's stock at a fill rate is read off its frontier by linear interpolation between
    the two points with the nearest fill rates (points sorted by fill rate; of points with the same
    fill rate, the one with less stock). A fill rate outside the baseline's range has no match
    (NaN): the curve is not extrapolated.

    Args:
        frontier: :func:`replay_frontier` rows.
        fill_col: Fill-rate column (``fill_rate`` or ``fill_rate_after_first_arrival``).
        on_hand_col: The matching stock column.
        policy: The policy whose points are matched.
        baseline: The policy whose curve is interpolated.

    Returns:
        Per ``policy`` point: ``service_level, fill_rate, on_hand, baseline_on_hand, on_hand_ratio``
        (``on_hand / baseline_on_hand``).
    """
    base = frontier[frontier["policy"] == baseline].groupby(fill_col)[on_hand_col].min().sort_index()
    own = frontier[frontier["policy"] == policy].sort_values("service_level")
    fill = own[fill_col].to_numpy(dtype=float)
    x, y = base.index.to_numpy(dtype=float), base.to_numpy(dtype=float)
    inside = (fill >= x.min()) & (fill <= x.max()) if len(x) else np.zeros(len(fill), dtype=bool)
    at_fill = np.where(inside, np.interp(fill, x, y) if len(x) else np.nan, np.nan)
    on_hand = own[on_hand_col].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(at_fill > 0, on_hand / at_fill, np.nan)
    return pd.DataFrame({"service_level": own["service_level"].to_numpy(dtype=float), "fill_rate": fill,
                         "on_hand": on_hand, "baseline_on_hand": at_fill, "on_hand_ratio": ratio})


def _bootstrap_lead_times(u: np.ndarray, supplier: np.ndarray, samples: pd.DataFrame, *,
                          fallback: np.ndarray) -> np.ndarray:
    """Lead times drawn from each row's lane sample (uniforms ``u`` pick the sample lines, rounded to
    days); rows whose supplier has no sample keep ``fallback``."""
    clean = samples.dropna(subset=["supplier_id", "lead_time_days"]).sort_values("supplier_id", kind="stable")
    values = clean["lead_time_days"].to_numpy(dtype=float)
    lanes, start, count = np.unique(clean["supplier_id"].to_numpy(dtype=str), return_index=True, return_counts=True)
    pos = pd.Index(lanes).get_indexer(supplier)  # -1: no supplier, or a lane without lines
    ok = pos >= 0
    if not ok.any():
        return fallback
    pick = start[pos[ok]][:, None] + np.minimum((u[ok] * count[pos[ok]][:, None]).astype(int),
                                                 count[pos[ok]][:, None] - 1)
    out = fallback.copy()
    out[ok] = np.round(values[pick])
    return out


def _spread(units: np.ndarray, days: np.ndarray, width: int) -> np.ndarray:
    """``units`` per row landing in equal whole-unit daily parts over its first ``days`` days."""
    t = np.arange(width + 1)[None, :]
    share = np.minimum(t / np.maximum(days, 1)[:, None], 1.0)
    return np.diff(np.round(units[:, None] * share), axis=1)


def _window_kpis(sold: np.ndarray, short: np.ndarray, held: np.ndarray, cost: np.ndarray, mask: np.ndarray,
                 params: ReplayParams) -> dict[str, float]:
    """Fill rate, stock and money over the series x days in ``mask``.

    The average on hand is the mean per series-day in the window times the number of series, so
    it reads as units on an average day for the whole store whatever the window.
    """
    m = mask.astype(bool)
    served, lost = float(sold[m].sum()), float(short[m].sum())
    demand = served + lost
    margin = params.stockout_margin / (1 - params.stockout_margin)
    per_cell = held[m].mean() if m.any() else 0.0
    return {
        "fill_rate": served / demand if demand else 1.0,
        "avg_on_hand_units": float(per_cell * held.shape[0]),
        "stockout_units": lost,
        "holding_cost": float((held * cost[:, None])[m].sum()) * params.holding_rate_annual / 365.0,
        "stockout_cost": float((short * cost[:, None])[m].sum()) * margin,
        "demand_units": demand,
    }
