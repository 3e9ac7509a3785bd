"""``build_resources``: values over environment over defaults, the warehouse's own MLflow store, and the
three environments."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.resources import build_resources
from assets.settings import PROJECT_ROOT
from forecasting.registry import registered_model_name
from warehouse.feeds import SAMPLE_DIR

_ENV = ("SUPPLYCAST_ENV", "SUPPLYCAST_DATA", "SUPPLYCAST_WAREHOUSE", "SUPPLYCAST_HOME", "MLFLOW_TRACKING_URI",
        "SUPPLYCAST_MLFLOW_ARTIFACTS", "SUPPLYCAST_EXECUTOR", "DASK_SCHEDULER_ADDRESS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


def test_values_win_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPLYCAST_DATA", str(tmp_path / "env_data"))
    monkeypatch.setenv("SUPPLYCAST_WAREHOUSE", str(tmp_path / "env.duckdb"))
    res = build_resources(data_dir=SAMPLE_DIR, warehouse=tmp_path / "given" / "wh.duckdb")
    assert res["duckdb"].database == str(tmp_path / "given" / "wh.duckdb")
    assert (tmp_path / "given").is_dir()  # DuckDB does not create the folder
    assert res["feeds"].data_dir == str(SAMPLE_DIR.resolve())
    from_env = build_resources()
    assert (from_env["duckdb"].database, from_env["feeds"].data_dir) == (str(tmp_path / "env.duckdb"),
                                                                         str(tmp_path / "env_data"))


def test_the_mlflow_store_sits_next_to_the_warehouse(tmp_path):
    res = build_resources(data_dir=SAMPLE_DIR, warehouse=tmp_path / "shop.duckdb")["mlflow_tracking"]
    assert res.tracking_uri == f"sqlite:///{tmp_path / 'shop.mlflow.db'}"
    assert res.artifact_root == (tmp_path / "shop.mlartifacts").as_uri()


def test_the_registered_model_is_keyed_by_the_data_folder(tmp_path):
    sample = build_resources(data_dir=SAMPLE_DIR, warehouse=tmp_path / "a.duckdb")["mlflow_tracking"]
    other = build_resources(data_dir=tmp_path / "My Feeds", warehouse=tmp_path / "a.duckdb")["mlflow_tracking"]
    assert sample.registered_model == registered_model_name(SAMPLE_DIR)
    assert sample.registered_model.startswith("supplycast-global-sample-")
    assert other.registered_model.startswith("supplycast-global-my-feeds-")
    assert sample.registered_model != other.registered_model
    # the same folder, however it is spelt, is the same data source
    assert registered_model_name(SAMPLE_DIR / "m5" / "..") == sample.registered_model


def test_local_honours_a_shared_tracking_server_and_the_executor_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    monkeypatch.setenv("SUPPLYCAST_EXECUTOR", "dask")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://sched:8786")
    monkeypatch.setenv("SUPPLYCAST_HOME", str(tmp_path / "state"))
    res = build_resources(data_dir=SAMPLE_DIR)
    assert res["mlflow_tracking"].tracking_uri == "http://mlflow.example:5000"
    assert (res["forecast_executor"].executor, res["forecast_executor"].scheduler_address) == ("dask",
                                                                                                "tcp://sched:8786")
    assert res["duckdb"].database == str(tmp_path / "state" / "warehouse.duckdb")
    assert res["feeds"].docs_dir == str(tmp_path / "state" / "gx")


def test_ci_keeps_everything_in_a_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    monkeypatch.setenv("SUPPLYCAST_EXECUTOR", "dask")
    monkeypatch.setenv("SUPPLYCAST_HOME", str(tmp_path / "state"))
    res = build_resources(env="ci")
    warehouse = Path(res["duckdb"].database)
    assert warehouse.parent.name.startswith("supplycast-ci-")
    assert not warehouse.is_relative_to(tmp_path) and not warehouse.is_relative_to(PROJECT_ROOT)
    # never the shared server, never Dask, no HTML data docs
    assert res["mlflow_tracking"].tracking_uri == f"sqlite:///{warehouse.with_name('warehouse.mlflow.db')}"
    assert res["forecast_executor"].executor == "local"
    assert res["feeds"].docs_dir == ""
    # one temporary folder per process: the Definitions and a CLI run share it
    assert build_resources(env="ci")["duckdb"].database == str(warehouse)


def test_prod_defaults_nothing(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"SUPPLYCAST_DATA.*SUPPLYCAST_WAREHOUSE.*MLFLOW_TRACKING_URI.*"
                                         r"DASK_SCHEDULER_ADDRESS"):
        build_resources(env="prod")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://sched:8786")
    with pytest.raises(ValueError, match="a data folder") as err:
        build_resources(warehouse=tmp_path / "wh.duckdb", env="prod")
    assert "MLFLOW_TRACKING_URI" not in str(err.value)
    monkeypatch.setenv("SUPPLYCAST_ENV", "prod")
    res = build_resources(data_dir=SAMPLE_DIR, warehouse=tmp_path / "wh.duckdb")
    assert (res["forecast_executor"].executor, res["forecast_executor"].scheduler_address) == ("dask",
                                                                                                "tcp://sched:8786")
    assert res["mlflow_tracking"].tracking_uri == "http://mlflow.example:5000"
    assert res["mlflow_tracking"].artifact_root == ""  # the server's own artifact store
    assert res["feeds"].docs_dir == str(tmp_path / "gx")


def test_an_unknown_environment_is_refused():
    with pytest.raises(ValueError, match="local, ci, prod.*'staging'"):
        build_resources(env="staging")
