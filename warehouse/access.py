"""Readers that never fail on the writer's file lock.

DuckDB lets one process hold a database file for writing, and then no other process may open
it, not even read-only (``IO Error: Could not set lock on file``). The design:

* **one writer**: every Dagster step that writes takes the ``duckdb_writer`` pool (limit 1 in
  the instance's ``concurrency`` settings), and holds the file only inside a short
  ``DuckDBResource.get_connection()`` block (Dagster's resource itself retries when the file is
  busy);
* **readers** (analysts, scripts, the CLI summary, another run's read step) use
  :func:`read_only` here: a read-only connection opened with retries and exponential backoff
  until the writer's connection closes, so a read waits for a write instead of failing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

__all__ = ["read_only", "WarehouseBusy", "is_lock_error"]


class WarehouseBusy(TimeoutError):
    """The writer held the warehouse for longer than the reader agreed to wait."""


def is_lock_error(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, duckdb.IOException | duckdb.ConnectionException) and (
        "lock" in text.lower() or "conflicting" in text.lower())


@contextmanager
def read_only(path: str | Path, *, timeout_s: float = 120.0, first_delay_s: float = 0.05,
              max_delay_s: float = 1.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the warehouse, waiting (with backoff) while a writer holds it.

    Args:
        path: the DuckDB file.
        timeout_s: give up after this long and raise :class:`WarehouseBusy`.
        first_delay_s / max_delay_s: backoff between attempts (doubling, capped).

    Yields:
        The connection; it is closed on exit, which frees the file for the writer again.
    """
    deadline = time.monotonic() + timeout_s
    delay = first_delay_s
    attempts = 0
    while True:
        attempts += 1
        try:
            con = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.Error as exc:
            if not is_lock_error(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise WarehouseBusy(f"{path}: still locked by a writer after {attempts} attempts "
                                    f"({timeout_s:.0f} s)") from exc
            time.sleep(delay)
            delay = min(delay * 2, max_delay_s)
    try:
        yield con
    finally:
        con.close()
