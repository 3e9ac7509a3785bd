"""Split each store x item need across supplier offers with one sparse MILP (HiGHS).

For need i and offer j (a supplier's offer of the need's item), the integer ``n_j`` is the number of
packs bought and the binary ``y_j`` says whether the offer is used. The program minimises

    sum_j pack_j * n_j * objective_per_unit_j + line_cost * y_j + shortage_penalty * sum_i u_i

subject to
    coverage   sum_{j in i} pack_j n_j / need_ij + u_i / need_i >= 1
               (need_ij: the need if offer j serves it alone, default need_i; u_i: units short)
    MOQ        pack_j n_j >= moq_j y_j                      (semi-continuous via the binary)
    one offer  sum_{j in i} y_j + u_i / need_i >= 1         (valid cut: makes MOQs bind in the relaxation)
    link       pack_j n_j <= M_j y_j
    capacity   sum_{j of offer k} pack_j n_j <= capacity_k  (a supplier's weekly capacity of an item)
    budget     sum_j unit_cost_j pack_j n_j <= budget

Pack size holds by construction (integer packs). Offers that cannot arrive by the need date stay
only as penalised back-ups, used when the on-time offers run out of capacity. The matrix is built column-wise with ``scipy.sparse`` from
vectors (no loop over needs).

Without a budget the program is block-diagonal by item (only an item's needs share its offers'
capacity), so it is solved as independent MILPs of whole items of about 50 needs, in descending
order of their greedy cost, each to ``mip_rel_gap`` (0.5 %). One MILP over a whole department
spends its time limit in root-node cuts and heuristics for thousands of binaries and closes few
gaps; small independent MILPs are solved at the root and the money is optimised first. A MILP
the time limit does not reach, or that ends without a proven solution, keeps the better of its
incumbent and a vectorised greedy (per need the offer that serves it alone most cheaply, one pass
per offer rank). The achieved gap (objective vs HiGHS's dual bound) is reported per block.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from procurement._milp import solve_milp

__all__ = ["AllocationResult", "SolverSummary", "allocate", "candidate_offers"]


@dataclass(frozen=True)
class SolverSummary:
    """What the solver did, for people: method, seconds, size, status and how much was proven optimal.

    Attributes:
        method: ``milp``, ``greedy`` or several joined by ``+`` (one per block).
        seconds: Wall seconds of the whole allocation.
        variables: Decision variables of the MILP (0 for greedy).
        status: The solver's status per block.
        components_optimal: Independent item components solved to proven optimality.
        components: Independent item components.
        max_mip_gap: Largest relative MIP gap left by a block's time limit.
        block_gaps: Gap and proven share per block, as text.
    """

    method: str
    seconds: float
    variables: int
    status: str
    components_optimal: int
    components: int
    max_mip_gap: float
    block_gaps: str


@dataclass
class AllocationResult:
    """Allocated lines (one per need x offer used), per-need shortage and solver figures."""

    lines: pd.DataFrame
    needs: pd.DataFrame
    info: dict[str, float | str] = field(default_factory=dict)

    @property
    def summary(self) -> SolverSummary:
        """The solver figures of :attr:`info` as typed fields (absent ones as zero or empty)."""
        i = self.info
        return SolverSummary(method=str(i.get("method", "")), seconds=float(i.get("seconds", 0.0)),
                             variables=int(i.get("variables", 0)), status=str(i.get("status", "")),
                             components_optimal=int(i.get("components_optimal", 0)),
                             components=int(i.get("components", 0)), max_mip_gap=float(i.get("max_mip_gap", 0.0)),
                             block_gaps=str(i.get("block_gaps", "")))


def candidate_offers(needs: pd.DataFrame, offers: pd.DataFrame, *, item_col: str = "item_id") -> pd.DataFrame:
    """Need x offer pairs, without offers that miss the need date when a faster one exists.

    Args:
        needs: ``need_id, item_id, need_qty, need_days`` (days until the stock is needed).
        offers: landed-cost offers (``lead_time_days, supplier_id, pack_size, moq, ...``).

    Returns:
        One row per usable pair with ``meets_need_date``.
    """
    pairs = needs.merge(offers, on=item_col, how="inner")
    pairs["meets_need_date"] = pairs["lead_time_days"] <= pairs["need_days"]
    any_meets = pairs.groupby("need_id")["meets_need_date"].transform("any")
    fastest = pairs["lead_time_days"] == pairs.groupby("need_id")["lead_time_days"].transform("min")
    # a late offer stays only as a back-up (penalised in the objective) for when the on-time
    # offers run out of capacity; if none is on time, the fastest counts as on time
    pairs["late_backup"] = ~pairs["meets_need_date"] & any_meets
    pairs.loc[~any_meets & fastest, "meets_need_date"] = True
    keep = pairs["meets_need_date"] | pairs["late_backup"]
    return pairs[keep].reset_index(drop=True)


def _greedy(pairs: pd.DataFrame, needs: pd.DataFrame, budget: float | None) -> np.ndarray:
    """Units per pair: each need takes its cheapest offer with capacity left, rank by rank."""
    qty = np.zeros(len(pairs))
    # rank offers by what serving the need alone costs (its own need, MOQ and pack rounding
    # included), not by unit price: a slower offer needs more units and a big MOQ buys waste
    alone = np.ceil(np.maximum(pairs["pair_need"], pairs["moq"]) / pairs["pack_size"]) * pairs["pack_size"]
    order = pairs.assign(_late=pairs["late_backup"], _cost=alone * pairs["objective_per_unit"]).sort_values(
        ["need_id", "_late", "_cost", "supplier_id"]).index
    rank = pairs.loc[order].groupby("need_id").cumcount().reindex(pairs.index).to_numpy()
    open_need = pd.Series(True, index=needs["need_id"])
    used_cap = pd.Series(0.0, index=pairs["offer_key"].unique())
    spent = 0.0
    for r in range(int(rank.max()) + 1 if len(rank) else 0):
        idx = np.flatnonzero((rank == r) & open_need.reindex(pairs["need_id"]).to_numpy())
        if idx.size == 0:
            continue
        p = pairs.iloc[idx]
        want = np.ceil(np.maximum(p["pair_need"], p["moq"]) / p["pack_size"]) * p["pack_size"]
        cum = want.groupby(p["offer_key"].to_numpy()).cumsum().to_numpy() + used_cap.reindex(p["offer_key"]).to_numpy()
        fits = cum <= p["capacity"].to_numpy()
        if budget is not None:
            value = np.where(fits, want * p["unit_cost"], 0.0)
            fits &= spent + np.cumsum(value) <= budget
            spent += float(np.sum(np.where(fits, want * p["unit_cost"], 0.0)))
        qty[idx[fits]] = want.to_numpy()[fits]
        taken = pd.Series(np.where(fits, want, 0.0)).groupby(p["offer_key"].to_numpy()).sum()
        used_cap = used_cap.add(taken, fill_value=0.0)
        open_need.loc[p["need_id"].to_numpy()[fits]] = False
    return qty


def _objective(qty: np.ndarray, pairs: pd.DataFrame, row_need: np.ndarray, need_qty: np.ndarray,
               unit_obj: np.ndarray, line_cost: float, penalty: float) -> float:
    """The MILP objective of an allocation in units (to compare the MILP incumbent with greedy)."""
    share = np.bincount(row_need, weights=qty / pairs["pair_need"].to_numpy(dtype=float), minlength=len(need_qty))
    short = np.clip(1 - share, 0, None) * need_qty
    return float((qty * unit_obj).sum() + line_cost * (qty > 0).sum() + penalty * short.sum())


def _solve_components(
    c: np.ndarray, a: sparse.csr_array, lb: np.ndarray, ub: np.ndarray, integrality: np.ndarray,
    col_lb: np.ndarray, col_ub: np.ndarray,
    row_comp: np.ndarray, col_comp: np.ndarray, *, time_limit: float, mip_rel_gap: float,
    priority: np.ndarray | None = None, deadline: float | None = None, heuristics: bool = False,
    detect_symmetry: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Solve a block-diagonal MILP one diagonal block (component) at a time.

    Rows and columns are sorted by component once, so each component is a contiguous slice of
    the permuted matrix. Components are solved in descending ``priority`` (the caller passes the
    greedy cost, so the money is optimised first) and share ``time_limit``: each may take the
    time left divided by the components left, or 1 s if that is more, so a hard one cannot
    starve the rest; components reached after the limit are left unsolved (the caller uses
    greedy for them).

    Returns:
        ``(x, solved)``: the solution in the original column order (0 where a component found
        none) and per component ``optimal`` (gap closed), ``has_x`` and the achieved ``gap``.
    """
    row_order, col_order = np.argsort(row_comp, kind="stable"), np.argsort(col_comp, kind="stable")
    ap = sparse.csr_array(a[row_order][:, col_order])
    n_comp = int(max(row_comp.max(initial=-1), col_comp.max(initial=-1))) + 1
    r_edges = np.searchsorted(row_comp[row_order], np.arange(n_comp + 1))
    c_edges = np.searchsorted(col_comp[col_order], np.arange(n_comp + 1))
    cp, ip, blo, bhi = c[col_order], integrality[col_order], col_lb[col_order], col_ub[col_order]
    lbp, ubp = lb[row_order], ub[row_order]
    xp = np.zeros(len(c))
    optimal, has_x, gap = np.zeros(n_comp, bool), np.zeros(n_comp, bool), np.zeros(n_comp)
    fun, bound = np.zeros(n_comp), np.zeros(n_comp)
    # a deadline shared with other blocks (``allocate``) lets time one block leaves go to the next
    deadline = deadline if deadline is not None else time.perf_counter() + time_limit
    order = np.arange(n_comp) if priority is None else np.argsort(-priority, kind="stable")
    for done, k in enumerate(order):
        r0, r1, c0, c1 = r_edges[k], r_edges[k + 1], c_edges[k], c_edges[k + 1]
        if c1 == c0:
            optimal[k] = has_x[k] = True
            continue
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            gap[k] = np.inf  # out of time: the caller falls back to greedy for this component
            continue
        left = min(remaining, max(1.0, remaining / (n_comp - done)))
        res = solve_milp(cp[c0:c1], ap[r0:r1, c0:c1], lbp[r0:r1], ubp[r0:r1], ip[c0:c1], blo[c0:c1], bhi[c0:c1],
                         time_limit=left, mip_rel_gap=mip_rel_gap, heuristics=heuristics,
                         detect_symmetry=detect_symmetry)
        optimal[k] = res.optimal
        gap[k] = res.mip_gap
        if res.x is not None:
            has_x[k] = True
            xp[c0:c1] = res.x
            fun[k] = res.fun
            # no finite dual bound: the gap is unknown, not zero
            bound[k] = res.dual_bound
    x = np.zeros(len(c))
    x[col_order] = xp
    return x, {"optimal": optimal, "has_x": has_x, "gap": gap, "fun": fun, "bound": bound}


