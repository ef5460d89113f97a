"""Scoring models in Chromium: the demo marketer changes a weight, reads the
preview of the stage moves it would make, saves it and sees the new version in
the history with its recompute finished; every page passes check_page."""

from __future__ import annotations

from typing import Any

import pytest

from engagement.models import ScoringModel
from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_previews_and_saves_a_weight_change_on_the_demo_data(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "marketer", "demo-marketer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Scoring").click()
    page.wait_for_url(f"{base}/scoring/")
    assert page.get_by_role("heading", name="Scoring models", level=1).is_visible()
    check_page(page, "scoring-list")

    # The segment with the most members, as the list shows it.
    sections = page.locator("section.scoring-model")
    counts = [
        int(text.split("·")[1].split("member")[0].strip().replace(",", ""))
        for text in sections.locator("h2").all_inner_texts()
    ]
    chosen = sections.nth(counts.index(max(counts)))
    name = chosen.locator("h2").inner_text().split("·")[0].strip()
    chosen.get_by_role("link", name=f"Edit the scoring model of {name}").click()
    page.wait_for_url("**/scoring/*/")
    assert page.get_by_role("heading", level=1).inner_text().startswith(name)
    check_page(page, "scoring-edit")

    # A band out of order is refused beside its field, and nothing is saved.
    page.get_by_label("Engaged from (score)").fill("90")
    page.get_by_role("button", name="Preview").click()
    error = page.locator("#id_engaged_min_error_1")
    error.wait_for()
    assert "must start below the qualified band" in error.inner_text()
    page.get_by_label("Engaged from (score)").fill("41")

    # Page views weigh 20 instead of 1: accounts move up.
    page.get_by_label("Page view", exact=True).fill("20")
    page.get_by_role("button", name="Preview").click()
    up = page.locator("#preview-up")
    up.wait_for()
    assert int(up.inner_text()) > 0
    assert int(page.locator("#preview-down").inner_text()) == 0
    examples = page.locator("#preview-examples tbody tr")
    assert examples.count() > 0
    assert "→" in examples.first.inner_text()
    check_page(page, "scoring-preview")

    page.get_by_role("button", name="Save as version 2").click()
    page.wait_for_url("**/scoring/*/history/")
    assert "Saved version 2" in page.locator(".message").inner_text()
    newest = page.locator("#version-2")
    assert "current" in newest.locator("h2").inner_text()
    assert "by Maya Marsh" in newest.inner_text()  # the demo marketer
    diff = newest.locator("table.scoring-diff tbody tr")
    assert diff.count() == 1
    assert diff.first.inner_text().split("\t") == ["Weight: Page view", "1", "20"]
    # The recompute job ran (eagerly here) and says so; a worker's would poll.
    page.locator(".job.job-done").wait_for()
    assert "scored with version 2" in page.locator(".job-message").inner_text()
    check_page(page, "scoring-history")

    current = ScoringModel.objects.get(segment__name=name, is_current=True)
    assert current.version == 2 and current.created_by is not None
    assert current.created_by.username == "marketer"
