"""Rebuild ``procurement/reference/vendor_origin.csv`` from the USAID SCMS file's Manufacturing Site.

Usage: python scripts/build_vendor_origin.py [PATH/TO/shipments.parquet]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from procurement.distance import VENDOR_ORIGIN_CSV, vendor_origins

HEADER = """\
# Vendor -> origin country, derived from the 'Manufacturing Site' column of the USAID SCMS
# Delivery History Dataset (shipments.parquet; provenance in data/sample/README.md) by
# procurement.distance.vendor_origins: a site is placed only where its name states a country or an
# unambiguous city; a vendor only where >= 75 % of its placed lines share one country and >= 50 %
# of its lines are placed. Empty origin_country = not derivable; the carbon score then uses a
# documented fallback distance. Rebuild: python scripts/build_vendor_origin.py
"""


def main(path: str = "data/sample/usaid_scms_shipments/shipments.parquet") -> None:
    table = vendor_origins(pd.read_parquet(path, columns=["Vendor", "Manufacturing Site"]))
    with Path(VENDOR_ORIGIN_CSV).open("w") as fh:
        fh.write(HEADER)
        table.to_csv(fh, index=False)
    print(f"wrote {len(table)} vendors ({(table['origin_country'] != '').sum()} placed) to {VENDOR_ORIGIN_CSV}")


if __name__ == "__main__":
    main(*sys.argv[1:])
