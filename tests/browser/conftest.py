"""Browser tests need Debian's chromium and ~2 minutes: they run by ``make test-browser`` (and ``.ci/run``).

A plain ``pytest`` leaves them out (deselected, reported in the summary); ``-m browser`` selects them.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "browser" in (config.getoption("markexpr") or ""):
        return
    browser = [item for item in items if item.get_closest_marker("browser")]
    if browser:
        config.hook.pytest_deselected(items=browser)
        items[:] = [item for item in items if not item.get_closest_marker("browser")]
