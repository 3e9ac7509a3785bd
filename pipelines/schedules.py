"""Schedules."""

from dagster import DefaultScheduleStatus, build_schedule_from_partitioned_job

from pipelines.jobs import daily_refresh

__all__ = ["daily_refresh_schedule", "SCHEDULES"]

# daily_refresh is partitioned by POS day (raw_pos): each tick loads the day that just closed
daily_refresh_schedule = build_schedule_from_partitioned_job(
    daily_refresh,
    name="daily_refresh_schedule",
    hour_of_day=6,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Every day at 06:00 UTC, after the overnight POS drop: loads the previous day's POS partition and "
                "refreshes everything downstream.",
)

SCHEDULES = [daily_refresh_schedule]
