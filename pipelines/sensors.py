"""Sensors: start ``daily_refresh`` when new or changed files land in the feeds folder."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from assets.ingest import POS_PARTITIONS
from assets.resources import FeedsResource
from pipelines.jobs import daily_refresh
from pipelines.review_jobs import REVIEW_SENSORS
from warehouse.feeds import CANONICAL_FOLDERS, FeedError, FeedPaths
from warehouse.ingest import pos_date_span

__all__ = ["new_feed_files_sensor", "feed_fingerprints", "SENSORS"]

_FIRST_DAY = dt.date.fromisoformat(POS_PARTITIONS.get_first_partition_key())


def feed_fingerprints(paths: FeedPaths) -> dict[str, list[int]]:
    """``{file: [size, mtime_ns]}`` of every feed file: a new or rewritten file changes its entry."""
    out: dict[str, list[int]] = {}
    for feed in CANONICAL_FOLDERS:
        for f in paths.files(feed):
            if f.is_file():
                st = f.stat()
                out[str(f)] = [st.st_size, st.st_mtime_ns]
    return out


def _range_tags(start: dt.date, end: dt.date) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat()}


@sensor(
    job=daily_refresh,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Starts daily_refresh when files are added to or rewritten in the feeds folder. New POS files load "
                "just the days they hold (one run over that partition range); other feeds refresh the POS days "
                "already present.",
)
def new_feed_files_sensor(context: SensorEvaluationContext, feeds: FeedsResource) -> RunRequest | SkipReason:
    try:
        paths = feeds.paths()
    except FeedError as exc:
        return SkipReason(f"feeds folder not usable: {exc}")
    current = feed_fingerprints(paths)
    previous: dict[str, list[int]] = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(f for f, fp in current.items() if previous.get(f) != fp)
    if not changed:
        return SkipReason(f"no new or changed files among {len(current)} feed files")
    # the cursor moves even when the files are bad: the run reports them; the sensor must not loop on them
    context.update_cursor(json.dumps(current))
    new_pos = [Path(f) for f in changed if Path(f) in set(paths.pos)]
    con = duckdb.connect()
    try:
        lo, hi = pos_date_span(con, new_pos or list(paths.pos))
    except FeedError as exc:
        return SkipReason(f"{len(changed)} changed files, but POS dates cannot be read: {exc}")
    finally:
        con.close()
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    lo, hi = max(lo, _FIRST_DAY), min(hi, yesterday)
    digest = hashlib.sha1(json.dumps({f: current[f] for f in changed}).encode()).hexdigest()[:12]
    return RunRequest(
        run_key=f"feeds-{lo}-{hi}-{digest}",
        tags={**_range_tags(lo, hi), "supplycast/trigger": "new_feed_files",
              "supplycast/changed_files": ", ".join(Path(f).name for f in changed)[:500]},
    )


SENSORS = [new_feed_files_sensor, *REVIEW_SENSORS]
