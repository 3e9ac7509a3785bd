"""The Definitions load, every job resolves, and the UI-facing pieces are present."""

from __future__ import annotations

from dagster import AssetKey


def test_definitions_load_and_jobs_resolve():
    from pipelines.definitions import defs

    for name in ("daily_refresh", "procurement_review"):
        assert defs.resolve_job_def(name) is not None
    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    assert schedule.cron_schedule == "0 6 * * *"


def test_every_asset_has_group_description_owner():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw_pos", "forecast", "supplier_scores", "replenishment_proposals", "purchase_order_proposals"} <= keys
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {"ingest", "warehouse", "forecast", "suppliers", "procurement"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, key
        assert node.owners, key


def test_each_feed_has_a_blocking_gx_check():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key, k.name) for k in graph.asset_check_keys}
    for feed in ("pos", "prices", "calendar", "weather", "shipments", "emission_factors"):
        table = {"pos": "raw_pos", "prices": "raw_prices", "calendar": "raw_calendar", "weather": "raw_weather",
                 "shipments": "raw_shipments", "emission_factors": "raw_emission_factors"}[feed]
        assert (AssetKey(table), f"gx_{feed}_suite") in checks


def test_every_duckdb_step_shares_the_writer_pool():
    from assets._metadata import WRITER_POOL
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        assert graph.get(key).pools == {WRITER_POOL}, key


def test_kubernetes_run_config_is_valid_for_the_multiprocess_executor(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = (
        "import yaml, sys\n"
        "from dagster._core.definitions.run_config import RunConfig\n"
        "from dagster import validate_run_config\n"
        "from pipelines.definitions import defs\n"
        "job = defs.resolve_job_def('daily_refresh')\n"
        "print(type(job.executor_def).__name__, job.executor_def.name)\n"
        f"cfg = yaml.safe_load(open(r'{root / 'deploy' / 'k8s' / 'run_config.yaml'}'))\n"
        "validate_run_config(job, cfg)\n"
    )
    env = {**__import__("os").environ, "SUPPLYCAST_DAGSTER_EXECUTOR": "multiprocess",
           "SUPPLYCAST_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=root)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "multiprocess" in out.stdout
