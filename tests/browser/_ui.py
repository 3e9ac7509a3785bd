"""Helpers of the browser tests: start and stop the quick start's ``make dev``, drive its pages."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["ROOT", "BIN", "CHROMIUM", "CHROMIUM_ARGS", "SHOTS", "free_port", "wait_for_server", "stop", "open_path",
           "shot", "graphql", "editor_text"]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("SUPPLYCAST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SHOTS = Path(os.environ.get("SUPPLYCAST_SCREENSHOTS") or ROOT / "screenshots")
# dagster dev answers in ~7 s on an idle machine; CI shares 2 cores, so be generous
SERVER_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, proc: subprocess.Popen, log: Path) -> None:
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


def stop(proc: subprocess.Popen) -> None:
    """Stop ``make dev`` and everything it started (make, dagster dev, webserver, daemon, code server)."""
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


def open_path(page, ui: dict, path: str) -> None:
    page.goto(ui["url"] + path, wait_until="networkidle", timeout=90_000)


def shot(page, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def graphql(ui: dict, query: str) -> dict:
    request = urllib.request.Request(f"{ui['url']}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        body = json.loads(resp.read())
    assert "errors" not in body, body
    return body["data"]


def editor_text(scope) -> str:
    """The whole text of the config editor in ``scope`` (a page or a Launchpad dialog): CodeMirror
    renders only the lines in view."""
    return scope.locator(".CodeMirror").first.evaluate("el => el.CodeMirror.getValue()")
