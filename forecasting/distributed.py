"""Where statsforecast runs: in this process (``local``) or on a Dask cluster (``dask``).

The choice is carried by a context variable, so the forecasting code stays one code path:
callers wrap a forecast in ``with use_executor(ExecutorConfig(kind="dask", ...)):`` and every
``StatsForecast.forecast`` call inside goes through :func:`run_statsforecast`, which hands a
Dask DataFrame to statsforecast's own distributed (fugue) backend.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from forecasting.frames import DS, UID, sorted_by

__all__ = [
    "ExecutorConfig",
    "use_executor",
    "current_executor",
    "run_statsforecast",
    "run_statsforecast_cv",
    "library_call",
    "library_seconds",
    "thread_map",
]


@dataclass(frozen=True)
class ExecutorConfig:
    """How statistical forecasts are executed.

    Attributes:
        kind: ``local`` (statsforecast's process pool, ``n_jobs``) or ``dask``.
        scheduler_address: ``tcp://host:8786`` of an existing Dask scheduler; empty starts a
            ``LocalCluster`` on this machine for the duration of the call.
        n_workers: workers of that LocalCluster.
        partitions_per_worker: Dask partitions per worker (series are never split across partitions).
    """

    kind: Literal["local", "dask"] = "local"
    scheduler_address: str = ""
    n_workers: int = 2
    partitions_per_worker: int = 2

    def __post_init__(self) -> None:
        if self.kind not in ("local", "dask"):
            raise ValueError(f"executor must be 'local' or 'dask', got {self.kind!r}")


_LOCAL = ExecutorConfig()
_CURRENT: ContextVar[ExecutorConfig | None] = ContextVar("supplycast_executor", default=None)
# library calls (statsforecast, lightgbm, mlforecast) as (library, start, end) perf_counter times, so
# the pipeline's overhead around them can be measured; None outside ``use_executor`` (nothing is timed)
_LIBRARY_SECONDS: ContextVar[list[tuple[str, float, float]] | None] = ContextVar("supplycast_library_seconds",
                                                                                  default=None)


@contextmanager
def use_executor(config: ExecutorConfig) -> Iterator[ExecutorConfig]:
    """Run the statsforecast calls in this block with ``config``."""
    token = _CURRENT.set(config)
    timer = _LIBRARY_SECONDS.set([])
    try:
        yield config
    finally:
        _CURRENT.reset(token)
        _LIBRARY_SECONDS.reset(timer)


def current_executor() -> ExecutorConfig:
    return _CURRENT.get() or _LOCAL


def library_seconds(library: str | None = None) -> float:
    """Wall seconds spent in library calls since the innermost ``use_executor`` began.

    Calls that overlap (library calls on parallel threads, see :func:`thread_map`) count once:
    the result is the length of the union of their intervals.

    Args:
        library: ``statsforecast``, ``lightgbm`` or ``mlforecast``; None: every library.
    """
    spans = sorted((start, end) for name, start, end in (_LIBRARY_SECONDS.get() or ())
                   if library is None or name == library)
    total, reach = 0.0, float("-inf")
    for start, end in spans:
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return float(total)


@contextmanager
def library_call(library: str) -> Iterator[None]:
    """Time the block as a bare call into ``library`` (the one timer for every library)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timer = _LIBRARY_SECONDS.get()
        if timer is not None:
            timer.append((library, started, time.perf_counter()))


def thread_map(fn: Callable[[Any], Any], items: Sequence[Any], *, workers: int = 2) -> list[Any]:
    """``[fn(x) for x in items]`` on up to ``workers`` threads, each in a copy of the caller's context.

    For calls that release the GIL (LightGBM training, HiGHS): the copies keep the caller's
    executor and library timer, so library calls on the threads are timed like the caller's.
    """
    if len(items) <= 1 or workers <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [pool.submit(copy_context().run, fn, x) for x in items]
        return [f.result() for f in futures]


@contextmanager
def _dask_client(config: ExecutorConfig) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if config.scheduler_address:
        client = Client(config.scheduler_address)
        try:
            yield client
        finally:
            client.close()
        return
    with LocalCluster(n_workers=config.n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def _on_dask(call: Callable[[Any], Any], df: pd.DataFrame, config: ExecutorConfig) -> pd.DataFrame:
    """``call(ddf)`` (a statsforecast method) on ``df`` partitioned over the Dask cluster, as pandas."""
    import dask.dataframe as dd

    with _dask_client(config) as client:
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        ddf = dd.from_pandas(df, npartitions=max(workers * config.partitions_per_worker, 1), sort=True)
        out = call(ddf)
        out = out.compute() if hasattr(out, "compute") else out
    return pd.DataFrame(out).reset_index(drop=True)


def _local_dtypes(out: pd.DataFrame, df: pd.DataFrame, date_cols: Sequence[str]) -> pd.DataFrame:
    """The fugue backend returns arrow-backed strings/timestamps and float32: restore the local dtypes."""
    # copy=False: columns already of the local dtype (the local executor's own output) stay as they are
    out[UID] = out[UID].astype(df[UID].dtype, copy=False)
    for col in date_cols:
        if out[col].dtype != df[DS].dtype:
            out[col] = pd.to_datetime(out[col]).astype(df[DS].dtype)
    for col in out.columns.difference([UID, *date_cols]):
        out[col] = out[col].astype(np.float64, copy=False)
    return out


# statsforecast's local process pool ends its workers with SIGTERM. Under Dagster the run process
# has a SIGTERM handler that only records the signal (to stop at a safe point), and forked workers
# inherit it: a worker blocked on the pool's task queue then never exits and the pool's join hangs
# the run. Workers forked during a library call get the default action back: SIGTERM ends them.
_FORKING_LIBRARY_CALL = False


def _default_sigterm_in_child() -> None:
    if _FORKING_LIBRARY_CALL:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


os.register_at_fork(after_in_child=_default_sigterm_in_child)


@contextmanager
def _workers_end_on_sigterm() -> Iterator[None]:
    global _FORKING_LIBRARY_CALL
    previous, _FORKING_LIBRARY_CALL = _FORKING_LIBRARY_CALL, True
    try:
        yield
    finally:
        _FORKING_LIBRARY_CALL = previous


def run_statsforecast(sf: Any, df: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """``sf.forecast(h=horizon, df=df)`` on the current executor; same columns either way."""
    config = current_executor()
    with library_call("statsforecast"):
        if config.kind == "local":
            with _workers_end_on_sigterm():
                return sf.forecast(h=horizon, df=df)
        out = _on_dask(lambda ddf: sf.forecast(h=horizon, df=ddf), df, config)
    return sorted_by(_local_dtypes(out, df, [DS]), [UID, DS])


def run_statsforecast_cv(sf: Any, df: pd.DataFrame, horizon: int, n_windows: int) -> pd.DataFrame:
    """``sf.cross_validation`` (rolling origins ``horizon`` days apart) on the current executor.

    Returns ``unique_id, ds, cutoff, y`` and one column per model, sorted by id, cutoff and date.
    """
    config = current_executor()
    kwargs = {"h": horizon, "n_windows": n_windows, "step_size": horizon}
    with library_call("statsforecast"):
        if config.kind == "local":
            with _workers_end_on_sigterm():
                out = sf.cross_validation(df=df, **kwargs).reset_index(drop=True)
        else:
            out = _on_dask(lambda ddf: sf.cross_validation(df=ddf, **kwargs), df, config)
    out = _local_dtypes(out, df, [DS, "cutoff"])
    return sorted_by(out, [UID, "cutoff", DS])
