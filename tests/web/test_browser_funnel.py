"""The funnel and velocity report as an executive reads it, in Chromium on the
demo data: open the funnel, see the steps and their conversion rates, pick a
segment and see the numbers change, download a table as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Q
from django.utils import timezone

from accounts.models import ICPSegment
from campaigns.models import CampaignTarget
from campaigns.periods import months_shifted
from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def treated_targets(start: Any, end: Any, *, segment: ICPSegment | None = None) -> int:
    """The funnel's first step counted straight from the tables: treated
    targets of campaigns whose dates overlap the period (in the segment)."""
    targets = CampaignTarget.objects.filter(
        in_holdout=False, campaign__starts_on__lte=end, campaign__ends_on__gte=start
    )
    if segment is not None:
        targets = targets.filter(Q(account__segments=segment))
    return targets.values("account_id").distinct().count()


def test_an_executive_reads_the_funnel_picks_a_segment_and_downloads_a_csv(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    today = timezone.localdate()
    start, end = months_shifted(today, -12) + timedelta(days=1), today
    log_in(page, base, "executive", "demo-executive")
    page.goto(f"{base}/reports/funnel/")
    assert page.get_by_role("heading", name="Funnel and velocity", level=1).is_visible()
    assert "to date" in page.locator(".period-shown").inner_text()
    page.get_by_role("link", name="Last 12 months").click()
    page.wait_for_url(f"{base}/reports/funnel/?start={start}&end={end}")

    # The steps with their conversion rates, and the chart beside them.
    steps = page.locator("table#funnel-steps tbody tr")
    assert [steps.nth(i).locator("th").inner_text() for i in range(steps.count())] == [
        "Target accounts", "Engaged", "Qualified", "Opportunity", "Won"]  # fmt: skip
    everyone = treated_targets(start, end)
    assert everyone > 0
    targeted = page.locator('#funnel-steps tr[data-row="targeted"] td[data-figure="accounts"]')
    assert targeted.inner_text() == str(everyone)
    engaged_rate = page.locator(
        '#funnel-steps tr[data-row="engaged"] td[data-figure="from_previous"]'
    ).inner_text()
    assert engaged_rate.endswith("%")
    assert page.locator("svg#funnel-chart rect.chart-series").count() == 5
    check_page(page, "funnel-demo")

    # Pick the segment with the fewest target accounts: the steps and chart change.
    segments = {s: treated_targets(start, end, segment=s) for s in ICPSegment.objects.all()}
    smallest = min(segments, key=lambda s: segments[s])
    assert segments[smallest] < everyone
    page.get_by_role("combobox", name="Segment").select_option(label=smallest.name)
    page.get_by_role("button", name="Show segment").click()
    page.wait_for_url(f"{base}/reports/funnel/?start={start}&end={end}&segment={smallest.pk}")
    assert page.get_by_role("heading", name=f"Funnel: {smallest.name}").is_visible()
    assert targeted.inner_text() == str(segments[smallest])
    # Two series now: all target accounts and the segment.
    assert page.locator("svg#funnel-chart rect.chart-series").count() == 10
    assert page.locator('#funnel-segments tr[data-row="all"] td[data-figure="targeted"]'
                        ).inner_text() == str(everyone)  # fmt: skip

    # The beyond-lead figures are there for an executive, with their costs.
    assert page.locator("table#channel-costs").is_visible()
    assert page.get_by_text("Spend hidden for your role").count() == 0
    assert page.locator('#sources tr[data-row="marketing"] td[data-figure="close_rate"]'
                        ).inner_text()  # fmt: skip
    check_page(page, "funnel-demo-segment")

    # The steps' CSV: the five steps of the segment shown.
    with page.expect_download() as download:
        page.locator("#funnel-steps-block a.csv-link").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert [r["step"] for r in rows] == ["Target accounts", "Engaged", "Qualified",
                                          "Opportunity", "Won"]  # fmt: skip
    assert rows[0]["accounts"] == str(segments[smallest])
    assert download.value.suggested_filename == "funnel-funnel-steps.csv"


def test_sales_reads_the_funnel_without_any_cost_figure(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "sales", "demo-sales", landing="/my-accounts/")
    page.goto(f"{base}/reports/funnel/")
    assert page.get_by_role("heading", name="Funnel and velocity", level=1).is_visible()
    assert page.get_by_text("Spend hidden for your role: cost figures are not shown.").is_visible()
    headers = page.locator("table#channel-costs thead th").all_inner_texts()
    assert "Spend" not in headers and not [h for h in headers if h.startswith("Cost")]
    assert page.locator("table#funnel-steps").is_visible()
    check_page(page, "funnel-demo-sales")
