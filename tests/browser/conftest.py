"""One quick start for every browser test: ``make run`` then ``make dev``, as the README says.

Only the state folder (``$SUPPLYCAST_HOME``) is a temporary one and the UI listens on a free port
(``DAGSTER_PORT``); nothing else is set up, so the UI must show what ``make run`` recorded. The
modules run in order on the same server and browser page (the review tests work the queue this
run proposed). Nothing is downloaded: Playwright drives ``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _ui import CHROMIUM, CHROMIUM_ARGS, ROOT, SHOTS, free_port, open_path, stop, wait_for_server

# variables that would point the quick start elsewhere than its state folder
_ISOLATE = ("DAGSTER_HOME", "SUPPLYCAST_WAREHOUSE", "SUPPLYCAST_DATA", "SUPPLYCAST_EXPORTS", "MLFLOW_TRACKING_URI",
            "SUPPLYCAST_MLFLOW_ARTIFACTS", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")


@pytest.fixture(scope="session")
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
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "make_dev.log"
    with log.open("w") as out:
        server = subprocess.Popen(["make", "dev", f"DAGSTER_PORT={port}"], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_server(url, server, log)
        print(f"\nUI up at {url} {time.monotonic() - started:.0f} s after `make run` started")
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield {"url": url, "env": env, "state": state, "home": state / "dagster_home",
               "warehouse": state / "warehouse.duckdb", "run_stdout": run.stdout}
    finally:
        stop(server)
        print(f"\nscreenshots in {SHOTS}: {sorted(p.name for p in SHOTS.glob('*.png'))}")


@pytest.fixture(scope="session")
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
        open_path(pg, ui, "/")
        try:
            pg.get_by_role("button", name="Skip").click(timeout=20_000)
        except PlaywrightTimeout:
            pass  # no dialog in this Dagster version: nothing to dismiss
        yield pg
        context.close()
        browser.close()
