"""Schedules."""

from dagster import DefaultScheduleStatus, ScheduleDefinition

from pipelines.jobs import daily_refresh

__all__ = ["daily_refresh_schedule", "SCHEDULES"]

daily_refresh_schedule = ScheduleDefinition(
    name="daily_refresh_schedule",
    job=daily_refresh,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Every day at 06:00 UTC, after the overnight POS drop.",
)

SCHEDULES = [daily_refresh_schedule]
