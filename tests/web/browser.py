"""Playwright on Debian's chromium for the browser tests (tests/web/test_browser.py).

Playwright's own browser download does not work here, so the tests drive the
system's chromium (`apt-get install chromium`). Without it they skip, saying
why; with REQUIRE_BROWSER=1 (CI) a missing browser fails them instead.
"""

from __future__ import annotations

import os
import shutil
from functools import partial
from pathlib import Path
from typing import Any

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
# The password tests/factories.py gives every user.
PASSWORD = "correct horse battery staple"
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


def role_groups_restore() -> None:
    """Grant the role groups again as the data migrations did, when a flush has
    emptied them.

    A live-server test commits its rows, so the database is flushed after it,
    and the flush takes the groups (rows of data migrations) with it; Django's
    serialized rollback cannot bring them back once another transactional test
    has flushed (content types come back with new ids). So the roles migrations'
    own grant functions run again, on the migrations' final state.
    """
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import RunPython

    from accounts.roles import ROLES, role_permissions_grant

    if Group.objects.filter(name__in=ROLES).count() == len(ROLES):
        return
    loader = MigrationLoader(connection)
    state_apps = loader.project_state().apps
    for _key, migration in sorted(loader.disk_migrations.items()):
        for operation in migration.operations:
            if not isinstance(operation, RunPython):
                continue
            code = operation.code
            if isinstance(code, partial) and code.func is role_permissions_grant:
                role_permissions_grant(state_apps, None, **code.keywords)


def log_in(
    page: Any, base: str, username: str, password: str = PASSWORD, *, landing: str = ""
) -> None:
    """Log in and wait on the account list, or with `landing` on the page the
    user's role lands on (no ?next=): sales on My accounts, others the list."""
    page.goto(f"{base}/login/" if landing else f"{base}/login/?next=/accounts/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}{landing or '/accounts/'}")


def check_page(page: Any, name: str) -> None:
    """Screenshots at both widths, no horizontal overflow at 390, and axe's scan."""
    from axe_playwright_python.sync_playwright import Axe

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{WIDE}.png"), full_page=True)
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()
    page.set_viewport_size({"width": NARROW, "height": 844})
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{NARROW}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW, f"{name} is {width} px wide at {NARROW} px"
    page.set_viewport_size({"width": WIDE, "height": 900})
