"""The junk room in Chromium, as the demo marketer on the demo data: the
demo's junk contacts (free-mail addresses without an account, demo/process.py)
are listed; one is marked not junk; a country added to the lists changes the
preview's count, and saving flags those contacts."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Contact
from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_junk(demo_data: None) -> dict[str, Any]:
    """Read from the demo before the browser starts: its junk contacts, and how
    many contacts in Japan and in France the rules would newly flag."""
    junk = sorted(str(c) for c in Contact.objects.filter(is_junk=True))
    decided = Contact.objects.filter(junk_reviewed=False, is_junk=False)
    return {
        "junk": junk,
        "jp": decided.filter(country="JP").count(),
        "jp_fr": decided.filter(country__in=["JP", "FR"]).count(),
    }


def test_the_marketer_reviews_junk_and_previews_a_rule_on_the_demo_data(
    demo_junk: dict[str, Any], live_server: Any, page: Any
) -> None:
    base = live_server.url
    assert len(demo_junk["junk"]) == 2 and 0 < demo_junk["jp"] < demo_junk["jp_fr"]
    log_in(page, base, "marketer", "demo-marketer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Junk").click()
    page.wait_for_url(f"{base}/junk/")
    rows = page.locator("table.junk-contacts tbody tr")
    assert rows.count() == 2
    assert (
        sorted(rows.locator("td[data-label=Contact] strong").all_inner_texts()) == demo_junk["junk"]
    )
    assert set(rows.locator("td[data-label=Rule]").all_inner_texts()) == {
        "Free-mail domain (junk without an account)"
    }
    assert set(rows.locator("td[data-label=Reason]").all_inner_texts()) == {"free-mail domain"}
    check_page(page, "junk-review-demo")

    # Mark the first one not junk: it leaves the list and shows under "Not junk".
    first = demo_junk["junk"][0]
    page.get_by_role("button", name=f"Not junk {first}").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").filter(has_text=f"{first} is not junk").is_visible()
    assert rows.count() == 1
    page.get_by_label("Review").select_option("cleared")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**review=cleared**")
    assert rows.locator("td[data-label=Contact] strong").all_inner_texts() == [first]
    assert rows.locator("td[data-label=Reviewed]").inner_text() == "by a person"

    # Find a contact by name and see the form to mark it junk by hand.
    page.get_by_label("Find a contact to mark as junk").fill("a")
    page.get_by_role("button", name="Find").click()
    page.wait_for_url("**q=a**")
    assert page.locator(".junk-found li form").count() > 0
    check_page(page, "junk-review-search-demo")

    # The rules: type a country, the preview counts the contacts there.
    page.get_by_role("link", name="Edit the rules").click()
    page.wait_for_url(f"{base}/junk/rules/")
    check_page(page, "junk-rules-demo")
    flagged = page.locator('#junk-preview [data-count="flagged"]')
    countries = page.get_by_label("Unsupported country (ISO code)")
    countries.fill("JP")
    flagged.wait_for()
    page.wait_for_function(
        "n => document.querySelector('#junk-preview [data-count=flagged]').textContent == n",
        arg=str(demo_junk["jp"]),
    )
    countries.fill("JP\nFR")
    page.wait_for_function(
        "n => document.querySelector('#junk-preview [data-count=flagged]').textContent == n",
        arg=str(demo_junk["jp_fr"]),
    )
    # A bad line is named, and no count is shown.
    countries.fill("JP\nJapan")
    page.get_by_text("Line 2: “JAPAN” is not an ISO 3166-1").wait_for()
    check_page(page, "junk-rules-preview-demo")
    countries.fill("JP\nFR")
    page.wait_for_function(
        "n => document.querySelector('#junk-preview [data-count=flagged]')?.textContent == n",
        arg=str(demo_junk["jp_fr"]),
    )
    assert page.get_by_text("1 stay junk with another reason").is_visible()
    page.get_by_role("button", name="Save and re-apply to every contact").click()
    page.wait_for_url("**/junk/rules/?job=**")
    assert page.get_by_text("Rules saved (2 added, 0 removed)").is_visible()
    # Those contacts, and the demo's other junk contact, junk either way but now
    # with the rules' wording ("free-mail domain without an account: ...",
    # where the demo wrote "free-mail domain"), as the preview said.
    changed = demo_junk["jp_fr"] + 1
    assert page.get_by_text(f"{changed} contacts changed junk status").is_visible()
    page.get_by_role("link", name="← Junk review").click()
    page.get_by_label("Rule").select_option("unsupported_country")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**kind=unsupported_country**")
    assert rows.count() == demo_junk["jp_fr"]
