"""Rebuild ``data/sample/`` from the shared real data (``../shared/data``).

The sample is a strict subset of real files, never modified values:
M5 store CA_1 (3,049 series x 28 days) with its prices and the full calendar,
the long history d_1..d_1913 of the store's 28 items in ``m5_history/``, the GHCN-Daily
weather of the store's station with its store->station map row in ``weather_ghcn/``,
the NOAA stormy-weather data with its store->station key, the complete USAID shipment
history and the freight emission factors.

Usage: ``python scripts/make_sample.py [--shared ../shared/data] [--store CA_1]``
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
_PARQUET = "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 19)"


def build_sample(shared: Path, out: Path, store: str = "CA_1") -> None:
    (out / "m5").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    copy = "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 19)"
    for name in ("sales_d1914_d1941.parquet", "sell_prices.parquet"):
        src = str(shared / "m5" / name)
        dst = str(out / "m5" / name)
        con.execute(
            f"COPY (SELECT * FROM read_parquet(?) WHERE store_id = ? ORDER BY ALL) TO '{dst}' {copy}",
            [src, store],
        )
    shutil.copy2(shared / "m5" / "calendar.parquet", out / "m5" / "calendar.parquet")
    copy_series_info(con, shared, out, store)
    copy_history(con, shared, out, store)
    copy_ghcn_weather(con, shared, out, store)
    for folder in ("walmart_stormy_weather", "usaid_scms_shipments"):
        shutil.copytree(shared / folder, out / folder, dirs_exist_ok=True)
    shutil.copy2(shared / "freight_emission_factors.csv", out / "freight_emission_factors.csv")
    for p in out.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)


def copy_series_info(con: duckdb.DuckDBPyConnection, shared: Path, out: Path, store: str = "CA_1") -> None:
    """The store's rows of the two pre-window files the global forecast model can use.

    ``series_summary_d1_d1941``: rows of ``store``; ``rmsse_scale_d1_d1913``: its level-12 rows
    (ids ``<item>_<store>_evaluation``). Both are optional for the pipeline.
    """
    copy = "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 19)"
    src = str(shared / "m5" / "series_summary_d1_d1941.parquet")
    dst = str(out / "m5" / "series_summary_d1_d1941.parquet")
    con.execute(f"COPY (SELECT * FROM read_parquet(?) WHERE store_id = ? ORDER BY ALL) TO '{dst}' {copy}", [src, store])
    src = str(shared / "m5" / "rmsse_scale_d1_d1913.parquet")
    dst = str(out / "m5" / "rmsse_scale_d1_d1913.parquet")
    con.execute(
        f"COPY (SELECT * FROM read_parquet(?) WHERE level = 12 AND ends_with(agg_level_1, ?) ORDER BY ALL) TO '{dst}' {copy}",
        [src, f"_{store}_evaluation"],
    )


def copy_history(con: duckdb.DuckDBPyConnection, shared: Path, out: Path, store: str = "CA_1") -> int:
    """The store's rows of ``m5_history/sales_d1_d1913_280series.parquet`` (28 items x 1,913 days)."""
    (out / "m5_history").mkdir(parents=True, exist_ok=True)
    src = str(shared / "m5_history" / "sales_d1_d1913_280series.parquet")
    dst = str(out / "m5_history" / f"sales_d1_d1913_{store}.parquet")
    con.execute(f"COPY (SELECT * FROM read_parquet(?) WHERE store_id = ? ORDER BY ALL) TO '{dst}' {_PARQUET}",
                [src, store])
    return int(con.execute("SELECT count(*) FROM read_parquet(?)", [dst]).fetchall()[0][0])


def copy_ghcn_weather(con: duckdb.DuckDBPyConnection, shared: Path, out: Path, store: str = "CA_1") -> int:
    """The store's row of the GHCN store -> station map, that station's daily rows and its ``stations.csv`` row."""
    src, dst = shared / "weather_ghcn", out / "weather_ghcn"
    dst.mkdir(parents=True, exist_ok=True)
    station_map = str(src / "m5_store_station.csv")
    pick = "(SELECT station FROM read_csv(?, header = true, all_varchar = true) WHERE store_id = ?)"
    con.execute(f"COPY (SELECT * FROM read_csv(?, header = true, all_varchar = true) WHERE store_id = ?) "
                f"TO '{dst / 'm5_store_station.csv'}' (HEADER)", [station_map, store])
    con.execute(f"COPY (SELECT * FROM read_csv(?, header = true, all_varchar = true) WHERE station IN {pick}) "
                f"TO '{dst / 'stations.csv'}' (HEADER)", [str(src / "stations.csv"), station_map, store])
    con.execute(f"COPY (SELECT * FROM read_parquet(?) WHERE station IN {pick} ORDER BY station, date) "
                f"TO '{dst / 'daily.parquet'}' {_PARQUET}", [str(src / "daily.parquet"), station_map, store])
    return int(con.execute("SELECT count(*) FROM read_parquet(?)", [str(dst / "daily.parquet")]).fetchall()[0][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "sample")
    parser.add_argument("--store", default="CA_1")
    args = parser.parse_args()
    build_sample(args.shared, args.out, args.store)
    print(f"sample written to {args.out}")


if __name__ == "__main__":
    main()
