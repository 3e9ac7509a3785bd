"""Time the PO allocation alone on a materialised warehouse.

Usage: python scripts/bench_allocation.py WAREHOUSE [TIME_LIMIT_SECONDS]
"""

from __future__ import annotations

import sys
import time

import duckdb

from procurement.proposals import propose_purchase_orders


def main(warehouse: str, time_limit: str = "60") -> None:
    con = duckdb.connect(warehouse, read_only=True)
    tables = {t: con.execute(f"SELECT * FROM {t}").df() for t in
              ("replenishment_proposals", "supplier_catalogue", "supplier_scores", "forecast")}
    con.close()
    started = time.perf_counter()
    result = propose_purchase_orders(tables["replenishment_proposals"], tables["supplier_catalogue"],
                                     tables["supplier_scores"], forecast=tables["forecast"], time_limit=float(time_limit))
    info = result.info
    print(f"allocation of {int(info['needs']):,} needs x offers = {int(info['pairs']):,} pairs, "
          f"{int(info['variables']):,} variables, {int(info['constraints']):,} constraints in {info['blocks']} blocks")
    print(f"  method {info['method']}; blocks optimal {info['blocks_optimal']}/{info['blocks']}; "
          f"build {info['build_seconds']:.2f} s, solve {info['solve_seconds']:.1f} s (max block "
          f"{info['max_block_solve_seconds']:.1f} s), whole proposal {time.perf_counter() - started:.1f} s")
    print(f"  lines by status: {result.lines['status'].value_counts().to_dict()}")


if __name__ == "__main__":
    main(*sys.argv[1:])
