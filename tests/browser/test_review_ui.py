"""A buyer approves a purchase order through the Dagster Launchpad, then sees it approved.

One ``dagster dev`` and one ``supplycast run`` of the sample (as in ``test_dagster_ui``), with an
``approvers.csv`` in the state folder. The test reads the top PO of the review queue, types the
decision into the ``review_purchase_orders`` Launchpad, launches it, waits for the run, and then
finds the approval in the ``po_decisions`` asset's metadata, in ``supplycast review list`` and in
``po_audit`` (channel ``ui``). Screenshots go where ``test_dagster_ui`` puts them.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator

import duckdb
import pytest
from test_dagster_ui import (  # the sibling module's helpers: one way to start and drive the UI
    BIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    SHOTS,
    _free_port,
    _open,
    _shot,
    _stop,
    _wait_for_server,
)

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 300_000
APPROVER = "ana"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    import os

    tmp = tmp_path_factory.mktemp("review_ui")
    home, state = tmp / "dagster_home", tmp / "state"
    home.mkdir()
    state.mkdir()
    (home / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\n")
    (state / "approvers.csv").write_text(f"approver,limit_usd\n{APPROVER},1000000\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "SUPPLYCAST_HOME": str(state),
           "SUPPLYCAST_WAREHOUSE": str(state / "warehouse.duckdb"),
           "MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}", "GX_ANALYTICS_ENABLED": "false",
           "MLFLOW_ENABLE_TELEMETRY": "false", "DAGSTER_DISABLE_TELEMETRY": "1"}
    for var in ("SUPPLYCAST_DATA", "SUPPLYCAST_EXPORTS"):
        env.pop(var, None)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "dagster_dev.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        run = subprocess.run([str(BIN / "supplycast"), "run", "--quiet", "--json"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=1800)
        assert run.returncode == 0, run.stderr[-3000:]
        _wait_for_server(url, server, log)
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield {"url": url, "env": env, "warehouse": state / "warehouse.duckdb"}
    finally:
        _stop(server)


@pytest.fixture(scope="module")
def page(ui: dict):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=90_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.set_default_timeout(90_000)
        pg = context.new_page()
        _open(pg, ui, "/")
        try:
            pg.get_by_role("button", name="Skip").click(timeout=20_000)
        except PlaywrightTimeout:
            pass
        yield pg
        context.close()
        browser.close()


def _review_list(ui: dict) -> list[dict]:
    out = subprocess.run([str(BIN / "supplycast"), "review", "list", "--json"], cwd=ROOT, env=ui["env"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_01_po_asset_shows_the_review_queue(page, ui):
    from playwright.sync_api import expect

    top = next(p for p in _review_list(ui) if p["status"] == "needs_approval")
    _open(page, ui, "/assets/purchase_order_proposals")
    row = page.locator("tr", has=page.get_by_text("review_queue", exact=True)).first
    expect(row).to_be_visible()
    row.get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(top["po_id"]).first).to_be_visible()
    expect(dialog.get_by_text(re.compile(r"needs .* approval")).first).to_be_visible()
    page.wait_for_timeout(800)
    _shot(page, "20_po_review_queue")
    page.get_by_role("button", name="Close").click()
    ui["po_id"] = top["po_id"]


def test_02_approve_through_the_launchpad_and_see_it_approved(page, ui):
    from playwright.sync_api import expect

    po_id = ui.get("po_id") or next(p["po_id"] for p in _review_list(ui) if p["status"] == "needs_approval")
    _open(page, ui, "/locations/supplycast/jobs/review_purchase_orders/playground")
    editor = page.locator(".CodeMirror").first
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    # one line of flow YAML: the editor's auto-indent cannot bend it
    page.keyboard.insert_text(
        f'ops: {{po_decisions: {{config: {{decisions: [{{po_id: "{po_id}", decision: approve, approver: {APPROVER}, '
        f'note: "approved in the Launchpad"}}]}}}}}}')
    expect(page.get_by_text("No errors")).to_be_visible()
    _shot(page, "21_review_launchpad_filled")
    page.get_by_role("button", name=re.compile(r"Launch run", re.I)).click()
    expect(page.get_by_text(re.compile(r"Launched run \w+"))).to_be_visible()
    href = page.locator("a[href^='/runs/']").filter(has_text="View").first.get_attribute("href")
    run_id = href.rsplit("/", 1)[-1].split("?")[0]
    _open(page, ui, f"/runs/{run_id}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    _shot(page, "22_review_run_success")

    _open(page, ui, "/assets/po_decisions")
    row = page.locator("tr", has=page.get_by_text("decisions_so_far", exact=True)).first
    expect(row).to_be_visible()
    row.get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(po_id).first).to_be_visible()
    expect(dialog.get_by_text("approve", exact=True).first).to_be_visible()
    expect(dialog.get_by_text("ui", exact=True).first).to_be_visible()
    page.wait_for_timeout(800)
    _shot(page, "23_po_decisions_so_far")
    page.get_by_role("button", name="Close").click()

    status = {p["po_id"]: p for p in _review_list(ui)}[po_id]
    assert status["status"] == "approved" and status["reason"] == f"approved by {APPROVER}: approved in the Launchpad"
    deadline = time.monotonic() + 60
    while True:  # the run has ended; its process may still be closing the file
        try:
            con = duckdb.connect(str(ui["warehouse"]), read_only=True)
            break
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
    try:
        audit = con.execute("SELECT actor, channel, action, from_status, to_status FROM po_audit WHERE po_id = ? "
                            "AND action = 'approve'", [po_id]).fetchall()
    finally:
        con.close()
    assert audit == [(APPROVER, "ui", "approve", "needs_approval", "approved")]
