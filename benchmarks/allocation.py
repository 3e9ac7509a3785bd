"""Time the PO allocation alone on a materialised warehouse.

    python -m benchmarks.allocation WAREHOUSE [--time-limit SECONDS] [--compare]

Reads the replenishment needs, the catalogue, the supplier scores and the forecast from
WAREHOUSE (read-only) and prints the MILP's size, how many blocks and item MILPs were solved to
optimality, the objective and the seconds of the build, the solve and the whole proposal.
``--compare`` runs the default (MILPs of about 50 needs, two blocks at a time) and the earlier
setting (about 250 needs, one block at a time) one after the other under the same time limit.
``--heuristics`` also runs the item MILPs with HiGHS's primal heuristics on (the earlier setting).
``--symmetry`` also runs them with HiGHS's symmetry detection on (the earlier setting).
``--repeat N`` runs each setting N times (the settings alternating) and says whether the runs proposed the same POs (the
PO versions: supplier, item, ship-to, quantity, cost and arrival of every line).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import duckdb

from procurement.proposals import propose_purchase_orders
from warehouse.db import read_table

__all__ = ["main"]

_TABLES = ("replenishment_proposals", "supplier_catalogue", "supplier_scores", "forecast")


def _report(name: str, result, seconds: float) -> None:
    info = result.info
    print(f"{name}: allocation of {int(info['needs']):,} needs x offers = {int(info['pairs']):,} pairs, "
          f"{int(info['variables']):,} variables, {int(info['constraints']):,} constraints in {info['blocks']} blocks")
    print(f"  method {info['method']}; blocks optimal {info['blocks_optimal']}/{info['blocks']}; item MILPs "
          f"proven {int(info['components_optimal'])}/{int(info['components'])}; objective {info['objective']:,.0f}")
    print(f"  build {info['build_seconds']:.2f} s, solve {info['solve_seconds']:.1f} s (max block "
          f"{info['max_block_solve_seconds']:.1f} s; solver seconds of parallel blocks add up), allocation "
          f"{info['seconds']:.1f} s wall, whole proposal {seconds:.1f} s")
    print(f"  lines by status: {result.lines['status'].value_counts().to_dict()}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.allocation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warehouse", help="DuckDB file of a materialised run")
    parser.add_argument("--time-limit", type=float, default=60.0, help="MILP time limit in seconds (default 60)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per setting, compared line by line (default 1)")
    parser.add_argument("--compare", action="store_true",
                        help="also run MILPs of about 250 needs on one thread (the earlier setting)")
    parser.add_argument("--heuristics", action="store_true",
                        help="also run the item MILPs with HiGHS's primal heuristics on (the earlier setting)")
    parser.add_argument("--symmetry", action="store_true",
                        help="also run the item MILPs with HiGHS's symmetry detection on (the earlier setting)")
    args = parser.parse_args(argv)
    con = duckdb.connect(args.warehouse, read_only=True)
    try:
        tables = {t: read_table(con, t) for t in _TABLES}
    finally:
        con.close()
    settings = {"default (50 needs per MILP, 2 workers)": {}}
    if args.compare:
        settings["250 needs per MILP, 1 worker"] = {"needs_per_milp": 250, "workers": 1}
    if args.heuristics:
        settings["HiGHS heuristics on"] = {"heuristics": True}
    if args.symmetry:
        settings["HiGHS symmetry detection on"] = {"detect_symmetry": True}
    versions: dict[str, list[set]] = {name: [] for name in settings}
    for _ in range(max(1, args.repeat)):
        for name, options in settings.items():
            started = time.perf_counter()
            result = propose_purchase_orders(tables["replenishment_proposals"], tables["supplier_catalogue"],
                                             tables["supplier_scores"], forecast=tables["forecast"],
                                             time_limit=args.time_limit, **options)
            _report(name, result, time.perf_counter() - started)
            versions[name].append(set(zip(result.lines["po_id"], result.lines["po_version"], strict=True)))
    for name, runs in versions.items():
        if len(runs) > 1:
            changed = {po for po, _ in set.union(*runs) - set.intersection(*runs)}
            print(f"{name}: {len(runs)} runs, {len(changed)} of {len({po for po, _ in runs[0]})} POs differ "
                  "between them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
