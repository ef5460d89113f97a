"""What converts as a marketer reads it, in Chromium: the programs ranked
with their intervals against the base rate, the small groups marked and
unranked, another grouping and a segment picked, the table downloaded as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.utils import timezone

from engagement.models import ActivityPending
from engagement.services.retention import activity_retention_apply
from tests.campaigns import conversion_scenario
from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def history(marketer: Any) -> conversion_scenario.Scenario:
    """The hand-worked history and 30 more members touched by P1 and P2, so
    that those two programs have enough accounts to rank."""
    built = conversion_scenario.build()
    conversion_scenario.more_accounts(built, 30)
    return built


def texts(page: Any, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def test_a_marketer_reads_what_converts_picks_a_grouping_and_downloads_the_csv(
    history: conversion_scenario.Scenario, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "marketer")
    page.goto(f"{base}/reports/")
    tabs = page.get_by_role("navigation", name="Reports")
    tabs.get_by_role("link", name="What converts").click()
    page.wait_for_url(f"{base}/reports/conversion/")
    assert page.get_by_role("heading", name="What converts", level=1).is_visible()
    assert "Last 12 months" in page.locator(".period-shown").inner_text()
    assert page.get_by_role("heading", name="By program: All accounts").is_visible()

    # Ranked programs first, then the one with too few accounts, marked.
    labels = texts(page, "table#conversion tbody th")
    assert labels == ["Base rate: All accounts", "Risk webinar", "Nurture email",
                      "Summit webinar"]  # fmt: skip
    ranks = texts(page, 'table#conversion tbody td[data-figure="rank"]')
    assert ranks[1:3] == ["1", "2"]
    assert ranks[3] == "too few accounts to rank"
    assert page.locator("table#conversion tr.mark-small").count() == 1
    assert page.locator(".conversion-base").inner_text().startswith("Base rate:")
    # The chart draws the two ranked programs' intervals, not the small one.
    assert page.locator("svg#conversion-chart g.chart-interval").count() == 2
    check_page(page, "conversion")

    # Group by channel over the segment's members.
    page.get_by_role("combobox", name="Group by").select_option(label="Channel")
    page.get_by_role("combobox", name="Segment").select_option(label="Mid-market SaaS")
    page.get_by_role("button", name="Show grouping").click()
    page.wait_for_url(f"{base}/reports/conversion/?*dimension=channel&segment={history.segment.pk}")
    assert page.get_by_role("heading", name="By channel: Mid-market SaaS").is_visible()
    assert texts(page, "table#conversion tbody th")[1:] == ["Webinar", "Email"]
    check_page(page, "conversion-channel")

    # The CSV holds what the table shows.
    with page.expect_download() as download:
        page.locator("#conversion-block a.csv-link").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert [r["channel"] for r in rows] == ["Base rate: Mid-market SaaS", "Webinar", "Email"]
    shown = texts(page, 'table#conversion tbody td[data-figure="accounts"]')
    assert [r["accounts"] for r in rows] == [s.replace(",", "") for s in shown]
    assert download.value.suggested_filename == "conversion-conversion.csv"


def test_after_retention_the_report_says_which_activity_is_gone(
    history: conversion_scenario.Scenario, live_server: Any, page: Any
) -> None:
    ActivityPending.objects.all().delete()  # rolled up
    result = activity_retention_apply(months=11, now=timezone.now())
    assert result.cutoff.date() == dt.date(2026, 1, 1)  # today is in December 2026
    base = live_server.url
    log_in(page, base, "marketer")
    page.goto(f"{base}/reports/conversion/")
    note = page.get_by_role("note")
    assert note.is_visible()
    assert note.inner_text().startswith(
        "Activity before 1 January 2026 was removed by the retention setting"
    )
    check_page(page, "conversion-retention")
