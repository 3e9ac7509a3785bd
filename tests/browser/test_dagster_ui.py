"""The Dagster UI as a newcomer sees it after the README's quick start, driven in headless Chromium.

The ``ui`` fixture (conftest.py) types the two Quick-start commands, ``make run`` then ``make dev``.
The tests walk the UI in order and save a screenshot at each stop, in ``$SUPPLYCAST_SCREENSHOTS``
or ``screenshots/`` in the project.
"""

from __future__ import annotations

import re

import pytest
from _ui import editor_text, graphql, open_path, shot

pytestmark = pytest.mark.browser

ASSETS = (
    "raw_pos", "raw_prices", "raw_calendar", "raw_weather", "raw_shipments", "raw_emission_factors",
    "demand_history", "store_weather", "shipment_stats", "forecast_champion", "forecast", "forecast_review",
    "supplier_scores", "supplier_catalogue",
    "inventory_snapshot", "replenishment_proposals", "purchase_order_proposals", "purchase_order_exports",
)
RUN_TIMEOUT_MS = 180_000


def test_00_every_asset_is_materialised_with_metadata_after_the_quick_start(ui):
    data = graphql(ui, """{ assetNodes { assetKey { path }
        assetMaterializations(limit: 1) { runId metadataEntries { label } } } }""")
    latest = {"/".join(n["assetKey"]["path"]): n["assetMaterializations"] for n in data["assetNodes"]}
    never = [a for a in ASSETS if not latest.get(a)]
    assert never == [], f"never materialised in the UI after `make run`: {never}"
    for asset in ASSETS:
        labels = {e["label"] for e in latest[asset][0]["metadataEntries"]}
        assert "dagster/row_count" in labels, (asset, sorted(labels))


def test_01_landing_and_asset_catalog_list_every_asset(page, ui):
    from playwright.sync_api import expect

    open_path(page, ui, "/")
    expect(page.get_by_role("button", name="Skip")).to_be_hidden()
    expect(page.get_by_text("Timeline").first).to_be_visible()
    shot(page, "01_landing")
    # the catalog list only renders rows in view: make the view tall enough for all of them
    page.set_viewport_size({"width": 1440, "height": 1900})
    try:
        open_path(page, ui, "/assets")
        for name in ASSETS:
            expect(page.locator(f"a[href='/assets/{name}']").first).to_be_visible()
        shot(page, "02_asset_catalog")
    finally:
        page.set_viewport_size({"width": 1440, "height": 900})


def test_02_asset_graph_shows_groups_and_check_results(page, ui):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1920, "height": 1080})
    try:
        open_path(page, ui, "/asset-groups")
        for group in ("ingest", "warehouse", "forecast", "suppliers", "procurement"):
            expect(page.get_by_text(group, exact=True).first).to_be_visible()
        # groups open collapsed; expand them and zoom out so the whole pipeline fits on screen
        page.get_by_role("button", name="settings", exact=True).click()
        page.get_by_role("menuitem", name="Expand all groups").click()
        page.keyboard.press("Escape")
        for _ in range(4):
            page.get_by_role("button", name="zoom_out", exact=True).click()
            page.wait_for_timeout(300)
        expect(page.get_by_text("raw_calendar", exact=True).first).to_be_visible()
        expect(page.get_by_text("supplier_scores", exact=True).first).to_be_visible()
        shot(page, "03_global_lineage")
    finally:
        page.set_viewport_size({"width": 1440, "height": 900})
    open_path(page, ui, "/locations/supplycast/asset-groups/ingest")
    # the GX gate of each feed ran in the sample run: each graph node shows "Asset checks 1 / 1 Passed"
    expect(page.get_by_text("Asset checks").first).to_be_visible()
    expect(page.get_by_text("1 / 1 Passed").first).to_be_visible()
    shot(page, "04_ingest_graph_with_checks")


def test_03_asset_checks_tab_shows_the_gx_suite_result(page, ui):
    from playwright.sync_api import expect

    open_path(page, ui, "/assets/raw_calendar?view=checks")
    expect(page.get_by_text("gx_calendar_suite").first).to_be_visible()
    expect(page.get_by_text("This is a blocking asset check.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"calendar: all \d+ expectations passed")).first).to_be_visible()
    shot(page, "05_raw_calendar_checks")


@pytest.mark.parametrize(
    ("asset", "entry", "screenshot"),
    [
        ("forecast_review", "forecast_vs_actual", "06_forecast_vs_actual"),
        ("supplier_scores", "scorecard_plot", "07_supplier_scorecard"),
        ("replenishment_proposals", "stockout_risk_plot", "08_stockout_risk"),
        ("purchase_order_proposals", "by_supplier_and_status_plot", "09_pos_by_supplier_status"),
    ],
)
def test_04_plots_render_in_asset_metadata(page, ui, asset, entry, screenshot):
    from playwright.sync_api import expect

    open_path(page, ui, f"/assets/{asset}")
    row = page.locator("tr", has=page.get_by_text(entry, exact=True)).first
    expect(row).to_be_visible()
    row.get_by_text("[Show Markdown]").click()
    image = page.get_by_role("dialog").locator("img[src^='data:image/png;base64,']")
    expect(image).to_be_visible()
    # the browser decoded the PNG: it has real pixels
    assert image.evaluate("img => img.naturalWidth") > 300
    page.wait_for_timeout(800)  # let the dialog finish fading in
    shot(page, screenshot)
    page.get_by_role("button", name="Close").click()


def test_05_schedule_and_sensors_are_listed(page, ui):
    from playwright.sync_api import expect

    from pipelines.definitions import defs

    open_path(page, ui, "/automation")
    expect(page.get_by_text("daily_refresh_schedule").first).to_be_visible()
    for sensor in defs.sensors or []:
        expect(page.get_by_text(sensor.name).first).to_be_visible()
    shot(page, "10_automation")


def test_06_procurement_review_launchpad_is_prefilled_with_typed_config(page, ui):
    from playwright.sync_api import expect

    open_path(page, ui, "/locations/supplycast/jobs/procurement_review/playground")
    expect(page.locator(".CodeMirror").first).to_be_visible()
    config = editor_text(page)
    for lever in ("horizon: 28", "service_level: 0.95", "carbon_price_usd_per_tonne: 100.0",
                  "approval_threshold_usd: 75000.0"):
        assert lever in config, (lever, config)
    expect(page.get_by_text("No errors")).to_be_visible()
    shot(page, "11_procurement_review_launchpad")


def test_07_materialise_an_asset_from_the_ui_and_wait_for_success(page, ui):
    from dagster import DagsterInstance, DagsterRunStatus
    from playwright.sync_api import expect

    open_path(page, ui, "/assets/raw_emission_factors")
    page.locator("button").filter(has_text=re.compile(r"^\s*Materialize\s*$")).first.click()
    expect(page.get_by_text(re.compile(r"Launched run \w+"))).to_be_visible()
    run_link = page.locator("a[href^='/runs/']").filter(has_text="View").first
    href = run_link.get_attribute("href")
    run_id = href.rsplit("/", 1)[-1].split("?")[0]
    open_path(page, ui, f"/runs/{run_id}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    shot(page, "12_ui_launched_run_success")

    with DagsterInstance.from_config(str(ui["home"])) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == DagsterRunStatus.SUCCESS
        checks = {k.name for k in run.asset_check_selection or ()}
    # the feed's quality gate ran with it
    assert "gx_emission_factors_suite" in checks
