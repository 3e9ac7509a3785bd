"""The Definitions load, every job resolves to the assets it should, and what the UI shows before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import AssetKey, build_schedule_context

from pipelines.definitions import defs

ROOT = Path(__file__).resolve().parents[1]


def _selected(job_name: str) -> set[str]:
    return {k.to_user_string() for k in defs.resolve_job_def(job_name).asset_layer.selected_asset_keys}


def test_jobs_select_their_asset_groups():
    jobs = {j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")}
    assert jobs == {"daily_refresh", "procurement_review", "procurement_replay", "review_purchase_orders"}
    every_asset = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    # the refresh is everything but the replay, which needs actuals a refresh does not have
    # buyers' decisions are recorded by their own job, never by a refresh
    assert _selected("daily_refresh") == every_asset - {"replay_kpis", "po_decisions"}
    assert _selected("review_purchase_orders") == {"po_decisions"}
    assert _selected("procurement_replay") == {"replay_kpis"}


def test_every_asset_has_kind_tags_description_group_and_owner():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw_pos", "forecast", "supplier_scores", "replenishment_proposals", "purchase_order_proposals"} <= keys
    assert {graph.get(k).group_name for k in graph.get_all_asset_keys()} == {
        "ingest", "warehouse", "forecast", "suppliers", "procurement", "review"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        kinds = {k.split("/", 1)[1] for k in node.tags if k.startswith("dagster/kind/")}
        assert kinds, f"{key.to_user_string()} has no kind tags"
        assert node.description and node.owners, key


def test_each_feed_has_a_blocking_gx_check():
    from assets.checks import GX_CHECKS

    blocking = {(spec.asset_key, spec.name) for check in GX_CHECKS for spec in check.check_specs if spec.blocking}
    for feed, table in {"pos": "raw_pos", "prices": "raw_prices", "calendar": "raw_calendar",
                        "weather": "raw_weather", "shipments": "raw_shipments",
                        "emission_factors": "raw_emission_factors"}.items():
        assert (AssetKey(table), f"gx_{feed}_suite") in blocking
    assert {(k.asset_key, k.name) for k in defs.resolve_asset_graph().asset_check_keys} >= blocking


def test_every_duckdb_step_shares_the_writer_pool():
    from assets._metadata import WRITER_POOL

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        assert graph.get(key).pools == {WRITER_POOL}, key


def test_procurement_review_opens_with_the_four_levers_typed_and_prefilled():
    from pydantic import ValidationError

    from assets.procurement import ReplenishmentConfig

    ops = defs.resolve_job_def("procurement_review").run_config["ops"]  # what the Launchpad opens with
    levers = {
        ("forecast", "horizon"): 28,
        ("replenishment_proposals", "service_level"): 0.95,
        ("purchase_order_proposals", "carbon_price_usd_per_tonne"): 100.0,
        ("purchase_order_proposals", "approval_threshold_usd"): 75_000.0,
    }
    for (op, field), default in levers.items():
        assert ops[op]["config"][field] == default
    # typed: a word where a number belongs is refused
    with pytest.raises(ValidationError):
        ReplenishmentConfig(service_level="high")
    selected = _selected("procurement_review")
    assert {"forecast", "supplier_scores", "replenishment_proposals", "purchase_order_proposals",
            "purchase_order_exports"} <= selected
    # the review works from the warehouse as it is: no re-ingest
    assert not any(k.startswith("raw_") for k in selected)


def test_daily_schedule_tick_loads_the_day_that_just_closed():
    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == ("0 6 * * *", "UTC",
                                                                                         "daily_refresh")
    with build_schedule_context(scheduled_execution_time=datetime(2026, 11, 25, 6, tzinfo=UTC),
                                repository_def=defs.get_repository_def()) as context:
        tick = schedule.evaluate_tick(context)
    assert [(r.partition_key, r.run_key) for r in tick.run_requests] == [("2026-11-24", "2026-11-24")]


def test_a_fresh_process_loads_the_definitions_without_library_warnings_and_validates_the_k8s_config(tmp_path):
    # warnings as errors: a Dagster deprecation or supersession raised by our definitions (import, schedule
    # tick) fails here; the multiprocess executor is the one deploy/k8s runs with
    script = (
        "import yaml\n"
        "from datetime import UTC, datetime\n"
        "from dagster import build_schedule_context, validate_run_config\n"
        "from pipelines.definitions import defs\n"
        "job = defs.resolve_job_def('daily_refresh')\n"
        "print(job.executor_def.name)\n"
        f"validate_run_config(job, yaml.safe_load(open(r'{ROOT / 'deploy' / 'k8s' / 'run_config.yaml'}')))\n"
        "with build_schedule_context(scheduled_execution_time=datetime(2026, 11, 25, 6, tzinfo=UTC),\n"
        "                            repository_def=defs.get_repository_def()) as context:\n"
        "    defs.resolve_schedule_def('daily_refresh_schedule').evaluate_tick(context)\n"
    )
    env = {**os.environ, "SUPPLYCAST_DAGSTER_EXECUTOR": "multiprocess", "SUPPLYCAST_HOME": str(tmp_path),
           "SUPPLYCAST_ENV": "local"}
    out = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-W", "error::FutureWarning",
                          "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["multiprocess"]
    assert "Warning" not in out.stderr, out.stderr[-2000:]
