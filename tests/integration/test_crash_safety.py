"""A load killed with SIGKILL mid-transaction leaves the warehouse consistent; the next run succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from warehouse import ingest
from warehouse.feeds import SAMPLE_DIR

pytestmark = pytest.mark.integration

SALES = SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet"
N_SERIES = 3049

# loads the sample's days one partition at a time, over and over, announcing each load
_WRITER = textwrap.dedent(f"""
    import datetime as dt, sys
    import duckdb
    from warehouse import ingest
    con = duckdb.connect(sys.argv[1])
    days = [dt.date(2016, 4, 25) + dt.timedelta(days=i) for i in range(28)]
    while True:
        for day in days:
            print("begin", day, flush=True)
            ingest.ingest_pos(con, [{str(SALES)!r}], (day, day))
            ingest.ingest_prices(con, {str(SAMPLE_DIR / "m5" / "sell_prices.parquet")!r})
""")


def _consistent(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path))
    try:
        per_day = con.execute("SELECT date, count(*) FROM raw_pos GROUP BY 1").fetchall() if _has(con, "raw_pos") else []
        dupes = con.execute("SELECT count(*) - count(DISTINCT (store_id, item_id, date)) FROM raw_pos").fetchall()[0][0] \
            if per_day else 0
        return {
            "calendar": con.execute("SELECT count(*) FROM raw_calendar").fetchall()[0][0],
            "partial_days": sum(1 for _, n in per_day if n != N_SERIES),
            "days": len(per_day),
            "duplicates": dupes,
            "prices": con.execute("SELECT count(*) FROM raw_prices").fetchall()[0][0] if _has(con, "raw_prices") else 0,
        }
    finally:
        con.close()


def _has(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchall()[0][0])


@pytest.mark.parametrize("kill_after_s", [0.05, 0.4])
def test_sigkill_during_load_leaves_warehouse_consistent(tmp_path: Path, kill_after_s: float):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    ingest.ingest_calendar(con, SAMPLE_DIR / "m5" / "calendar.parquet")
    con.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        begun = 0
        while begun < 4:  # a few loads committed, then kill inside the next one
            line = proc.stdout.readline()
            assert line, "writer exited early"
            begun += line.startswith("begin")
        time.sleep(kill_after_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    state = _consistent(path)  # opening replays or discards the write-ahead log
    assert state["calendar"] == 1969  # the good table loaded before survives
    assert state["partial_days"] == 0 and state["duplicates"] == 0  # each day all or nothing
    assert 3 <= state["days"] <= 28
    assert state["prices"] in (0, 698_412)

    con = duckdb.connect(str(path))  # the next run succeeds and completes the warehouse
    report = ingest.ingest_pos(con, [SALES])
    con.close()
    assert report.rows_loaded == 28 * N_SERIES
    after = _consistent(path)
    assert after["days"] == 28 and after["partial_days"] == 0 and after["duplicates"] == 0
