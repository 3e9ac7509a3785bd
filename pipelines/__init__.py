"""Dagster definitions, resources, jobs, schedules and the ``supplycast`` command line."""
