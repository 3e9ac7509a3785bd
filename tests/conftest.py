"""Shared fixtures: the embedded real sample loaded into a temporary DuckDB file."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")

from warehouse import ingest, marts  # noqa: E402
from warehouse.feeds import SAMPLE_DIR, discover_feeds  # noqa: E402


def load_sample(con: duckdb.DuckDBPyConnection, data_dir: Path = SAMPLE_DIR) -> None:
    paths = discover_feeds(data_dir)
    ingest.ingest_pos(con, paths.pos)
    ingest.ingest_prices(con, paths.prices)
    ingest.ingest_calendar(con, paths.calendar)
    ingest.ingest_weather(con, paths.weather, paths.weather_key)
    ingest.ingest_shipments(con, paths.shipments)
    ingest.ingest_emission_factors(con, paths.emission_factors)
    for name in marts.MARTS:
        marts.build_mart(con, name)


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file holding the sample's raw tables and marts (built once per session)."""
    path = tmp_path_factory.mktemp("warehouse") / "sample.duckdb"
    con = duckdb.connect(str(path))
    load_sample(con)
    con.close()
    return path


@pytest.fixture()
def sample_con(sample_db: Path):
    con = duckdb.connect(str(sample_db), read_only=True)
    yield con
    con.close()
