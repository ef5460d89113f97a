"""A marketer runs a campaign in Chromium on the demo data: opens a demo
campaign, creates one, adds targets from the account list's filters, sees the
holdout, adds a program and builds its tracked link. Every page passes
check_page (axe, screenshots at 1280 and 390 pixels, no sideways scroll)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_creates_a_campaign_targets_it_and_builds_a_link(
    demo_data_held_out: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "marketer", "demo-marketer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.wait_for_url(f"{base}/campaigns/")
    rows = page.locator("table.campaigns tbody tr")
    assert rows.count() >= 1
    check_page(page, "campaign-list-demo")

    # A demo campaign's overview, one with a holdout: its facts and the tab bar
    # (the README's picture).
    held = rows.filter(has_not=page.locator("td[data-label=Holdout]", has_text=re.compile("^0 ")))
    held.first.locator("a").first.click()
    assert page.get_by_role("navigation", name=re.compile("^Campaign ")).is_visible()
    targets = int(page.locator(".facts div:has(dt:text-is('Targets')) dd").inner_text())
    holdout = int(page.locator(".facts div:has(dt:text-is('Holdout')) dd").inner_text().split()[0])
    assert targets > 0 and 0 < holdout < targets
    check_page(page, "campaign-page")

    # A new campaign, starting next month (so its holdout may still be redrawn).
    page.goto(f"{base}/campaigns/")
    page.get_by_role("link", name="New campaign").click()
    start = dt.date.today() + dt.timedelta(days=30)
    page.get_by_label("Name").fill("Browser push")
    page.get_by_label("Objective").select_option("pipeline")
    page.get_by_label("Starts on").fill(start.isoformat())
    page.get_by_label("Ends on").fill((start - dt.timedelta(days=1)).isoformat())
    page.get_by_label("Budget").fill("12000")
    page.get_by_label("Holdout (%)").fill("20")
    page.get_by_role("button", name="Create campaign").click()
    # The server refuses an end before the start, beside the field.
    assert page.locator("#id_ends_on_error_1").inner_text() == "Must not be before the start."
    check_page(page, "campaign-form-errors")
    page.get_by_label("Ends on").fill((start + dt.timedelta(days=60)).isoformat())
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(re.compile(r".*/campaigns/\d+/targets/$"))
    assert "Campaign “Browser push” created" in page.locator(".message").inner_text()
    assert page.locator("table.targets tbody tr td.empty").is_visible()

    # Targets from the account list's filters: fit grade A, counted, then added.
    page.get_by_label("Fit grade").select_option("A")
    page.get_by_role("button", name="Count matching accounts").click()
    page.wait_for_url("**fit=A**")
    preview = page.locator(".preview")
    matching = int(preview.locator("strong").inner_text())
    assert matching > 0
    check_page(page, "campaign-targets-preview")
    preview.get_by_role("button", name=re.compile(r"^Add these \d+ account")).click()
    page.wait_for_url(re.compile(r".*/campaigns/\d+/targets/$"))
    assert page.locator("table.targets tbody tr").count() == matching
    # The same filter on the account list lists as many accounts.
    targets_url = page.url
    page.goto(f"{base}/accounts/?fit=A")
    assert page.locator("table.accounts tbody tr").count() == matching
    page.goto(targets_url)
    # The holdout: the badges in the list are the count in the facts.
    shown = page.locator(".facts div:has(dt:text-is('Holdout')) dd").inner_text()
    badges = page.locator("table.targets .badge.holdout").count()
    assert shown.split()[0] == str(badges)
    assert page.get_by_role("button", name="Draw the holdout again").is_visible()
    check_page(page, "campaign-targets")

    # A program, then its tracked link.
    page.locator("nav.tabs").get_by_role("link", name="Programs").click()
    page.get_by_role("link", name="New program").click()
    page.get_by_label("Name").fill("Launch webinar")
    page.get_by_label("Channel").select_option("webinar")
    page.get_by_label("Tracking key").fill("Browser-Webinar")
    check_page(page, "campaign-program-form")
    page.get_by_role("button", name="Save program").click()
    page.wait_for_url(re.compile(r".*/programs/\?program=\d+#utm$"))
    row = page.locator("table.programs tbody tr").first
    assert "browser-webinar" in row.inner_text()  # stored as the tracker stores keys
    page.get_by_label("Destination URL").fill("https://www.example.com/webinar?lang=en")
    page.get_by_label("Source (utm_source)").fill("linkedin")
    page.get_by_label("Medium (utm_medium)").fill("paid social")
    page.get_by_role("button", name="Build the link").click()
    link = page.get_by_label("The tracked link (select it and copy)").input_value()
    parts = urlsplit(link)
    assert (parts.netloc, parts.path) == ("www.example.com", "/webinar")
    assert parse_qs(parts.query) == {
        "lang": ["en"], "utm_source": ["linkedin"], "utm_medium": ["paid social"],
        "utm_campaign": ["browser-webinar"],
    }  # fmt: skip
    check_page(page, "campaign-programs")


def test_a_sales_rep_reads_a_campaign_but_finds_no_buttons_and_the_403_on_a_write(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "sales", "demo-sales", landing="/my-accounts/")
    page.goto(f"{base}/campaigns/")
    assert page.get_by_role("link", name="New campaign").count() == 0
    page.locator("table.campaigns tbody tr a").first.click()
    page.locator("nav.tabs").get_by_role("link", name="Targets").click()
    assert page.get_by_role("heading", name="Add targets").count() == 0
    assert page.locator("table.targets tbody tr").count() > 0
    check_page(page, "campaign-targets-sales")
    response = page.goto(f"{base}/campaigns/new/")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="You may not do this").is_visible()
