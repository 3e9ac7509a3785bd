"""What the Dagster UI shows before anything runs: kinds, jobs with typed Launchpad config, automation."""

from __future__ import annotations

from dagster import AssetKey


def test_every_asset_has_kind_tags_description_group_and_owner():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        kinds = {k.split("/", 1)[1] for k in node.tags if k.startswith("dagster/kind/")}
        assert kinds, f"{key.to_user_string()} has no kind tags"
        assert node.description and node.group_name and node.owners, key


def test_procurement_review_opens_with_the_four_levers_typed_and_prefilled():
    import pytest
    from pydantic import ValidationError

    from assets.procurement import ReplenishmentConfig
    from pipelines.definitions import defs

    job = defs.resolve_job_def("procurement_review")
    ops = job.run_config["ops"]  # what the Launchpad opens with
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
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert {"forecast", "supplier_scores", "replenishment_proposals", "purchase_order_proposals",
            "purchase_order_exports"} <= selected
    # the review works from the warehouse as it is: no re-ingest
    assert not any(k.startswith("raw_") for k in selected)


def test_daily_refresh_writes_the_exports_and_is_scheduled():
    from pipelines.definitions import defs

    job = defs.resolve_job_def("daily_refresh")
    assert AssetKey("purchase_order_exports") in job.asset_layer.selected_asset_keys
    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    assert schedule.job_name == "daily_refresh" and schedule.execution_timezone == "UTC"


def test_daily_schedule_tick_requests_a_daily_refresh_run():
    from datetime import UTC, datetime

    from dagster import build_schedule_context

    from pipelines.definitions import defs

    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    with build_schedule_context(scheduled_execution_time=datetime(2026, 11, 25, 6, tzinfo=UTC)) as context:
        tick = schedule.evaluate_tick(context)
    assert len(tick.run_requests) == 1
    assert tick.run_requests[0].job_name in (None, "daily_refresh")
