"""The feed-file sensor starts daily_refresh for exactly the POS days that landed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from dagster import RunRequest, SkipReason, build_sensor_context

from pipelines.resources import FeedsResource
from pipelines.sensors import new_feed_files_sensor
from warehouse.feeds import SAMPLE_DIR

pytestmark = pytest.mark.integration


@pytest.fixture()
def feeds_dir(tmp_path: Path) -> Path:
    """A canonical feed folder holding two POS days of the real sample."""
    root = tmp_path / "feeds"
    sales = pd.read_parquet(SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet")
    sales["date"] = pd.to_datetime(sales["date"])
    (root / "pos").mkdir(parents=True)
    for day in ("2016-04-25", "2016-04-26"):
        sales[sales["date"] == day].to_parquet(root / "pos" / f"{day}.parquet")
    for feed, src in (("prices", "sell_prices.parquet"), ("calendar", "calendar.parquet")):
        (root / feed).mkdir()
        shutil.copy(SAMPLE_DIR / "m5" / src, root / feed / src)
    return root


def _tick(root: Path, cursor: str | None):
    context = build_sensor_context(cursor=cursor, resources={"feeds": FeedsResource(data_dir=str(root))})
    return new_feed_files_sensor(context), context.cursor


def test_new_pos_file_starts_a_run_for_its_days(feeds_dir: Path):
    first, cursor = _tick(feeds_dir, None)
    assert isinstance(first, RunRequest)
    assert first.tags["dagster/asset_partition_range_start"] == "2016-04-25"
    assert first.tags["dagster/asset_partition_range_end"] == "2016-04-26"

    again, cursor = _tick(feeds_dir, cursor)
    assert isinstance(again, SkipReason) and "no new or changed files" in again.skip_message

    sales = pd.read_parquet(SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet")
    sales["date"] = pd.to_datetime(sales["date"])
    sales[sales["date"] == "2016-04-27"].to_csv(feeds_dir / "pos" / "2016-04-27.csv", index=False,
                                                date_format="%Y-%m-%d")
    new, cursor = _tick(feeds_dir, cursor)
    assert isinstance(new, RunRequest) and new.run_key != first.run_key
    assert (new.tags["dagster/asset_partition_range_start"], new.tags["dagster/asset_partition_range_end"]) == (
        "2016-04-27", "2016-04-27")
    assert "2016-04-27.csv" in new.tags["supplycast/changed_files"]


def test_sensor_is_registered_on_daily_refresh():
    from pipelines.definitions import defs

    sensor = defs.resolve_sensor_def("new_feed_files_sensor")
    assert sensor.job_name == "daily_refresh"
