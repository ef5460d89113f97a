"""Spend and the campaign report as the demo marketer sees them in Chromium:
add a spend line to a program and see the totals move, a refused amount
explained beside its field, edit and delete the line, then the campaign's
report with its lift intervals drawn and their numbers beside them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from campaigns.models import Campaign
from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_CAMPAIGN = "Mid-market SaaS pipeline push"


@pytest.fixture
def demo_campaign(demo_data: None) -> dict[str, Any]:
    """The demo campaign's id and first program, read before the browser starts."""
    campaign = Campaign.objects.get(name=DEMO_CAMPAIGN)
    program = campaign.programs.order_by("starts_on", "name", "id").first()
    assert program is not None
    return {"pk": campaign.pk, "program": program.pk, "program_name": program.name}


def amount(text: str) -> Decimal:
    return Decimal(text.split()[0].replace(",", ""))


def test_a_marketer_records_spend_and_reads_the_report(
    demo_campaign: dict[str, Any], live_server: Any, page: Any
) -> None:
    base, pk, program = live_server.url, demo_campaign["pk"], demo_campaign["program"]
    log_in(page, base, "marketer", "demo-marketer")
    page.goto(f"{base}/campaigns/{pk}/spend/")
    assert page.get_by_role("heading", name=DEMO_CAMPAIGN, level=1).is_visible()
    total = page.locator(f'[data-program-total="{program}-USD"]')
    before = amount(total.inner_text())
    campaign_total = page.locator("#campaign-spend-total")
    campaign_before = amount(campaign_total.inner_text())
    check_page(page, "campaign-spend-demo")

    # A negative amount is refused beside the field, and nothing is added.
    page.get_by_label("Program").select_option(label=demo_campaign["program_name"])
    page.get_by_label("Date").fill("2026-02-10")
    page.get_by_label("Amount").fill("-5")
    page.get_by_role("button", name="Add the line").click()
    assert page.locator("#id_amount_error_1").inner_text() == (
        "Ensure this value is greater than or equal to 0."
    )
    assert amount(total.inner_text()) == before

    # A good line: the program's and the campaign's totals move by its amount.
    page.get_by_label("Amount").fill("1234.56")
    page.get_by_label("Note").fill("Browser test sponsorship")
    page.get_by_role("button", name="Add the line").click()
    page.wait_for_url(f"**/campaigns/{pk}/spend/#program-{program}")
    assert "Spend line added: 1,234.56 USD on 2026-02-10" in page.locator(".message").inner_text()
    assert amount(total.inner_text()) == before + Decimal("1234.56")
    assert amount(campaign_total.inner_text()) == campaign_before + Decimal("1234.56")

    # Edit it, then delete it: the total comes back.
    row = page.locator("tr", has_text="Browser test sponsorship")
    row.get_by_role("link", name="Edit").click()
    check_page(page, "campaign-spend-edit-demo")
    page.get_by_label("Amount").fill("1000")
    page.get_by_role("button", name="Save the line").click()
    page.wait_for_url(f"**/campaigns/{pk}/spend/#program-{program}")
    assert amount(total.inner_text()) == before + Decimal("1000")
    row.get_by_role("link", name="Delete").click()
    assert page.get_by_role("heading", name="Delete this spend line?").is_visible()
    check_page(page, "campaign-spend-delete-demo")
    page.get_by_role("button", name="Delete the line").click()
    page.wait_for_url(f"**/campaigns/{pk}/spend/#program-{program}")
    assert amount(total.inner_text()) == before

    # The report, from the campaign's tabs.
    page.get_by_role("navigation", name="Campaign").get_by_role("link", name="Report").click()
    page.wait_for_url(f"**/campaigns/{pk}/report/")
    chart = page.locator("svg#lift-intervals")
    assert chart.is_visible()
    drawn = page.locator("svg#lift-intervals g.chart-interval").count()
    listed = page.locator("#lift-table tbody tr:not(.excluded)").count()
    assert drawn == listed > 0
    campaign_row = page.locator('#reach-table tr[data-row="campaign"]')
    assert campaign_row.locator('[data-figure="lift_treated"]').inner_text().isdigit()
    assert page.locator("svg#spend-pipeline").is_visible()
    assert page.locator("#spend-table tbody tr").count() >= 2
    check_page(page, "campaign-report-demo")
