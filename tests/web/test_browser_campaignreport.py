"""The campaign report as an executive reads it, in Chromium on the demo data:
open it, choose the last twelve months, see one lift error bar per row with an
interval and the pipeline table closed by "Influenced by no program" and the
period's total, download a table as CSV; the accessibility scan and the
screenshots (one of them is the README's, docs/screenshots/campaign-report.png)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Opportunity
from campaigns.periods import period_presets
from tests.web.browser import SCREENSHOTS, WIDE, check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_executive_reads_the_campaign_report(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "executive", "demo-executive")
    page.goto(f"{base}/reports/campaigns/")
    assert page.get_by_role("heading", name="Campaign report", level=1).is_visible()
    assert page.locator("nav.report-tabs [aria-current=page]").inner_text() == "Campaigns"

    # The demo's history covers the last twelve months: choose them.
    year = next(p for p in period_presets(timezone.now().date()) if p.label == "Last 12 months")
    page.get_by_role("link", name="Last 12 months").click()
    page.wait_for_url(f"{base}/reports/campaigns/?start={year.start}&end={year.end}")
    assert "Last 12 months" in page.locator(".period-shown").inner_text()

    # One error bar per campaign or program whose lift has an interval.
    rows = page.locator("table#lift tbody tr")
    with_interval = [
        rows.nth(i).get_attribute("data-row")
        for i in range(rows.count())
        if rows.nth(i).locator("td[data-figure=lift_interval] .why").count() == 0
    ]
    assert with_interval, "the demo's year has no interval to draw"
    assert page.locator("svg#lift-campaigns g.chart-interval").count() == len(with_interval)
    assert page.locator("svg#lift-campaigns g.chart-interval line").count() == len(with_interval)
    beside = page.locator("table#lift-drawn tbody tr")
    assert [beside.nth(i).get_attribute("data-row") for i in range(beside.count())] == with_interval
    channel_rows = page.locator("table#channel-lift tbody tr")
    channel_intervals = sum(
        1
        for i in range(channel_rows.count())
        if channel_rows.nth(i).locator("td[data-figure=lift_interval] .why").count() == 0
    )
    assert page.locator("svg#lift-channels g.chart-interval").count() == channel_intervals

    # The pipeline table closes with the no-program line and the period's total,
    # which is every opportunity opened in the period (the database's own sum).
    pipeline = page.locator("table#pipeline tbody tr")
    last_two = [pipeline.nth(pipeline.count() - k) for k in (2, 1)]
    assert last_two[0].locator("th").inner_text() == "Influenced by no program"
    assert last_two[1].locator("th").inner_text() == "Period total: every opportunity opened"
    opened = Opportunity.objects.filter(opened_on__range=(year.start, year.end))
    total = opened.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    assert total > 0
    figure = last_two[1].locator("td[data-figure=pipeline_attributed]").inner_text()
    assert figure == f"{total:,.2f}"
    assert last_two[1].locator("td[data-figure=opportunities_influenced]").inner_text() == str(
        opened.count()
    )
    assert page.locator("svg#spend-pipeline-scatter circle.chart-point").count() >= 1

    # The pipeline table downloads as CSV with the same rows.
    with page.expect_download() as download_info:
        page.locator("#pipeline-block").get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == (
        f"campaign-report-{year.start:%Y%m%d}-{year.end:%Y%m%d}-pipeline.csv"
    )
    table = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(table) == 1 + pipeline.count()
    assert table[-1][0] == "Period total: every opportunity opened"
    assert Decimal(table[-1][table[0].index("pipeline_attributed")]) == total

    check_page(page, "campaign-report-demo")
    # The README's picture: the report at 1280 px from its top down to the
    # pipeline table's closing lines.
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator("#pipeline-block").bounding_box()
    assert box is not None
    bottom = int(box["y"] + box["height"] + 16)
    page.screenshot(
        path=str(SCREENSHOTS / "campaign-report-readme-1280.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": WIDE, "height": bottom},
    )


def test_sales_reads_the_report_without_spend(demo_data: None, live_server: Any, page: Any) -> None:
    base = live_server.url
    log_in(page, base, "sales", "demo-sales", landing="/my-accounts/")
    year = next(p for p in period_presets(timezone.now().date()) if p.label == "Last 12 months")
    page.goto(f"{base}/reports/campaigns/?start={year.start}&end={year.end}")
    assert page.get_by_role("heading", name="Campaign report", level=1).is_visible()
    assert (
        page.locator("p.spend-hidden").first.inner_text().startswith("Spend hidden for your role")
    )
    assert page.locator("table#spend, table#channel-spend, table#scatter").count() == 0
    assert page.locator("svg#spend-pipeline-scatter").count() == 0
    # Every figure that is not spend is there, the closing line too.
    assert page.locator("svg#lift-campaigns g.chart-interval").count() >= 1
    total = page.locator("table#pipeline tr[data-row=period-total]")
    assert total.locator("th").inner_text() == "Period total: every opportunity opened"
    check_page(page, "campaign-report-demo-sales")
