"""Write a SYNTHETIC poisoned copy of the embedded sample: the quantity anomaly guard's trial.

The copy is the real sample with one change: for ``--items`` CA_1 items (seeded choice among
those that sold in the last two days) the POS units of the last two days are multiplied by
``--factor``. Every value stays inside the feeds' range gates, which is what makes such a feed
dangerous. Run the pipeline on the copy and count the held lines:

    python scripts/poisoned_feed_trial.py /tmp/poisoned
    python -m pipelines run --data /tmp/poisoned --warehouse /tmp/poisoned.duckdb --quiet --json
    supplycast review list --warehouse /tmp/poisoned.duckdb

The chosen items are written to ``poisoned_items.csv`` in the copy, and a README labels it.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from warehouse.feeds import SAMPLE_DIR

__all__ = ["poison_sample"]

_SALES = "m5/sales_d1914_d1941.parquet"


def poison_sample(out: Path, *, items: int = 50, factor: float = 30.0, days: int = 2, seed: int = 16) -> pd.DataFrame:
    """Copy the sample to ``out`` with ``items`` items' last ``days`` days of POS times ``factor``.

    Returns:
        The poisoned rows before and after (``item_id, date, sales_before, sales_after``).
    """
    shutil.copytree(SAMPLE_DIR, out, dirs_exist_ok=True)
    sales = pd.read_parquet(SAMPLE_DIR / _SALES)
    dates = pd.to_datetime(sales["date"])
    last = dates >= dates.max() - pd.Timedelta(days=days - 1)
    sold = sales[last].groupby("item_id")["sales"].sum()
    candidates = np.sort(sold[sold > 0].index.to_numpy())
    chosen = np.random.default_rng(seed).choice(candidates, size=items, replace=False)
    hit = last & sales["item_id"].isin(chosen)
    before = sales.loc[hit, ["item_id", "date", "sales"]].rename(columns={"sales": "sales_before"})
    sales.loc[hit, "sales"] = np.round(sales.loc[hit, "sales"] * factor).astype(sales["sales"].dtype)
    target = out / _SALES
    target.unlink()
    sales.to_parquet(target, index=False)
    report = before.assign(sales_after=sales.loc[hit, "sales"].to_numpy())
    report.to_csv(out / "poisoned_items.csv", index=False)
    (out / "README.md").write_text(
        f"# SYNTHETIC poisoned trial data, not real\n\nThe embedded real sample with {items} items' last {days} "
        f"days of POS multiplied by {factor:g} (seed {seed}); the rows are in poisoned_items.csv. Written by "
        "scripts/poisoned_feed_trial.py to test the purchase-order quantity anomaly guard.\n"
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder to write the poisoned copy into")
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--factor", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    report = poison_sample(args.out, items=args.items, factor=args.factor, seed=args.seed)
    print(f"{report['item_id'].nunique()} items, {len(report)} POS rows: {int(report['sales_before'].sum())} units "
          f"-> {int(report['sales_after'].sum())}; written to {args.out}")


if __name__ == "__main__":
    main()
