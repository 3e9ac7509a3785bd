"""statsforecast on a real Dask LocalCluster gives the local results."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from forecasting.distributed import (
    ExecutorConfig,
    current_executor,
    library_seconds,
    run_statsforecast_cv,
    use_executor,
)
from forecasting.models import fit_predict
from warehouse.feeds import SAMPLE_DIR


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    sales = SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet"
    df = duckdb.execute(
        "SELECT store_id, item_id, CAST(date AS DATE) AS date, sales AS units FROM read_parquet(?) "
        "WHERE item_id IN (SELECT DISTINCT item_id FROM read_parquet(?) ORDER BY item_id LIMIT 120)",
        [str(sales), str(sales)],
    ).df()
    df["date"] = pd.to_datetime(df["date"])
    return df


def test_dask_matches_local(history):
    models = ["seasonal_naive", "croston_sba", "imapa"]
    local = fit_predict(history, models=models, horizon=14, n_jobs=1)
    with use_executor(ExecutorConfig(kind="dask", n_workers=2)):
        assert current_executor().kind == "dask"
        dist = fit_predict(history, models=models, horizon=14, n_jobs=1)
        assert library_seconds() > 0
    assert current_executor().kind == "local"
    assert len(dist) == len(local) == 120 * 14
    pd.testing.assert_frame_equal(dist[["store_id", "item_id", "date"]], local[["store_id", "item_id", "date"]])
    # the distributed backend computes in float32
    np.testing.assert_allclose(dist[models].to_numpy(), local[models].to_numpy(), rtol=1e-5, atol=1e-5)


def test_unknown_executor_rejected():
    with pytest.raises(ValueError, match="executor"):
        ExecutorConfig(kind="spark")  # type: ignore[arg-type]


def test_resource_chooses_executor_from_config(monkeypatch):
    from pipelines.resources import ForecastExecutorResource, build_resources

    assert ForecastExecutorResource(executor="dask", scheduler_address="tcp://h:8786").config() == ExecutorConfig(
        kind="dask", scheduler_address="tcp://h:8786"
    )
    monkeypatch.setenv("SUPPLYCAST_EXECUTOR", "dask")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://sched:8786")
    resource = build_resources()["forecast_executor"]
    assert (resource.executor, resource.scheduler_address) == ("dask", "tcp://sched:8786")
    with pytest.raises(ValueError, match="executor"):
        ForecastExecutorResource(executor="ray").config()


def test_dask_cross_validation_matches_local(history):
    from statsforecast import StatsForecast
    from statsforecast.models import CrostonSBA, SeasonalNaive

    df = history.assign(unique_id=history["store_id"] + "_" + history["item_id"]).rename(
        columns={"date": "ds", "units": "y"})[["unique_id", "ds", "y"]].astype({"y": np.float64})
    sf = StatsForecast(models=[SeasonalNaive(season_length=7), CrostonSBA()], freq="D", n_jobs=1)
    local = run_statsforecast_cv(sf, df, horizon=7, n_windows=2)
    with use_executor(ExecutorConfig(kind="dask", n_workers=2)):
        dist = run_statsforecast_cv(sf, df, horizon=7, n_windows=2)
        assert library_seconds("statsforecast") > 0
    assert len(dist) == len(local) == 120 * 14 and local["cutoff"].nunique() == 2
    pd.testing.assert_frame_equal(dist[["unique_id", "ds", "cutoff"]], local[["unique_id", "ds", "cutoff"]])
    cols = ["y", "SeasonalNaive", "CrostonSBA"]
    np.testing.assert_allclose(dist[cols].to_numpy(), local[cols].to_numpy(), rtol=1e-5, atol=1e-5)


def _block_until_killed(ready) -> None:
    import time

    ready.set()
    while True:  # a worker waiting for tasks
        time.sleep(0.05)


def test_pool_workers_forked_in_a_library_call_end_on_sigterm():
    """Dagster's run process only records SIGTERM; workers forked during a statsforecast call must
    still end on it, or the pool's terminate-and-join hangs the run."""
    import multiprocessing
    import signal

    from forecasting.distributed import _workers_end_on_sigterm

    ctx = multiprocessing.get_context("fork")
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signo, _frame: received.append(signo))
    try:
        outcomes = {}
        for label, inside in (("plain fork", False), ("library call", True)):
            ready = ctx.Event()
            proc = ctx.Process(target=_block_until_killed, args=(ready,))
            if inside:
                with _workers_end_on_sigterm():
                    proc.start()
            else:
                proc.start()
            assert ready.wait(10)
            proc.terminate()  # SIGTERM, as Pool.terminate sends
            proc.join(3)
            outcomes[label] = proc.exitcode
            if proc.is_alive():
                proc.kill()
                proc.join(3)
        # the inherited recording handler keeps a plain forked child alive; the library call's does not
        assert outcomes["plain fork"] is None
        assert outcomes["library call"] == -signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_library_seconds_count_overlapping_calls_once():
    import time as _time

    from forecasting.distributed import library_call, thread_map

    def train(seconds: float) -> float:
        with library_call("lightgbm"):
            _time.sleep(seconds)
        return seconds

    with use_executor(ExecutorConfig()):
        started = _time.perf_counter()
        assert thread_map(train, [0.3, 0.3], workers=2) == [0.3, 0.3]
        wall = _time.perf_counter() - started
        with library_call("statsforecast"):
            _time.sleep(0.1)
        lgbm, stats, total = library_seconds("lightgbm"), library_seconds("statsforecast"), library_seconds()
    # two 0.3 s calls side by side are counted once where they overlap: less than their 0.6 s sum
    # (as long as the threads overlap at all), never more than the wall time they took
    assert 0.3 <= lgbm <= wall and lgbm < 0.599
    assert 0.1 <= stats < 0.2
    assert total == pytest.approx(lgbm + stats, abs=1e-9)
