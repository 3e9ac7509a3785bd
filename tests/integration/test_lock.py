"""Readers never fail on DuckDB's file lock while a Dagster job writes the warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from warehouse import ingest
from warehouse.access import read_only
from warehouse.feeds import SAMPLE_DIR

pytestmark = pytest.mark.integration

# a real Dagster run, twice: the ingest assets write through DuckDBResource
_JOB = textwrap.dedent("""
    import sys, time
    from dagster import asset, materialize
    from dagster_duckdb import DuckDBResource
    from assets.ingest import raw_calendar, raw_pos, raw_prices, partition_range_tags
    from pipelines.resources import FeedsResource
    import datetime as dt


    @asset(pool="duckdb_writer")
    def long_write(duckdb: DuckDBResource) -> None:
        # a transaction held open for 1.5 s, like loading the 6.8M M5 prices
        with duckdb.get_connection() as con:
            con.execute("BEGIN TRANSACTION")
            con.execute("CREATE OR REPLACE TABLE scratch AS SELECT range AS x FROM range(1000000)")
            time.sleep(1.5)
            con.execute("COMMIT")

    resources = {"duckdb": DuckDBResource(database=sys.argv[1]), "feeds": FeedsResource(data_dir=sys.argv[2])}
    for _ in range(2):
        result = materialize([raw_pos, raw_prices, raw_calendar, long_write], resources=resources,
                             tags=partition_range_tags(dt.date(2016, 4, 25), dt.date(2016, 5, 22)))
        assert result.success
        print("run done", flush=True)
""")


def test_reader_reads_while_a_job_writes(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    ingest.ingest_pos(con, [SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet"])
    con.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    writer = subprocess.Popen([sys.executable, "-c", _JOB, str(path), str(SAMPLE_DIR)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reads, counts, naive_conflicts = 0, set(), []
    stop = threading.Event()

    def naive_reader() -> None:
        # what a naive reader meets while the job holds the file: polled often, so the job's
        # 1.5 s transaction cannot slip between two attempts
        while not stop.is_set():
            try:
                duckdb.connect(str(path), read_only=True).close()
            except duckdb.IOException as exc:
                assert "lock" in str(exc).lower()
                naive_conflicts.append(1)
            time.sleep(0.01)

    probe = threading.Thread(target=naive_reader, daemon=True)
    probe.start()
    try:
        while writer.poll() is None:
            with read_only(path, timeout_s=60) as reader:
                counts.add(reader.execute("SELECT count(*) FROM raw_pos").fetchall()[0][0])
            reads += 1
            time.sleep(0.02)
        out, err = writer.communicate(timeout=120)
    finally:
        stop.set()
        probe.join(timeout=5)
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, err[-2000:]
    assert out.count("run done") == 2
    assert reads >= 5
    assert counts == {85_372}  # every read saw a whole POS table, never a half-written one
    assert len(naive_conflicts) >= 1  # the reads did overlap the job's writes
    print(f"{reads} reads during the job, {len(naive_conflicts)} naive read-only opens hit the lock")
