"""DuckDB warehouse layer: feed discovery, typed ingest, staging/marts SQL, quality suites.

Plain Python (pandas/DuckDB in, out); never imports Dagster.
"""
