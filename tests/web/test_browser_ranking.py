"""The ranking review as a marketer does it, in Chromium on the demo data:
open the latest run, find the bottom 10% highlighted, cut a flagged program
with a reason and see the decision; start a run from the form and follow it."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from campaigns import ranking
from campaigns.models import Program, RankingEntry, RankingRun
from campaigns.services import ranking_run
from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_ranking(demo_data: None) -> RankingRun:
    """seed_demo makes no ranking run: rank the six months the schedule would,
    as the beat task does."""
    start, end = ranking.previous_half_year(timezone.now().date())
    return ranking_run(start=start, end=end, trigger="schedule")


def test_a_marketer_cuts_a_flagged_program_of_the_latest_run(
    demo_ranking: RankingRun, live_server: Any, page: Any
) -> None:
    flagged = RankingEntry.objects.select_related("program").get(run=demo_ranking, is_flagged=True)
    judged = RankingEntry.objects.filter(run=demo_ranking, rank__isnull=False).count()
    base = live_server.url
    log_in(page, base, "marketer", "demo-marketer")
    page.get_by_role("link", name="Ranking", exact=True).click()
    page.wait_for_url(f"{base}/ranking/")
    assert page.get_by_role("heading", name="Program ranking", level=1).is_visible()
    check_page(page, "ranking-list-demo")
    page.locator("table.ranking-runs tbody tr").first.get_by_role("link").click()
    page.wait_for_url(f"{base}/ranking/{demo_ranking.pk}/")

    # The judged programs in rank order; the bottom one highlighted with its label.
    rows = page.locator("table.ranking-table tbody tr")
    assert rows.count() == judged
    marked = page.locator("table.ranking-table tbody tr.flagged")
    assert marked.count() == 1
    assert flagged.program.name in marked.inner_text()
    assert "Bottom 10%" in marked.inner_text()
    assert marked.locator("td").first.inner_text() == f"#{flagged.rank}"
    assert page.get_by_role("heading", name="Too early to judge").is_visible()
    check_page(page, "ranking-run-demo")

    card = page.locator(f"#entry-{flagged.pk}")
    # No reason: refused, the error beside the field, nothing recorded.
    card.get_by_role("button", name="Cut this program").click()
    page.wait_for_load_state()
    card = page.locator(f"#entry-{flagged.pk}")
    assert card.locator(".field.invalid .error").inner_text() == "Give the reason for the decision."
    assert RankingEntry.objects.get(pk=flagged.pk).decision == "pending"

    card.get_by_label("Reason").fill("Costliest pipeline per dollar two runs in a row.")
    card.get_by_role("button", name="Cut this program").click()
    page.wait_for_url(f"{base}/ranking/{demo_ranking.pk}/#entry-{flagged.pk}")
    assert page.locator(".message").first.inner_text() == (
        f"Recorded: {flagged.program.name} cut: its status is now Cut."
    )
    card = page.locator(f"#entry-{flagged.pk}")
    recorded = card.locator(".decision-recorded").inner_text()
    assert recorded.startswith("Cut") and "by Maya" in recorded
    assert "Costliest pipeline per dollar" in card.locator(".decision-reason").inner_text()
    assert card.get_by_role("button", name="Cut this program").count() == 0
    assert "Cut" in marked.inner_text()
    assert Program.objects.get(pk=flagged.program_id).status == "cut"
    check_page(page, "ranking-run-demo-decided")


def test_a_marketer_starts_a_run_and_follows_it_to_its_page(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "marketer", "demo-marketer")
    page.goto(f"{base}/ranking/")
    assert "No ranking run yet" in page.locator("table.ranking-runs").inner_text()
    # A period ending before it starts is refused beside the field.
    page.get_by_label("From").fill("2026-06-30")
    page.get_by_label("To").fill("2026-01-01")
    page.get_by_role("button", name="Rank programs").click()
    page.wait_for_load_state()
    assert page.locator(".field.invalid .error").inner_text() == (
        "The period must not end before it starts."
    )
    assert RankingRun.objects.count() == 0
    start, end = ranking.previous_half_year(timezone.now().date())
    page.get_by_label("From").fill(start.isoformat())
    page.get_by_label("To").fill(end.isoformat())
    page.get_by_label("Rank by").select_option("won_per_spend")
    page.get_by_role("button", name="Rank programs").click()
    page.wait_for_url("**/ranking/?job=*")
    run = RankingRun.objects.get()
    # Eager Celery: the job is done by the time the page shows.
    assert "Done" in page.locator(".job").inner_text()
    assert run.metric == "won_per_spend" and run.period_start == start
    assert page.locator("table.ranking-runs tbody tr").count() == 1
    check_page(page, "ranking-list-job-done")
    page.get_by_role("link", name=f"Open run {run.pk}").click()
    page.wait_for_url(f"{base}/ranking/{run.pk}/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Ranking ")