def _allocate_block(
    needs: pd.DataFrame,
    offers: pd.DataFrame,
    *,
    budget: float | None = None,
    line_cost: float = 1.0,
    shortage_penalty: float | None = None,
    time_limit: float = 60.0,
    mip_rel_gap: float = 0.005,
    item_col: str = "item_id",
    pair_need_fn: Callable[[pd.DataFrame], pd.Series] | None = None,
    decompose: bool = True,
    needs_per_milp: int = 50,
    deadline: float | None = None,
    heuristics: bool = False,
    detect_symmetry: bool = False,
) -> AllocationResult:
    """One MILP over ``needs`` (see :func:`allocate`), solved item by item when there is no budget.

    Args:
        needs: ``need_id`` (unique), ``item_id``, ``need_qty`` (> 0) and ``need_days``, plus any
            columns to carry through (store_id, ...).
        offers: ``procurement.landed_cost.landed_costs`` output with ``capacity_units_per_week``.
        budget: most USD of goods (unit cost x qty) all lines together may spend; None = no limit.
        line_cost: fixed cost of using an offer for a need (discourages needless splits).
        shortage_penalty: USD per unit left uncovered; default 10x the dearest unit objective.
        time_limit: HiGHS time limit in seconds.
        mip_rel_gap: relative optimality gap at which HiGHS stops.
        pair_need_fn: units each need x offer pair needs if that offer served it alone (for
            instance the order-up-to level at the offer's own lead time); default ``need_qty``.
        decompose: without a budget, split the block into independent MILPs of whole items of
            about ``needs_per_milp`` needs (exact: items share no constraint), solved in
            descending order of their greedy cost; False = one MILP for the block.
        needs_per_milp: target size of those MILPs.
        deadline: ``time.perf_counter()`` time by which the item MILPs must end (shared with
            other blocks); None: ``time_limit`` from the start of their solve.
        heuristics: Run HiGHS's primal heuristics in the item MILPs too (they are solved at the
            root without them, in about half the time; see ``procurement._milp``).
        detect_symmetry: Let HiGHS look for symmetry in the item MILPs (off: it found none to
            use and cost solver time; see ``procurement._milp``).

    Returns:
        ``AllocationResult`` with lines (need x offer, ``qty`` > 0), needs (with ``allocated`` and
        ``shortage``) and info (method, status, seconds, variables, constraints, objective).
    """
    if needs["need_id"].duplicated().any():
        raise ValueError("needs: need_id must be unique")
    if (needs["need_qty"] <= 0).any():
        raise ValueError(f"needs: {(needs['need_qty'] <= 0).sum()} rows with need_qty <= 0")
    started = time.perf_counter()
    pairs = candidate_offers(needs, offers, item_col=item_col)
    if pair_need_fn is not None and len(pairs):
        pairs["pair_need"] = pair_need_fn(pairs).to_numpy(dtype=float)
    pairs["offer_key"] = pairs["supplier_id"] + "|" + pairs[item_col]
    pairs["capacity"] = pairs["capacity_units_per_week"].astype(float)
    n_pairs, n_needs = len(pairs), len(needs)
    need_pos = pd.Series(np.arange(n_needs), index=needs["need_id"])
    row_need = need_pos.reindex(pairs["need_id"]).to_numpy()
    pack = pairs["pack_size"].to_numpy(dtype=float)
    moq = pairs["moq"].to_numpy(dtype=float)
    need_qty = needs["need_qty"].to_numpy(dtype=float)
    # an offer may have its own need (a faster supplier needs less stock on order); coverage then
    # counts the share of each offer's need that it delivers
    pair_need = (pairs["pair_need"].to_numpy(dtype=float) if "pair_need" in pairs else need_qty[row_need])
    pair_need = np.maximum(pair_need, 1.0)
    pairs["pair_need"] = pair_need
    big_m = np.ceil(np.maximum(pair_need, moq) / pack) * pack
    unit_obj = pairs["objective_per_unit"].to_numpy(dtype=float)
    top = max(unit_obj.max(initial=1.0), 1.0)
    penalty = float(shortage_penalty if shortage_penalty is not None else 10 * top)
    # late back-up offers cost more than any on-time offer, less than leaving the need short
    unit_obj = unit_obj + np.where(pairs["late_backup"].to_numpy(dtype=bool), 3 * top, 0.0)

    info: dict[str, float | str] = {"pairs": n_pairs, "needs": n_needs}
    qty = None
    if n_pairs:
        offer_codes, offer_idx = np.unique(pairs["offer_key"].to_numpy(), return_inverse=True)
        k = len(offer_codes)
        cap = pairs.groupby(offer_idx)["capacity"].first().to_numpy()
        j = np.arange(n_pairs)
        # columns: n_j (packs) [0, J), y_j [J, 2J), u_i [2J, 2J+N)
        rows, cols, vals = [], [], []

        def add(r: np.ndarray, c: np.ndarray, v: np.ndarray) -> None:
            rows.append(r)
            cols.append(c)
            vals.append(v)

        r0 = 0
        add(r0 + row_need, j, pack / pair_need)           # coverage: share of the need delivered
        add(r0 + np.arange(n_needs), 2 * n_pairs + np.arange(n_needs), 1.0 / need_qty)  # + shortage share
        r1 = n_needs
        add(r1 + j, j, pack)                              # MOQ: pack n - moq y >= 0
        add(r1 + j, n_pairs + j, -moq)
        r2 = r1 + n_pairs
        add(r2 + j, j, pack)                              # link: pack n - M y <= 0
        add(r2 + j, n_pairs + j, -big_m)
        r3 = r2 + n_pairs
        add(r3 + offer_idx, j, pack)                      # capacity per offer
        r4 = r3 + k
        # valid cut: a need not left short uses at least one offer (sum_j y_j + u_i / need_i >= 1).
        # Without it the relaxation spreads tiny fractions of y over the offers, so MOQs never
        # bind and its bound sits ~30 % below the integer optimum; with it MOQs bind at the root
        add(r4 + row_need, n_pairs + j, np.ones(n_pairs))
        add(r4 + np.arange(n_needs), 2 * n_pairs + np.arange(n_needs), 1.0 / need_qty)
        n_rows = r4 + n_needs
        lb = np.concatenate([np.ones(n_needs), np.zeros(n_pairs), np.full(n_pairs, -np.inf), np.full(k, -np.inf),
                             np.ones(n_needs)])
        ub = np.concatenate([np.full(n_needs, np.inf), np.full(n_pairs, np.inf), np.zeros(n_pairs), cap,
                             np.full(n_needs, np.inf)])
        if budget is not None:
            add(np.full(n_pairs, n_rows), j, pack * pairs["unit_cost"].to_numpy(dtype=float))
            n_rows += 1
            lb, ub = np.append(lb, -np.inf), np.append(ub, budget)
        n_vars = 2 * n_pairs + n_needs
        a = sparse.csr_array(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n_vars)
        )
        c = np.concatenate([pack * unit_obj, np.full(n_pairs, line_cost), np.full(n_needs, penalty)])
        integrality = np.concatenate([np.ones(2 * n_pairs), np.zeros(n_needs)])
        col_lb, col_ub = np.zeros(n_vars), np.concatenate([big_m / pack, np.ones(n_pairs), need_qty])
        built = time.perf_counter()
        info.update(variables=n_vars, constraints=n_rows, mip_rel_gap=mip_rel_gap)
        if budget is None and decompose:
            # without a budget only an item's own needs share its offers' capacity, so the program
            # is block-diagonal by item; whole items are grouped into MILPs of about
            # ``needs_per_milp`` needs: small enough to be solved at the root node, large enough
            # that the per-call overhead of one-need items does not dominate
            items, item_codes = np.unique(pairs[item_col].to_numpy(), return_inverse=True)
            per_item = pd.Series(needs[item_col].to_numpy()).value_counts().reindex(items, fill_value=0).to_numpy()
            group = (np.cumsum(per_item) - per_item) // max(1, needs_per_milp)
            group = np.unique(group, return_inverse=True)[1]  # dense ids: no empty MILPs
            item_codes = group[item_codes]
            need_item = np.full(n_needs, -1)
            need_item[row_need] = item_codes
            row_comp = np.concatenate([need_item, item_codes, item_codes,
                                       pd.Series(item_codes).groupby(offer_idx).first().to_numpy(), need_item])
            col_comp = np.concatenate([item_codes, item_codes, need_item])
            greedy = _greedy(pairs, needs, budget)
            spend = np.bincount(item_codes, weights=greedy * unit_obj, minlength=int(item_codes.max(initial=-1)) + 1)
            x, solved = _solve_components(c, a, lb, ub, integrality, col_lb, col_ub, row_comp, col_comp,
                                          time_limit=time_limit, mip_rel_gap=mip_rel_gap, priority=spend,
                                          deadline=deadline, heuristics=heuristics,
                                          detect_symmetry=detect_symmetry)
            qty = np.round(x[:n_pairs]) * pack
            final = solved["fun"].copy()
            # a component not proven optimal keeps the better of its incumbent and greedy
            for comp in np.flatnonzero(~solved["optimal"]):
                cols = item_codes == comp
                needs_in = np.flatnonzero(need_item == comp)
                sub_row = pd.Series(np.arange(len(needs_in)), index=needs_in).reindex(row_need[cols]).to_numpy()
                args = (pairs[cols], sub_row, need_qty[needs_in], unit_obj[cols], line_cost, penalty)
                g_obj = _objective(greedy[cols], *args)
                if not solved["has_x"][comp] or g_obj < _objective(qty[cols], *args):
                    qty[cols] = greedy[cols]
                    final[comp] = g_obj
            n_comp = len(solved["optimal"])
            bounded = solved["has_x"] & np.isfinite(solved["bound"])
            info.update(method="milp", components=n_comp, components_optimal=int(solved["optimal"].sum()),
                        # gap of the MILPs HiGHS reached, together: kept objective vs dual bound
                        mip_gap=float((final[bounded] - solved["bound"][bounded]).sum()
                                      / max(abs(final[bounded].sum()), 1e-9)),
                        # share of the greedy cost in MILPs proven within mip_rel_gap
                        proven_share=float(spend[solved["optimal"]].sum() / max(spend.sum(), 1e-9)),
                        max_component_gap=float(solved["gap"][solved["has_x"]].max(initial=0.0)),
                        status=f"{int(solved['optimal'].sum())}/{n_comp} MILPs of whole items optimal (gap <= {mip_rel_gap:g})",
                        objective=_objective(qty, pairs, row_need, need_qty, unit_obj, line_cost, penalty))
        else:
            # one MILP over thousands of binaries may not close its gap in time: HiGHS's primal
            # heuristics find its incumbents
            res = solve_milp(c, a, lb, ub, integrality, col_lb, col_ub, time_limit=time_limit,
                             mip_rel_gap=mip_rel_gap, heuristics=True, detect_symmetry=True)
            info.update(status=res.status, components=1, components_optimal=int(res.optimal),
                        mip_gap=res.mip_gap if res.x is not None else 0.0)
            if res.x is not None:
                qty = np.round(res.x[:n_pairs]) * pack
                info.update(method="milp", objective=float(res.fun))
            if not res.optimal:
                # time limit: keep the MILP incumbent only if it beats the greedy allocation
                greedy = _greedy(pairs, needs, budget)
                g_obj = _objective(greedy, pairs, row_need, need_qty, unit_obj, line_cost, penalty)
                if qty is None or g_obj < _objective(qty, pairs, row_need, need_qty, unit_obj, line_cost, penalty):
                    qty = greedy
                    info.update(method="greedy", objective=g_obj)
        info["solve_seconds"] = round(time.perf_counter() - built, 3)
        info["build_seconds"] = round(built - started, 3)
    if qty is None:
        qty = _greedy(pairs, needs, budget) if n_pairs else np.zeros(0)
        info["method"] = "greedy"
    pairs["qty"] = qty.astype(int)
    lines = pairs[pairs["qty"] > 0].reset_index(drop=True)
    allocated = lines.groupby("need_id")["qty"].sum()
    share = (lines["qty"] / lines["pair_need"]).groupby(lines["need_id"]).sum()
    out_needs = needs.copy()
    out_needs["allocated"] = out_needs["need_id"].map(allocated).fillna(0).astype(int)
    out_needs["covered_share"] = out_needs["need_id"].map(share).fillna(0.0).clip(upper=1.0)
    # units short, in the need's own units (the share of it that no offer delivers)
    out_needs["shortage"] = np.ceil((1 - out_needs["covered_share"]) * out_needs["need_qty"] - 1e-9).clip(lower=0).astype(int)
    info["seconds"] = round(time.perf_counter() - started, 3)
    info["lines"] = len(lines)
    return AllocationResult(lines=lines, needs=out_needs, info=info)


