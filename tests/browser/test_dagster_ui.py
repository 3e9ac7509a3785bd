"""The Dagster UI as a newcomer sees it after the README's quick start, driven in headless Chromium.

The fixture types the two Quick-start commands, ``make run`` then ``make dev``, in the project
folder; only the state folder (``$SUPPLYCAST_HOME``) is a temporary one and the UI listens on a
free port (``DAGSTER_PORT``). Nothing else is set up: the UI must show what ``make run`` recorded.
The tests then walk the UI in order and save a screenshot at each stop, in
``$SUPPLYCAST_SCREENSHOTS`` or ``screenshots/`` in the project (printed at the end).
Nothing is downloaded: Playwright drives ``/usr/bin/chromium``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("SUPPLYCAST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SHOTS = Path(os.environ.get("SUPPLYCAST_SCREENSHOTS") or ROOT / "screenshots")
ASSETS = (
    "raw_pos", "raw_prices", "raw_calendar", "raw_weather", "raw_shipments", "raw_emission_factors",
    "demand_history", "store_weather", "shipment_stats", "forecast_champion", "forecast", "forecast_review",
    "supplier_scores", "supplier_catalogue",
    "inventory_snapshot", "replenishment_proposals", "purchase_order_proposals", "purchase_order_exports",
)
# dagster dev answers in ~7 s on an idle machine; CI shares 2 cores, so be generous
SERVER_TIMEOUT_S = 180
RUN_TIMEOUT_MS = 180_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster dev exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"dagster dev did not answer on {url} within {SERVER_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(proc: subprocess.Popen) -> None:
    # `make dev` runs in its own session: signal the whole group (make, dagster dev, webserver, daemon,
    # code server) and wait for all of it, not only for make
    for sig, seconds in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if not _group_alive(proc.pid):
            break
        os.killpg(proc.pid, sig)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            proc.poll()  # reap make, or the group never looks empty
            if not _group_alive(proc.pid):
                break
            time.sleep(0.5)
    proc.wait(timeout=10)


# variables that would point the quick start elsewhere than its state folder
_ISOLATE = ("DAGSTER_HOME", "SUPPLYCAST_WAREHOUSE", "SUPPLYCAST_DATA", "SUPPLYCAST_EXPORTS", "MLFLOW_TRACKING_URI",
            "SUPPLYCAST_MLFLOW_ARTIFACTS", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("ui")
    state = tmp / "state"
    env = {k: v for k, v in os.environ.items() if k not in _ISOLATE}
    env.update(SUPPLYCAST_HOME=str(state), GX_ANALYTICS_ENABLED="false", MLFLOW_ENABLE_TELEMETRY="false",
               DAGSTER_DISABLE_TELEMETRY="1")
    started = time.monotonic()
    run = subprocess.run(["make", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "supplycast run finished" in run.stdout
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "make_dev.log"
    with log.open("w") as out:
        server = subprocess.Popen(["make", "dev", f"DAGSTER_PORT={port}"], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_server(url, server, log)
        print(f"\nUI up at {url} {time.monotonic() - started:.0f} s after `make run` started")
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield {"url": url, "env": env, "home": state / "dagster_home", "run_stdout": run.stdout}
    finally:
        _stop(server)
        print(f"\nscreenshots in {SHOTS}")


def _graphql(ui: dict, query: str) -> dict:
    request = urllib.request.Request(f"{ui['url']}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        body = json.loads(resp.read())
    assert "errors" not in body, body
    return body["data"]


def test_00_every_asset_is_materialised_with_metadata_after_the_quick_start(ui):
    data = _graphql(ui, """{ assetNodes { assetKey { path }
        assetMaterializations(limit: 1) { runId metadataEntries { label } } } }""")
    latest = {"/".join(n["assetKey"]["path"]): n["assetMaterializations"] for n in data["assetNodes"]}
    never = [a for a in ASSETS if not latest.get(a)]
    assert never == [], f"never materialised in the UI after `make run`: {never}"
    for asset in ASSETS:
        labels = {e["label"] for e in latest[asset][0]["metadataEntries"]}
        assert "dagster/row_count" in labels, (asset, sorted(labels))


@pytest.fixture(scope="module")
def page(ui: dict):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), see .ci/run")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(60_000)
        pg = context.new_page()
        # a fresh instance greets with a "join the community" dialog, once (the instance remembers)
        _open(pg, ui, "/")
        try:
            pg.get_by_role("button", name="Skip").click(timeout=20_000)
        except PlaywrightTimeout:
            pass  # no dialog in this Dagster version: nothing to dismiss
        yield pg
        context.close()
        browser.close()


def _open(page, ui: dict, path: str) -> None:
    page.goto(ui["url"] + path, wait_until="networkidle", timeout=90_000)


def _shot(page, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def test_01_landing_and_asset_catalog_list_every_asset(page, ui):
    from playwright.sync_api import expect

    _open(page, ui, "/")
    expect(page.get_by_role("button", name="Skip")).to_be_hidden()
    expect(page.get_by_text("Timeline").first).to_be_visible()
    _shot(page, "01_landing")
    # the catalog list only renders rows in view: make the view tall enough for all of them
    page.set_viewport_size({"width": 1440, "height": 1900})
    try:
        _open(page, ui, "/assets")
        for name in ASSETS:
            expect(page.locator(f"a[href='/assets/{name}']").first).to_be_visible()
        _shot(page, "02_asset_catalog")
    finally:
        page.set_viewport_size({"width": 1440, "height": 900})


def test_02_asset_graph_shows_groups_and_check_results(page, ui):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1920, "height": 1080})
    try:
        _open(page, ui, "/asset-groups")
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
        _shot(page, "03_global_lineage")
    finally:
        page.set_viewport_size({"width": 1440, "height": 900})
    _open(page, ui, "/locations/supplycast/asset-groups/ingest")
    # the GX gate of each feed ran in the sample run: each graph node shows "Asset checks 1 / 1 Passed"
    expect(page.get_by_text("Asset checks").first).to_be_visible()
    expect(page.get_by_text("1 / 1 Passed").first).to_be_visible()
    _shot(page, "04_ingest_graph_with_checks")


def test_03_asset_checks_tab_shows_the_gx_suite_result(page, ui):
    from playwright.sync_api import expect

    _open(page, ui, "/assets/raw_calendar?view=checks")
    expect(page.get_by_text("gx_calendar_suite").first).to_be_visible()
    expect(page.get_by_text("This is a blocking asset check.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"calendar: all \d+ expectations passed")).first).to_be_visible()
    _shot(page, "05_raw_calendar_checks")


@pytest.mark.parametrize(
    ("asset", "entry", "shot"),
    [
        ("forecast_review", "forecast_vs_actual", "06_forecast_vs_actual"),
        ("supplier_scores", "scorecard_plot", "07_supplier_scorecard"),
        ("replenishment_proposals", "stockout_risk_plot", "08_stockout_risk"),
        ("purchase_order_proposals", "by_supplier_and_status_plot", "09_pos_by_supplier_status"),
    ],
)
def test_04_plots_render_in_asset_metadata(page, ui, asset, entry, shot):
    from playwright.sync_api import expect

    _open(page, ui, f"/assets/{asset}")
    row = page.locator("tr", has=page.get_by_text(entry, exact=True)).first
    expect(row).to_be_visible()
    row.get_by_text("[Show Markdown]").click()
    image = page.get_by_role("dialog").locator("img[src^='data:image/png;base64,']")
    expect(image).to_be_visible()
    # the browser decoded the PNG: it has real pixels
    assert image.evaluate("img => img.naturalWidth") > 300
    page.wait_for_timeout(800)  # let the dialog finish fading in
    _shot(page, shot)
    page.get_by_role("button", name="Close").click()


def test_05_schedule_and_sensors_are_listed(page, ui):
    from playwright.sync_api import expect

    from pipelines.definitions import defs

    _open(page, ui, "/automation")
    expect(page.get_by_text("daily_refresh_schedule").first).to_be_visible()
    for sensor in defs.sensors or []:
        expect(page.get_by_text(sensor.name).first).to_be_visible()
    _shot(page, "10_automation")


def test_06_procurement_review_launchpad_is_prefilled_with_typed_config(page, ui):
    from playwright.sync_api import expect

    _open(page, ui, "/locations/supplycast/jobs/procurement_review/playground")
    for lever in ("horizon: 28", "service_level: 0.95", "carbon_price_usd_per_tonne: 100.0",
                  "approval_threshold_usd: 75000.0"):
        expect(page.get_by_text(lever).first).to_be_visible()
    expect(page.get_by_text("No errors")).to_be_visible()
    _shot(page, "11_procurement_review_launchpad")


def test_07_materialise_an_asset_from_the_ui_and_wait_for_success(page, ui):
    from dagster import DagsterInstance, DagsterRunStatus
    from playwright.sync_api import expect

    _open(page, ui, "/assets/raw_emission_factors")
    page.locator("button").filter(has_text=re.compile(r"^\s*Materialize\s*$")).first.click()
    expect(page.get_by_text(re.compile(r"Launched run \w+"))).to_be_visible()
    run_link = page.locator("a[href^='/runs/']").filter(has_text="View").first
    href = run_link.get_attribute("href")
    run_id = href.rsplit("/", 1)[-1].split("?")[0]
    _open(page, ui, f"/runs/{run_id}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    _shot(page, "12_ui_launched_run_success")

    with DagsterInstance.from_config(str(ui["home"])) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == DagsterRunStatus.SUCCESS
        checks = {k.name for k in run.asset_check_selection or ()}
    # the feed's quality gate ran with it
    assert "gx_emission_factors_suite" in checks
    print(f"screenshots: {sorted(p.name for p in SHOTS.glob('*.png'))}")
