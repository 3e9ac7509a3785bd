"""Time the PO allocation alone on a materialised warehouse.

    python -m benchmarks.allocation WAREHOUSE [--time-limit SECONDS]

Reads the replenishment needs, the catalogue, the supplier scores and the forecast from
WAREHOUSE (read-only) and prints the MILP's size, how many blocks were solved to optimality and
the seconds of the build, the solve and the whole proposal.
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


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.allocation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warehouse", help="DuckDB file of a materialised run")
    parser.add_argument("--time-limit", type=float, default=60.0, help="MILP time limit in seconds (default 60)")
    args = parser.parse_args(argv)
    con = duckdb.connect(args.warehouse, read_only=True)
    try:
        tables = {t: read_table(con, t) for t in _TABLES}
    finally:
        con.close()
    started = time.perf_counter()
    result = propose_purchase_orders(tables["replenishment_proposals"], tables["supplier_catalogue"],
                                     tables["supplier_scores"], forecast=tables["forecast"], time_limit=args.time_limit)
    info = result.info
    print(f"allocation of {int(info['needs']):,} needs x offers = {int(info['pairs']):,} pairs, "
          f"{int(info['variables']):,} variables, {int(info['constraints']):,} constraints in {info['blocks']} blocks")
    print(f"  method {info['method']}; blocks optimal {info['blocks_optimal']}/{info['blocks']}; "
          f"build {info['build_seconds']:.2f} s, solve {info['solve_seconds']:.1f} s (max block "
          f"{info['max_block_solve_seconds']:.1f} s), whole proposal {time.perf_counter() - started:.1f} s")
    print(f"  lines by status: {result.lines['status'].value_counts().to_dict()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
