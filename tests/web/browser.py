"""Playwright on Debian's chromium for the browser tests (tests/web/test_browser.py).

Playwright's own browser download does not work here, so the tests drive the
system's chromium (`apt-get install chromium`). Without it they skip, saying
why; with REQUIRE_BROWSER=1 (CI) a missing browser fails them instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless, and nothing that reaches for the network on its own: the machine
# has none, and refused connections slow or break the browser's start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WIDE, NARROW = 1280, 390


def chromium_path() -> str:
    """The browser to drive, or skip (fail under REQUIRE_BROWSER=1) without one."""
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    problem = None
    if not found:
        problem = f"no chromium at {CHROMIUM} or on PATH (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (make install-dev)"
    if problem:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {problem}", pytrace=False)
        pytest.skip(problem)
    assert found
    return found
