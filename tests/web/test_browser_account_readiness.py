"""Readiness as a sales rep reads it, in Chromium (issue 19, part 4): the
account page's Readiness section (a probability with its band and reasons,
a fallback segment, a segment not scored), and the account list sorted by
readiness, then narrowed to "Readiness at least 50%". Screenshots at 1280
and 390 px in artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest

from readiness.models import ReadinessModelStatus
from readiness.services import readiness_scores_refresh
from tests.factories import ICPSegmentFactory
from tests.readiness.hand_model import TODAY, World, hand_model
from tests.readiness.served_world import FALLBACK_REASON, ServedWorld, served_world
from tests.web.browser import check_page, log_in

# The page writes ranges with an en dash and negative weights with a minus sign.
DASH, MINUS = "\u2013", "\u2212"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def modelled(rep: Any) -> World:
    """The hand-made model's world (tests/readiness/hand_model.py), warm a
    member of two more segments: one falls back, one has no model."""
    world = World()
    world.segment.name = "Mid-market SaaS"
    world.segment.save()
    world.warm.name = "Warmfield"
    world.warm.owner = rep
    world.warm.save()
    hand_model(world.segment)
    growth = ICPSegmentFactory.create(name="Growth")
    hand_model(growth, status=ReadinessModelStatus.FALLBACK, parameters={}, reason=FALLBACK_REASON)
    startups = ICPSegmentFactory.create(name="Startups")
    for segment in (growth, startups):
        world.warm.memberships.create(segment=segment, fit_score=10)
    readiness_scores_refresh(today=TODAY)
    return world


@pytest.fixture
def listed(rep: Any) -> ServedWorld:
    return served_world(owner=rep)


def test_a_rep_reads_why_an_account_is_ready(modelled: World, live_server: Any, page: Any) -> None:
    base = live_server.url
    log_in(page, base, "rep", landing="/my-accounts/")
    page.goto(f"{base}/accounts/{modelled.warm.pk}/")
    section = page.get_by_role("region", name="Readiness")
    assert section.is_visible()
    scored = section.locator(f"#readiness-{modelled.segment.pk}")
    assert scored.get_by_role("heading", name="Mid-market SaaS").is_visible()
    # p = 1 / (1 + exp(1.8 + 0.5)) = 9.1%; band: 12 of 100, Wilson 7.0%-19.8%.
    assert (
        scored.locator(".readiness-figure")
        .inner_text()
        .startswith("9% likely to open an opportunity within 90 days")
    )
    assert (
        scored.locator(".readiness-band")
        .inner_text()
        .startswith(f"7%{DASH}20% of 100 similar backtest predictions opened an opportunity")
    )
    up = scored.get_by_role("table", name="What raised the probability")
    rows = [text.split("\t") for text in up.locator("tbody tr").all_inner_texts()]
    assert rows == [
        ["Engagement score", "60", "+5.40"],
        ["Requested a demo in 30 days", "yes", "+2.40"],
    ]
    down = scored.get_by_role("table", name="What lowered it")
    assert down.locator("tbody tr").all_inner_texts() == [f"No tier\tyes\t{MINUS}1.60"]
    assert "this model 0.81, the engagement score 0.74, the MQL rule 0.58" in (
        scored.locator(".readiness-model").inner_text()
    )
    # By segment name: Growth falls back, Startups has no model yet.
    headings = section.get_by_role("heading", level=3).all_inner_texts()
    assert headings == ["Growth", "Mid-market SaaS", "Startups"]
    texts = section.locator(".readiness-segment").all_inner_texts()
    assert FALLBACK_REASON in texts[0] and "engagement score serves instead" in texts[0]
    assert "Not scored: no readiness model has been trained" in texts[2]
    section.scroll_into_view_if_needed()
    check_page(page, "account-readiness")


def test_a_rep_sorts_the_list_by_readiness_and_keeps_the_likely_ones(
    listed: ServedWorld, live_server: Any, page: Any
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    log_in(page, base, "rep", landing="/my-accounts/")
    page.goto(f"{base}/accounts/?segment={listed.segment.pk}")
    page.locator("#main").get_by_role("link", name="Readiness", exact=True).click()
    page.wait_for_url("**sort=-readiness**")
    # Most likely first; clicked again, least likely first: unknown last both ways.
    names = page.locator("table.accounts tbody a.account-link")
    expect(names).to_have_text(["Alpha", "Bravo", "Charlie", "Delta"])
    check_page(page, "account-list-readiness")
    page.locator("#main").get_by_role("link", name="Readiness", exact=True).click()
    page.wait_for_url("**sort=readiness**")
    expect(names).to_have_text(["Bravo", "Alpha", "Charlie", "Delta"])
    cells = page.locator('table.accounts tbody td[data-label="Readiness"]')
    assert [text.split("\n")[0].strip() for text in cells.all_inner_texts()] == [
        "30%", "62%", "— fallback", "— not scored",
    ]  # fmt: skip
    # The dash says why, to a screen reader and on hover.
    assert "falls back to the engagement score" in cells.nth(2).inner_text()
    assert "Not scored yet" in (cells.nth(3).locator("span").first.get_attribute("title") or "")

    page.get_by_label("Readiness at least (%)").fill("50")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**readiness_min=50**")
    expect(names).to_have_text(["Alpha"])
