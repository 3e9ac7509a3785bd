"""raw_pos through Dagster: one partition re-run replaces it; a range loads in one single-run step."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, BackfillPolicy, materialize
from dagster_duckdb import DuckDBResource

from assets.ingest import POS_PARTITIONS, partition_range_tags, raw_pos
from pipelines.resources import FeedsResource
from warehouse.feeds import SAMPLE_DIR

pytestmark = pytest.mark.integration
Q = "SELECT date, count(*), sum(units), count(DISTINCT (store_id, item_id)) FROM raw_pos GROUP BY 1 ORDER BY 1"


def _rows(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(Q).fetchall()
    finally:
        con.close()


def test_partition_rerun_and_range_backfill(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    resources = {"duckdb": DuckDBResource(database=str(path)), "feeds": FeedsResource(data_dir=str(SAMPLE_DIR))}
    week = materialize([raw_pos], resources=resources,
                       tags=partition_range_tags(dt.date(2016, 4, 25), dt.date(2016, 5, 1)))
    assert week.success
    mats = week.get_asset_materialization_events()
    assert sorted(m.partition for m in mats) == [f"2016-04-{d}" for d in range(25, 31)] + ["2016-05-01"]
    first = _rows(path)
    assert len(first) == 7 and all(n == 3049 == series for _, n, _, series in first)

    for _ in range(2):  # the same partition again, twice: replaced, not appended
        again = materialize([raw_pos], resources=resources, partition_key="2016-04-27")
        assert again.success
        meta = again.get_asset_materialization_events()[0].materialization.metadata
        assert meta["rows_in_range"].value == 3049 and meta["partition_range"].value == "2016-04-27..2016-04-27"
    assert _rows(path) == first


def test_raw_pos_is_daily_with_single_run_backfills():
    from pipelines.definitions import defs

    node = defs.resolve_asset_graph().get(AssetKey("raw_pos"))
    assert node.partitions_def == POS_PARTITIONS
    assert node.backfill_policy == BackfillPolicy.single_run()
    assert POS_PARTITIONS.get_first_partition_key() == "2010-01-01"
    job = defs.resolve_job_def("daily_refresh")
    assert job.partitions_def == POS_PARTITIONS  # the UI offers partition ranges for the whole refresh
