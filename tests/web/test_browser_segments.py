"""A marketer builds a segment in Chromium on the demo data: the live count
follows the criteria as they are typed, a bad value is refused beside its
field, and the save's membership refresh finishes with the member count."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_builds_a_segment_with_the_live_preview(
    demo_data: None, eager_tasks: None, live_server: Any, page: Any
) -> None:
    from playwright.sync_api import expect

    # Worked out with plain filters, not the fit code: one criterion of weight
    # 1 makes every account that meets it a member (fit 100 >= 50); adding a
    # required "at least 500 employees" of weight 1 keeps the large accounts
    # whatever their industry (fit 50 or 100).
    software = Account.objects.filter(industry__in=["Software", "Telecommunications"]).count()
    large = Account.objects.filter(employees__gte=500).count()
    total = Account.objects.count()
    assert software != large, "the demo data no longer tells the two criteria apart"

    base = live_server.url
    log_in(page, base, "marketer", "demo-marketer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Segments").click()
    page.wait_for_url(f"{base}/segments/")
    assert page.locator("#segment-table tbody tr").count() == 4  # the demo's segments
    check_page(page, "segment-list-demo")

    page.get_by_role("link", name="New segment").click()
    page.wait_for_url(f"{base}/segments/new/")
    check_page(page, "segment-form-new")
    page.get_by_label("Name").fill("Tech at scale")
    page.locator("#id_criteria-0-field").select_option(label="Industry")
    page.locator("#id_criteria-0-op").select_option(label="is one of")
    page.locator("#id_criteria-0-value").fill("Software, Telecommunications")
    count = page.locator("[data-testid=preview-members]")
    expect(count).to_have_text(str(software))
    expect(page.locator(".preview-count")).to_contain_text(f"of {total} accounts would belong")

    # A second, required criterion: the count follows as it is typed.
    page.locator("#id_criteria-1-field").select_option(label="Employees")
    page.locator("#id_criteria-1-op").select_option(label="is at least")
    page.locator("#id_criteria-1-value").fill("lots")
    expect(page.locator(".preview-errors")).to_contain_text("'lots' is not a number")
    page.locator("#id_criteria-1-value").fill("0.5k")
    page.locator("#id_criteria-1-required").check()
    expect(count).to_have_text(str(large))
    sample = page.locator(".preview-sample tbody tr")
    assert sample.count() == min(large, 10)

    # A bad weight is refused on save, beside its field, and nothing is saved.
    page.locator("#id_criteria-1-weight").fill("-2")
    page.get_by_role("button", name="Create segment").click()
    page.wait_for_load_state()
    expect(page.locator(".field.invalid .error")).to_have_text("A weight cannot be negative.")
    check_page(page, "segment-form-error")
    page.locator("#id_criteria-1-weight").fill("1")

    page.get_by_role("button", name="Create segment").click()
    page.wait_for_url(f"{base}/segments/?job=*")
    job = page.locator(".job")
    expect(job).to_contain_text("Done")
    expect(job).to_contain_text(f"Tech at scale now has {large} member")
    row = page.locator("#segment-table tbody tr", has_text="Tech at scale")
    expect(row.locator("td[data-label=Members]")).to_have_text(str(large))
    check_page(page, "segment-list-after-save")

    # Back in the form, the rows read as typed.
    row.get_by_role("link", name="Edit Tech at scale").click()
    expect(page.locator("#id_criteria-1-value")).to_have_value("500")
    expect(page.locator("#id_criteria-1-required")).to_be_checked()
    expect(count).to_have_text(str(large))
    check_page(page, "segment-form-edit")
