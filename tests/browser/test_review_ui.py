"""A buyer approves a purchase order through the Dagster Launchpad, then sees it approved.

Runs on the quick start's server (conftest.py), after ``test_dagster_ui``, with an
``approvers.csv`` written into its state folder. The test reads the top PO of the review queue and
the Launchpad config the PO asset offers for it (``launchpad_decisions``), fills in the decision in
the ``review_purchase_orders`` Launchpad, launches it, waits for the run, and then finds the
approval in the ``po_decisions`` asset's metadata, in ``supplycast review list`` and in ``po_audit``
(channel ``ui``).
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import duckdb
import pytest
import yaml
from _ui import BIN, ROOT, editor_text, open_path, shot

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 300_000
APPROVER = "ana"


@pytest.fixture(scope="module", autouse=True)
def approvers(ui: dict) -> None:
    """The buyer who signs in these tests (the approvers file is read at each decision)."""
    (ui["state"] / "approvers.csv").write_text(f"approver,limit_usd\n{APPROVER},1000000\n")


def _review_list(ui: dict) -> list[dict]:
    out = subprocess.run([str(BIN / "supplycast"), "review", "list", "--json"], cwd=ROOT, env=ui["env"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _markdown_entry(page, label: str):
    """Where a markdown metadata entry shows: inline in its row when short, else in the dialog it opens."""
    from playwright.sync_api import expect

    row = page.locator("tr", has=page.get_by_text(label, exact=True)).first
    expect(row).to_be_visible()
    more = row.get_by_text("[Show Markdown]")
    if more.count() == 0:
        row.scroll_into_view_if_needed()
        return row
    more.click()
    return page.get_by_role("dialog")


def _close_markdown(page) -> None:
    close = page.get_by_role("button", name="Close")
    if close.count():
        close.click()


def test_00_analyst_lowers_the_approval_limit_in_the_launchpad(page, ui):
    """The analyst's lever: re-plan the POs with those above 10,000 USD held for a buyer (the quick
    start's default, 75,000, may leave nothing to review on the sample). The asset's own Launchpad
    (*Materialize ▾ -> Open launchpad*) re-runs the allocation only."""
    from playwright.sync_api import expect

    open_path(page, ui, "/assets/purchase_order_proposals")
    materialize = page.locator("button").filter(has_text=re.compile(r"^\s*Materialize\s*$")).first
    materialize.locator("xpath=following::button[1]").click()
    page.get_by_role("menuitem", name=re.compile("Open launchpad", re.I)).click()
    dialog = page.get_by_role("dialog")
    editor = dialog.locator(".CodeMirror").first
    expect(editor).to_be_visible()
    config = editor_text(dialog)
    assert re.search(r"approval_threshold_usd: 75000\b", config), config
    editor.evaluate("(el, text) => el.CodeMirror.setValue(text)",
                    re.sub(r"approval_threshold_usd: 75000(\.0)?\b", "approval_threshold_usd: 10000", config))
    expect(dialog.get_by_text("No errors")).to_be_visible()
    shot(page, "19_po_launchpad_approval_limit")
    dialog.locator("button").filter(has_text=re.compile(r"Materialize\s*$")).last.click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))  # the Launchpad opens the launched run
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    waiting = [p for p in _review_list(ui) if p["status"] == "needs_approval"]
    assert waiting, "no PO waits for a buyer after the limit went down to 10,000 USD"


def test_01_po_asset_shows_the_review_queue(page, ui):
    from playwright.sync_api import expect

    top = next(p for p in _review_list(ui) if p["status"] == "needs_approval")
    open_path(page, ui, "/assets/purchase_order_proposals")
    queue = _markdown_entry(page, "review_queue")
    expect(queue.get_by_text(top["po_id"]).first).to_be_visible()
    expect(queue.get_by_text(re.compile(r"needs .* approval")).first).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "20_po_review_queue")
    _close_markdown(page)
    ui["po_id"] = top["po_id"]
    # the review Launchpad's config for the waiting POs, to copy
    offer = _markdown_entry(page, "launchpad_decisions")
    code = offer.locator("pre").first
    expect(code).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "20b_po_launchpad_decisions")
    config = yaml.safe_load(code.inner_text())
    _close_markdown(page)
    listed = config["ops"]["po_decisions"]["config"]["decisions"]
    assert top["po_id"] in [d["po_id"] for d in listed] and {d["decision"] for d in listed} == {"approve|reject"}
    ui["template"] = config


def test_02_approve_through_the_launchpad_and_see_it_approved(page, ui):
    from playwright.sync_api import expect

    po_id = ui.get("po_id") or next(p["po_id"] for p in _review_list(ui) if p["status"] == "needs_approval")
    open_path(page, ui, "/locations/supplycast/jobs/review_purchase_orders/playground")
    editor = page.locator(".CodeMirror").first
    expect(editor).to_be_visible()
    template = ui.get("template")
    if template:  # the asset's offer, one PO of it filled in as a buyer would
        mine = [d for d in template["ops"]["po_decisions"]["config"]["decisions"] if d["po_id"] == po_id]
        mine[0].update(decision="approve", approver=APPROVER, note="approved in the Launchpad")
        template["ops"]["po_decisions"]["config"]["decisions"] = mine
        editor.evaluate("(el, text) => el.CodeMirror.setValue(text)", yaml.safe_dump(template, sort_keys=False))
    else:
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        # one line of flow YAML: the editor's auto-indent cannot bend it
        page.keyboard.insert_text(
            f'ops: {{po_decisions: {{config: {{decisions: [{{po_id: "{po_id}", decision: approve, '
            f'approver: {APPROVER}, note: "approved in the Launchpad"}}]}}}}}}')
    expect(page.get_by_text("No errors")).to_be_visible()
    shot(page, "21_review_launchpad_filled")
    page.get_by_role("button", name=re.compile(r"Launch run", re.I)).click()
    # the Launchpad opens the launched run's page
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    shot(page, "22_review_run_success")

    open_path(page, ui, "/assets/po_decisions")
    decisions = _markdown_entry(page, "decisions_so_far")
    expect(decisions.get_by_text(po_id).first).to_be_visible()
    expect(decisions.get_by_text("approve", exact=True).first).to_be_visible()
    expect(decisions.get_by_text("ui", exact=True).first).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "23_po_decisions_so_far")
    _close_markdown(page)

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
