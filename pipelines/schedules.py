"""Schedules."""

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    partition_loading_context,
    schedule,
)

from assets.ingest import POS_PARTITIONS
from pipelines.jobs import daily_refresh

__all__ = ["daily_refresh_schedule", "SCHEDULES"]


# daily_refresh is partitioned by POS day (raw_pos): each tick loads the day that just closed. Written
# out rather than built by build_schedule_from_partitioned_job, whose ticks call a deprecated Dagster API.
@schedule(
    job=daily_refresh,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    name="daily_refresh_schedule",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Every day at 06:00 UTC, after the overnight POS drop: loads the previous day's POS partition and "
                "refreshes everything downstream.",
)
def daily_refresh_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    # the partitions as of the tick's time, not the evaluation's (a late tick still loads its own day)
    with partition_loading_context(effective_dt=context.scheduled_execution_time):
        day = POS_PARTITIONS.get_last_partition_key()
    if day is None:
        return SkipReason("no complete POS day yet")
    return RunRequest(run_key=day, partition_key=day)


SCHEDULES = [daily_refresh_schedule]
