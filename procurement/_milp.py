"""One HiGHS MILP call through ``highspy``, with the options the allocation's item MILPs want.

``scipy.optimize.milp`` runs the same solver but passes only a few of its options. The item
MILPs (about 340 columns, solved at the root) spent half their time in HiGHS's primal
heuristics: on the 605 item MILPs of a full-M5 run, switching them off solved every MILP within
its gap, the allocation in 11.5-12.1 s wall against 19.0-24.1 s, the total objective 0.003 % apart
(``benchmarks.allocation --heuristics``). Their symmetry detection finds nothing to exploit in
MILPs this small and cost 8-49 % more solver time: without it the same 605 MILPs gave the same
objective, allocated in 7.3-7.8 s wall against 8.0-10.8 s (three runs each, alternating:
``benchmarks.allocation --symmetry``).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from highspy._core import _Highs
from scipy import sparse

__all__ = ["MilpResult", "solve_milp", "NO_HEURISTICS"]

# HiGHS options that switch off its primal heuristics (the root LP and its cuts remain)
NO_HEURISTICS: dict[str, float | bool] = {
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_zi_round": False,
    "mip_heuristic_run_shifting": False,
}


@dataclass(frozen=True)
class MilpResult:
    """What one MILP call returned.

    Attributes:
        x: The best solution found, or None.
        fun: Its objective (NaN without a solution).
        optimal: Whether HiGHS proved it within ``mip_rel_gap``.
        mip_gap: The relative gap left (inf without a solution).
        dual_bound: HiGHS's dual bound (NaN if it has none).
        status: HiGHS's model status, in words.
    """

    x: np.ndarray | None
    fun: float
    optimal: bool
    mip_gap: float
    dual_bound: float
    status: str


def solve_milp(
    c: np.ndarray, a: sparse.sparray, row_lb: np.ndarray, row_ub: np.ndarray, integrality: np.ndarray,
    col_lb: np.ndarray, col_ub: np.ndarray, *, time_limit: float, mip_rel_gap: float,
    heuristics: bool = False,
    detect_symmetry: bool = False,
) -> MilpResult:
    """Minimise ``c @ x`` subject to ``row_lb <= a @ x <= row_ub`` and ``col_lb <= x <= col_ub``.

    Args:
        c: Objective coefficients.
        a: Constraint matrix (any scipy sparse format).
        row_lb: Row lower bounds (``-inf`` for none).
        row_ub: Row upper bounds (``inf`` for none).
        integrality: 1 for integer columns, 0 for continuous ones.
        col_lb: Column lower bounds.
        col_ub: Column upper bounds.
        time_limit: Seconds HiGHS may take.
        mip_rel_gap: Relative gap at which HiGHS stops.
        heuristics: Keep HiGHS's primal heuristics (off by default, see the module docstring).
        detect_symmetry: Let HiGHS look for symmetric columns (off by default: see the module docstring).

    Returns:
        :class:`MilpResult`.
    """
    csc = sparse.csc_array(a)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(c), csc.shape[0]
    lp.col_cost_ = np.asarray(c, dtype=np.float64)
    # HiGHS reads +-inf (``highspy.kHighsInf``) as no bound
    lp.col_lower_, lp.col_upper_ = np.asarray(col_lb, dtype=np.float64), np.asarray(col_ub, dtype=np.float64)
    lp.row_lower_, lp.row_upper_ = np.asarray(row_lb, dtype=np.float64), np.asarray(row_ub, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = csc.indptr, csc.indices, csc.data
    kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
    lp.integrality_ = [kinds[int(i)] for i in integrality]
    # the core class, not ``highspy.Highs``: that one registers a Python callback for every solver
    # event and prints HiGHS's banner to stdout (breaking ``--json``) before an option can be set
    h = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(max(time_limit, 1e-3)))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    if not heuristics:
        for name, value in NO_HEURISTICS.items():
            h.setOptionValue(name, value)
    h.setOptionValue("mip_detect_symmetry", bool(detect_symmetry))
    h.passModel(lp)
    h.run()
    info, model_status = h.getInfo(), h.getModelStatus()
    status = h.modelStatusToString(model_status)
    found = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    if not found:
        return MilpResult(x=None, fun=float("nan"), optimal=False, mip_gap=float("inf"), dual_bound=float("nan"),
                          status=status)
    dual = float(info.mip_dual_bound)
    return MilpResult(
        x=np.asarray(h.getSolution().col_value, dtype=np.float64),
        fun=float(info.objective_function_value),
        optimal=model_status == highspy.HighsModelStatus.kOptimal,
        mip_gap=float(info.mip_gap),
        dual_bound=dual if np.isfinite(dual) else float("nan"),
        status=status,
    )
