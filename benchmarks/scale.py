"""Scale benchmark: wall time and peak memory per pipeline stage at 3k, 30k and 300k series.

    python -m benchmarks.scale [--sizes 3k 30k 300k] [--shared ../shared/data] [--keep DIR]

* 3k   = M5 store CA_1 (3,049 real series)
* 30k  = all of M5 (30,490 real series)
* 300k = M5 replicated 10x (304,900 series). **SYNTHETIC**: copy r of every series gets
         sales drawn as Binomial-thinned / Poisson-perturbed real sales with seed r, and store ids
         ``<store>_r<r>``; prices are the real prices of the source series.

Every size sees the same price window (the weeks of the 28 sales days and the week before), so
the sizes differ only in the number of series. Each size runs the full Dagster job in a fresh
child process (``supplycast`` Definitions, in-process executor); the child samples its resident
memory every 20 ms and reports each step's seconds and peak RSS. The cost per series is printed so
linear growth can be checked.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.data import shared_data

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"3k": 1, "30k": 10, "300k": 100}  # tenths of M5 stores: 1 store, 10 stores, 10 x 10 stores


def _build(shared: Path, out: Path, size: str) -> Path:
    import duckdb

    m5 = shared / "m5"
    dst = out / size / "m5"
    dst.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    copy = "(FORMAT parquet, COMPRESSION zstd)"
    sales, prices = str(m5 / "sales_d1914_d1941.parquet"), str(m5 / "sell_prices.parquet")
    window = "wm_yr_wk BETWEEN (SELECT min(wm_yr_wk) - 1 FROM read_parquet(?) c JOIN read_parquet(?) s USING (d)) AND 11617"
    if size == "3k":
        con.execute(f"COPY (SELECT * FROM read_parquet(?) WHERE store_id = 'CA_1') TO '{dst / 'sales_d1914_d1941.parquet'}' {copy}", [sales])
        con.execute(f"COPY (SELECT * FROM read_parquet(?) WHERE store_id = 'CA_1' AND {window}) TO '{dst / 'sell_prices.parquet'}' {copy}",
                    [prices, str(m5 / "calendar.parquet"), sales])
    elif size == "30k":
        con.execute(f"COPY (SELECT * FROM read_parquet(?)) TO '{dst / 'sales_d1914_d1941.parquet'}' {copy}", [sales])
        con.execute(f"COPY (SELECT * FROM read_parquet(?) WHERE {window}) TO '{dst / 'sell_prices.parquet'}' {copy}",
                    [prices, str(m5 / "calendar.parquet"), sales])
    else:
        # SYNTHETIC replicas: r = 0 is the real data; r >= 1 perturbs each day's sales with a
        # seeded multiplicative noise (hash of series, day and replica), rounded to units.
        con.execute(
            f"""COPY (
                SELECT s.* EXCLUDE (store_id, id, sales),
                       CASE WHEN r = 0 THEN s.store_id ELSE s.store_id || '_r' || lpad(r::VARCHAR, 2, '0') END AS store_id,
                       s.id || CASE WHEN r = 0 THEN '' ELSE '_r' || r::VARCHAR END AS id,
                       CASE WHEN r = 0 THEN s.sales
                            ELSE greatest(0, round(s.sales * (0.7 + 0.6 * ((hash(s.id, s.d, r) % 1000) / 1000.0))))::SMALLINT
                       END AS sales
                FROM read_parquet(?) s, range(10) t(r)
            ) TO '{dst / 'sales_d1914_d1941.parquet'}' {copy}""",
            [sales],
        )
        con.execute(
            f"""COPY (
                SELECT CASE WHEN r = 0 THEN store_id ELSE store_id || '_r' || lpad(r::VARCHAR, 2, '0') END AS store_id,
                       item_id, wm_yr_wk, sell_price
                FROM read_parquet(?), range(10) t(r) WHERE {window}
            ) TO '{dst / 'sell_prices.parquet'}' {copy}""",
            [prices, str(m5 / "calendar.parquet"), sales],
        )
    shutil.copy2(m5 / "calendar.parquet", dst / "calendar.parquet")
    for extra in ("usaid_scms_shipments", "walmart_stormy_weather"):
        if (shared / extra).exists():
            shutil.copytree(shared / extra, out / size / extra, dirs_exist_ok=True)
    if (shared / "freight_emission_factors.csv").exists():
        shutil.copy2(shared / "freight_emission_factors.csv", out / size / "freight_emission_factors.csv")
    return dst


def _pos_partition_tags(data: Path) -> dict[str, str]:
    """The partition range ``supplycast run`` passes: every POS day of ``data`` (one step, one transaction)."""
    from pipelines import cli
    from warehouse.feeds import discover_feeds

    return cli._pos_partition_tags(*cli._pos_span(discover_feeds(data)))


def _child(data: Path, warehouse: Path) -> None:
    """Run the whole job in this process, printing one JSON line of per-step figures."""
    import logging

    import psutil

    os.environ["SUPPLYCAST_DATA"] = str(data)
    os.environ["SUPPLYCAST_WAREHOUSE"] = str(warehouse)
    proc = psutil.Process()
    peak = {"current": proc.memory_info().rss}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak["current"] = max(peak["current"], proc.memory_info().rss)
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()
    started = time.perf_counter()
    from dagster import DagsterInstance, logger

    from pipelines.definitions import defs

    imports = time.perf_counter() - started
    steps: dict[str, dict[str, float]] = {}
    t0: dict[str, float] = {}

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
            if event is None:
                return
            if event.event_type_value == "STEP_START":
                t0[event.step_key] = time.perf_counter()
                peak["current"] = proc.memory_info().rss
            elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                steps[event.step_key] = {
                    "seconds": round(time.perf_counter() - t0[event.step_key], 2),
                    "peak_rss_mb": round(peak["current"] / 2**20),
                    "ok": event.event_type_value == "STEP_SUCCESS",
                }

    @logger
    def bench_logger(_):
        log = logging.getLogger("supplycast.bench")
        log.handlers, log.propagate = [Handler()], False
        log.setLevel(logging.DEBUG)
        return log

    job = defs.resolve_job_def("daily_refresh").with_logger_defs({"bench": bench_logger})
    result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False,
                                    run_config={"loggers": {"bench": {}}}, tags=_pos_partition_tags(data))
    # the forecast asset times the statsforecast calls it wraps and reports them in its metadata
    statsforecast_seconds = float("nan")
    forecast_stages: dict = {}
    library: dict = {}
    for mat in result.get_asset_materialization_events():
        if mat.asset_key.to_user_string() == "forecast":
            meta = mat.materialization.metadata
            entry = meta.get("statsforecast_seconds")
            statsforecast_seconds = float(entry.value) if entry is not None else float("nan")
            stages = meta.get("seconds")
            forecast_stages = dict(stages.value) if stages is not None else {}
            # the asset's own step against the bare library calls inside it, measured in the same run
            library = {"stage_s": meta["stage_seconds"].value, **meta["library_seconds"].value,
                       "ratio": meta["stage_to_library_ratio"].value}
    stop.set()
    print(json.dumps({
        "success": result.success, "seconds": round(time.perf_counter() - started, 2), "imports": round(imports, 2),
        "max_rss_mb": round(psutil.Process().memory_info().rss / 2**20),
        "peak_rss_mb": round(max(s["peak_rss_mb"] for s in steps.values()) if steps else 0),
        "statsforecast_seconds": round(statsforecast_seconds, 2), "forecast_stages": forecast_stages,
        "forecast_vs_library": library, "steps": steps,
    }))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--shared", type=Path, default=None, help="shared data folder (default: ../shared/data)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated data here")
    parser.add_argument("--child", nargs=2, metavar=("DATA", "WAREHOUSE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]))
        return 0
    shared = args.shared or shared_data()
    work = args.keep or Path(tempfile.mkdtemp(prefix="supplycast-scale-"))
    rows = []
    for size in args.sizes:
        data = _build(shared, work, size)
        wall = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--child", str(data), str(work / f"{size}.duckdb")],
                             capture_output=True, text=True, cwd=ROOT, env={**os.environ, "SUPPLYCAST_HOME": str(work / f"state-{size}")})
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{size}: child failed")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        figures["wall"] = round(time.perf_counter() - wall, 1)
        rows.append((size, figures))
        print(f"\n== {size}{' (SYNTHETIC replicas)' if size == '300k' else ''}: {figures['wall']} s wall, "
              f"job {figures['seconds']} s (imports {figures['imports']} s), peak RSS {figures['peak_rss_mb']} MB, "
              f"statsforecast calls {figures['statsforecast_seconds']} s, success={figures['success']}")
        print(f"forecast stages (s): {figures['forecast_stages']}")
        print(f"forecast step vs its library calls: {figures['forecast_vs_library']}")
        print(f"{'step':45s} {'seconds':>8s} {'peak MB':>8s}")
        for step, s in figures["steps"].items():
            print(f"{step:45s} {s['seconds']:8.2f} {s['peak_rss_mb']:8d}")
    series = {"3k": 3049, "30k": 30490, "300k": 304900}
    print("\nseries  job_s  ms/series  peak_MB  champion_s  forecast_s  review_s  statsforecast_s  forecast/library")
    for size, f in rows:
        champion, fc, review = (f["steps"].get(k, {}).get("seconds", float("nan"))
                                for k in ("forecast_champion", "forecast", "forecast_review"))
        print(f"{series[size]:>7d} {f['seconds']:6.1f} {1000 * f['seconds'] / series[size]:9.2f} {f['peak_rss_mb']:8d} "
              f"{champion:10.2f} {fc:10.2f} {review:9.2f} "
              f"{f['statsforecast_seconds']:15.2f} {f['forecast_vs_library'].get('ratio', float('nan')):16.3f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