def _one_call_at_a_time(fn: Callable[[pd.DataFrame], pd.Series]) -> Callable[[pd.DataFrame], pd.Series]:
    """``fn`` behind a lock, for the blocks' threads.

    A pair-need function looks pairs up in objects shared by every block (the forecast's series
    index), and pandas builds an index's hash table on the first lookup without a lock: two
    threads doing that first lookup at once can each find a unique index "not unique" and raise
    ``InvalidIndexError`` (pandas-dev/pandas#21150). The call is vectorised and short; the solves,
    which are the long part, still overlap.
    """
    lock = threading.Lock()

    def call(pairs: pd.DataFrame) -> pd.Series:
        with lock:
            return fn(pairs)

    return call


def allocate(
    needs: pd.DataFrame,
    offers: pd.DataFrame,
    *,
    budget: float | None = None,
    block_col: str | None = "dept_id",
    max_block_needs: int = 2000,
    time_limit: float = 60.0,
    item_col: str = "item_id",
    workers: int = 2,
    **kwargs: Any,
) -> AllocationResult:
    """Allocate every need to offers at least total objective under MOQ, pack, capacity, budget.

    Needs of different items share no offer capacity, so without a budget one MILP per block of
    whole items (a department, cut into chunks of about ``max_block_needs`` needs, each then
    solved as independent MILPs of about 50 needs; see the module docstring) is exact and much
    faster than one large MILP. With a budget, each department gets the share of it that its
    greedy (cheapest-offer) spend represents; the split is recorded.

    Args:
        needs: ``need_id`` (unique), ``item_id``, ``need_qty`` (> 0), ``need_days`` and
            ``block_col``, plus any columns to carry through (store_id, ...).
        offers: ``procurement.landed_cost.landed_costs`` output with ``capacity_units_per_week``.
        budget: most USD of goods (unit cost x qty) all lines together may spend; None = no limit.
        block_col: column of ``needs`` to decompose by, or None for one MILP.
        max_block_needs: blocks larger than this are cut into chunks of whole items.
        time_limit: HiGHS time limit in seconds for the whole allocation: without a budget every
            item MILP of every block works to one deadline this far from the start; with a budget
            each block's MILP gets a share in proportion to its size.
        workers: Blocks solved at the same time (threads: HiGHS releases the GIL while it solves).
        **kwargs: ``line_cost``, ``shortage_penalty``, ``mip_rel_gap``, ``pair_need_fn`` passed
            to each block.

    Returns:
        ``AllocationResult``: lines (need x offer, ``qty`` > 0), needs (``allocated``,
        ``shortage``) and info (method, status, seconds per phase, variables, constraints,
        ``components``/``components_optimal`` MILPs, ``max_mip_gap`` and ``block_gaps``).
    """
    if needs["need_id"].duplicated().any():
        raise ValueError("needs: need_id must be unique")
    if block_col is None or block_col not in needs:
        return _allocate_block(needs, offers, budget=budget, time_limit=time_limit, item_col=item_col, **kwargs)
    started = time.perf_counter()
    # an item no offer covers has no department to block by; it still gets a block (and a shortage)
    needs = needs.assign(**{block_col: needs[block_col].astype(object).where(needs[block_col].notna(), "(no offer)")})
    # an item's needs share its offers' capacity, so items are never split across blocks; large
    # departments are cut into chunks of whole items of about ``max_block_needs`` needs each
    per_item = needs.groupby([block_col, item_col]).size().rename("n").reset_index()
    per_item["chunk"] = per_item.groupby(block_col)["n"].cumsum().sub(per_item["n"]) // max_block_needs
    chunk = needs[[block_col, item_col]].merge(per_item, on=[block_col, item_col], how="left")["chunk"]
    key = needs[block_col].astype(str) + "/" + chunk.astype(int).astype(str).to_numpy()
    blocks = dict(tuple(needs.groupby(key.to_numpy(), sort=True)))
    shares = {b: len(n) / len(needs) for b, n in blocks.items()}
    budgets: dict[str, float | None] = dict.fromkeys(blocks)
    if budget is not None:
        cheapest = offers.groupby(item_col)["unit_cost"].min()
        spend = needs["need_qty"] * needs[item_col].map(cheapest).fillna(0)
        by_block = spend.groupby(key.to_numpy()).sum()
        budgets = {b: budget * float(by_block[b]) / max(float(by_block.sum()), 1e-9) for b in blocks}
    workers = max(1, int(workers))
    if kwargs.get("pair_need_fn") is not None and workers > 1:
        kwargs["pair_need_fn"] = _one_call_at_a_time(kwargs["pair_need_fn"])

    # the item MILPs of every block share one deadline: a block's share of the limit was too little
    # for a small block on a loaded machine (3 of 605 item MILPs on full M5 fell to greedy, and a
    # re-run proposed different POs), while the large blocks left most of theirs unused
    deadline = started + time_limit

    def solve(b: str) -> AllocationResult:
        # a block's own MILP (with a budget) keeps its share, with a small floor, so that 19
        # departments of M5 do not turn a 15 s limit into 19 s of solving
        return _allocate_block(blocks[b], offers, budget=budgets[b], time_limit=max(0.25, time_limit * shares[b]),
                               item_col=item_col, deadline=deadline, **kwargs)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(solve, blocks))
    info: dict[str, float | str] = {
        "method": "+".join(sorted({str(r.info.get("method")) for r in results})),
        "blocks": len(results),
        "status": "; ".join(f"{b}: {r.info.get('method', '-')}, {r.info.get('status', 'no offers')}"
                            for b, r in zip(blocks, results, strict=True)),
        "blocks_optimal": sum(int(r.info.get("components_optimal", 0)) == int(r.info.get("components", -1))
                              for r in results),
        "components": sum(int(r.info.get("components", 0)) for r in results),
        "components_optimal": sum(int(r.info.get("components_optimal", 0)) for r in results),
        "max_mip_gap": max(float(r.info.get("mip_gap", 0.0)) for r in results),
        "block_gaps": "; ".join(f"{b}: gap {float(r.info.get('mip_gap', 0.0)):.4f}, proven "
                                f"{float(r.info.get('proven_share', float(r.info.get('components_optimal', 0)))):.0%}"
                                for b, r in zip(blocks, results, strict=True)),
        "seconds": round(time.perf_counter() - started, 3),
    }
    for key in ("pairs", "needs", "variables", "constraints", "lines", "build_seconds", "solve_seconds", "objective"):
        info[key] = float(sum(float(r.info.get(key, 0) or 0) for r in results))
    info["max_block_solve_seconds"] = max(float(r.info.get("solve_seconds", 0) or 0) for r in results)
    return AllocationResult(
        lines=pd.concat([r.lines for r in results], ignore_index=True),
        needs=pd.concat([r.needs for r in results]).sort_values("need_id").reset_index(drop=True),
        info=info,
    )
