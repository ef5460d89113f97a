"""The overview as an executive sees it, in Chromium on the demo data: open
Reports, read the figures, change the period by a preset and by the date
form and see the figures and the chart change, download a table's CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shown(page: Any) -> dict[str, Any]:
    """What a person reads: each card's value, the months listed, the chart's bars."""
    cards = page.locator("li.kpi")
    return {
        "cards": {
            cards.nth(i).get_attribute("data-kpi"): cards.nth(i).locator(".kpi-value").inner_text()
            for i in range(cards.count())
        },
        "months": page.locator("#overview-months tbody th").all_inner_texts(),
        "bars": page.locator("#overview-months-chart rect.chart-series").count(),
        "period": page.locator(".period-shown").inner_text(),
    }


def test_an_executive_reads_the_overview_and_changes_its_period(
    demo_data: None, live_server: Any, page: Any, tmp_path: Path
) -> None:
    base = live_server.url
    log_in(page, base, "executive", "demo-executive")
    page.get_by_role("link", name="Reports", exact=True).click()
    page.wait_for_url(f"{base}/reports/")
    assert page.get_by_role("heading", name="Overview", level=1).is_visible()
    assert page.get_by_role("link", name="Overview").get_attribute("aria-current") == "page"
    quarter = shown(page)
    assert list(quarter["cards"]) == [
        "spend", "pipeline", "won_revenue", "pipeline_per_spend", "accounts_engaged",
        "accounts_qualified", "opportunities_opened", "win_rate", "average_deal_size",
        "cycle_time_days",
    ]  # fmt: skip
    assert "to date" in quarter["period"] and "compared with" in quarter["period"]
    assert quarter["months"][-1] == "Period"
    assert page.locator("#overview-months-chart").is_visible()
    check_page(page, "overview-demo")

    # A preset: the last 12 months, twelve or thirteen calendar months.
    page.get_by_role("link", name="Last 12 months").click()
    page.wait_for_url(f"{base}/reports/?start=*")
    year = shown(page)
    assert year["cards"] != quarter["cards"]
    assert len(year["months"]) - 1 in (12, 13) and year["bars"] > quarter["bars"]
    assert page.get_by_role("link", name="Last 12 months").get_attribute("aria-current") == "true"

    # Any dates, through the form.
    page.get_by_label("From", exact=True).fill("2026-01-01")
    page.get_by_label("To", exact=True).fill("2026-06-30")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"{base}/reports/?start=2026-01-01&end=2026-06-30")
    half = shown(page)
    assert half["months"] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06",
                              "Period"]  # fmt: skip
    assert half["cards"] != year["cards"] and half["bars"] != year["bars"]
    assert "compared with 1 Jul 2025 to 31 Dec 2025" in half["period"]
    check_page(page, "overview-demo-half-year")

    # The figures table's CSV holds what the page shows.
    block = page.locator("#overview-figures-block")
    with page.expect_download() as download:
        block.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "figures.csv"
    download.value.save_as(saved)
    rows = {row["figure"]: row for row in csv.DictReader(io.StringIO(saved.read_text()))}
    assert list(rows)[:3] == ["Spend", "Pipeline", "Won revenue"]
    assert "Won without an amount" in rows
    pipeline_card = page.locator('li[data-kpi="pipeline"] .kpi-value')
    assert rows["Pipeline"]["current"] == pipeline_card.get_attribute("data-value")
    cell = page.locator('#overview-figures tr[data-row="pipeline"] td[data-figure="current"]')
    assert cell.inner_text().replace(",", "") == rows["Pipeline"]["current"]


def test_a_sales_rep_sees_the_overview_without_spend(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "sales", "demo-sales", landing="/my-accounts/")
    page.goto(f"{base}/reports/")
    spend = page.locator('li[data-kpi="spend"]')
    assert spend.locator(".kpi-value").inner_text() == "spend hidden for your role"
    assert page.locator('#overview-figures tr[data-row="spend"]').count() == 0
    assert page.locator('li[data-kpi="pipeline"] .kpi-value').inner_text() != ""
    check_page(page, "overview-demo-sales")
