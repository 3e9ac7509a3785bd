"""Walmart store-sales benchmark on the real data, printed with its seconds (a script, not a test).

    python -m benchmarks.walmart [--data ../shared/data/walmart_store_sales]

Weekly sales per store x department; hold out the last 39 weeks, WMAE (holiday weeks x5)
against seasonal naive (52 weeks), with and without the weather/markdown features. SVD rank,
level adjustment and blend weights are chosen on an inner split of the training weeks (fit on
the first 65, validate on the last 39), then everything is refit on all 104 training weeks and
the holdout is scored once. STL + ETS, product and trend + season components
(:mod:`benchmarks.weekly_components`) are averaged with equal weights; the inner split chooses
between the SVD seasonal model and the averages (see :mod:`benchmarks.weekly`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.data import shared_data
from benchmarks.weekly import walmart_benchmark

__all__ = ["run_walmart", "main"]


def run_walmart(folder: str | Path, *, holdout_weeks: int = 39) -> dict[str, Any]:
    """Run the Walmart benchmark (see :func:`benchmarks.weekly.walmart_benchmark`).

    Args:
        folder: Walmart store-sales folder (``../shared/data/walmart_store_sales``).
        holdout_weeks: Weeks scored at the end.

    Returns:
        The holdout table, the inner-split choice, the seconds, the ranges and sizes.
    """
    return walmart_benchmark(folder, holdout_weeks=holdout_weeks)


def _with_pct(table: pd.DataFrame) -> pd.DataFrame:
    table = table.set_index("model")
    base = table.at["seasonal_naive_52", "wmae"]
    table["vs_seasonal_naive"] = (1 - table["wmae"] / base).map(lambda v: f"{100 * v:+.1f}%")
    return table


def _print_walmart(res: dict[str, Any]) -> None:
    inner = res["inner"]
    print(f"Inner validation (training weeks only; {inner['range']}), 39 weeks ahead from one origin:")
    print(_with_pct(inner["table"]).to_string(float_format=lambda v: f"{v:.1f}"))
    print("best seasonal settings of the inner grid:")
    print(inner["grid"].head(5).to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(f"chosen: {inner['params']}; LightGBM blend weights: {inner['blend']}")
    print(f"chosen model (lowest inner WMAE of svd_seasonal and the averages): {inner['chosen']}; "
          f"correlated-stores k: {inner['knn_k']}")
    print(f"\nWalmart holdout: train {res['train_range']}, hold out {res['test_range']} ({res['holdout_weeks']} weeks, "
          f"one origin), {res['n_series']} store x dept series; refit on all training weeks, scored once")
    print(_with_pct(res["table"]).to_string(float_format=lambda v: f"{v:.1f}"))
    print("seconds:", {k: round(v, 1) for k, v in res["seconds"].items()})


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.walmart", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None,
                        help="Walmart store-sales folder (default: ../shared/data/walmart_store_sales)")
    parser.add_argument("--holdout-weeks", type=int, default=39, help="weeks scored at the end (default 39)")
    args = parser.parse_args(argv)
    _print_walmart(run_walmart(args.data or shared_data() / "walmart_store_sales", holdout_weeks=args.holdout_weeks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
