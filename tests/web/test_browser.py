"""The pages as a person sees them: a live server, Debian's chromium through
Playwright, logged in as each role. Screenshots of every page at 1280 and 390
pixels go to artifacts/screenshots/; every page passes axe's scan with no
serious or critical violation and is no wider than a 390-pixel screen."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from engagement.rollup.baselines import change_baselines_set
from tests.factories import (
    AccountEngagementFactory,
    AccountFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    SegmentMembershipFactory,
)
from tests.web.browser import SCREENSHOTS, WIDE, check_page, log_in

pytestmark = [
    pytest.mark.browser,
    # The live server reads what the test writes, so each test commits its rows.
    pytest.mark.django_db(transaction=True),
]

# The focused element, by id or else by its text.
FOCUSED = "document.activeElement.id || document.activeElement.textContent.trim()"


@pytest.mark.parametrize(
    ("persona", "landing", "heading", "listed"),
    [
        ("rep", "/my-accounts/", "My accounts", 1),  # the rep owns Alpha
        ("marketer", "/accounts/", "Accounts", 3),
        ("executive", "/accounts/", "Accounts", 3),
    ],
)
def test_every_role_logs_in_and_lands_on_its_page(
    scenario: dict[str, Any], personas: dict[str, Any], persona: str, landing: str,
    heading: str, listed: int, live_server: Any, page: Any,
) -> None:  # fmt: skip
    user = personas[persona]
    log_in(page, live_server.url, user.username, landing=landing)
    assert page.get_by_role("heading", name=heading, level=1).is_visible()
    assert page.locator(".topbar .user").inner_text().startswith(f"{user.first_name} Persona")
    rows = page.locator("table.accounts tbody tr")
    assert rows.count() == listed
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/login/")


def test_a_sales_rep_works_the_list_on_the_demo_data(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "sales", "demo-sales")
    rows = page.locator("table.accounts tbody tr")
    assert rows.count() == 10
    check_page(page, "account-list-demo")
    # Highest score first by default; clicking the heading turns it around.
    page.get_by_role("link", name="Score", exact=True).click()
    page.wait_for_url("**sort=score**")
    scores = [
        int(text)
        for text in page.locator("table.accounts tbody td:nth-child(2) strong").all_inner_texts()
    ]
    assert scores == sorted(scores) and scores
    # Filter to my accounts: the URL keeps the filter and the sort.
    page.get_by_label("Mine only").check()
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**mine=on**")
    assert "sort=score" in page.url
    mine = rows.count()
    assert 0 < mine < 10
    owners = page.locator("table.accounts tbody td[data-label=Owner]").all_inner_texts()
    assert set(owners) == {"Sam Sato"}
    # Open the first account from its name.
    first = page.locator("a.account-link").first
    name = first.inner_text()
    first.click()
    assert page.get_by_role("heading", level=1).inner_text().startswith(name)
    assert page.get_by_role("heading", name="Engagement by segment").is_visible()
    check_page(page, "account-demo")


def test_filter_sort_search_and_open_an_account(
    scenario: dict[str, Any], rep: Any, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, rep.username)
    page.get_by_label("Stage").select_option("engaged")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**stage=engaged**")
    assert page.locator("a.account-link").all_inner_texts() == ["Bravo"]
    page.get_by_role("link", name="Clear filters").click()
    page.get_by_role("link", name="Account", exact=True).click()  # sort by name
    page.wait_for_url("**sort=name**")
    assert page.locator("a.account-link").all_inner_texts() == ["Alpha", "Bravo", "Charlie"]
    # Results as you type, in the shell's search box.
    page.get_by_label("Search accounts and contacts").fill("dana")
    result = page.locator("#search-popup").get_by_role("link", name="Dana Decider")
    result.wait_for()
    result.click()
    page.wait_for_url(f"{base}/accounts/{scenario['bravo'].pk}/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Bravo")


@pytest.mark.parametrize("baselines", [False, True])
def test_a_long_list_pages_by_30_day_change_in_one_order(
    marketer: Any, live_server: Any, page: Any, baselines: bool
) -> None:
    # 53 members, each scored 60 today and 60 - change 30 days ago; the changes
    # repeat (ties) and two members have no score 30 days ago (unknown).
    # Read from the snapshots, or from the stored change baselines, where the
    # second page joins the known changes' last row to the unknown ones.
    segment = ICPSegmentFactory.create(name="Paged")
    today = timezone.now().date()
    changes: dict[str, int | None] = {}
    for number in range(53):
        name = f"Account {number:02d}"
        change = None if number % 25 == 7 else (number * 7) % 23 - 11
        account = AccountFactory.create(name=name)
        SegmentMembershipFactory.create(segment=segment, account=account)
        AccountEngagementFactory.create(segment=segment, account=account, score=60)
        if change is not None:
            EngagementSnapshotFactory.create(
                segment=segment, account=account, day=today - dt.timedelta(days=30),
                score=60 - change,
            )  # fmt: skip
        changes[name] = change
    if baselines:
        change_baselines_set(segment_id=segment.pk, today=today)
    # By hand: largest change first, ties by name, the unknown last by name.
    known = sorted((-c, n) for n, c in changes.items() if c is not None)
    expected = [n for _, n in known] + sorted(n for n, c in changes.items() if c is None)
    base = live_server.url
    log_in(page, base, marketer.username)
    page.goto(f"{base}/accounts/?segment={segment.pk}&sort=-change_30d")
    names = page.locator("a.account-link")
    # The 30-day column's figure, as each row shows it (the arrow is hidden).
    shown = page.locator("table.accounts tbody td[data-label='30 days']")
    first, first_shown = names.all_inner_texts(), shown.all_inner_texts()
    assert page.get_by_text("Page 1 of 2").is_visible()
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url("**page=2**")
    second, second_shown = names.all_inner_texts(), shown.all_inner_texts()
    assert (len(first), len(second)) == (50, 3)
    assert first + second == expected
    # Each row shows its own change: the page's rows are read by key after
    # their order is chosen, and must not be shuffled on the way.
    as_shown = {None: "—"} | {c: f"+{c}" if c > 0 else str(c) for c in range(-11, 12)}
    assert [text.split()[-1] for text in first_shown + second_shown] == [
        as_shown[changes[name]] for name in expected
    ]
    check_page(page, "account-list-page-2" + ("-baselines" if baselines else ""))


def test_a_sales_rep_gets_the_403_page_on_a_marketers_url(
    scenario: dict[str, Any], rep: Any, live_server: Any, page: Any
) -> None:
    log_in(page, live_server.url, rep.username)
    response = page.goto(f"{live_server.url}/accounts/{scenario['alpha'].pk}/target/")
    assert response.status == 403
    assert page.get_by_role("heading", name="You may not do this").is_visible()


def test_keyboard_reaches_the_search_box_and_the_first_account(
    scenario: dict[str, Any], rep: Any, live_server: Any, page: Any
) -> None:
    log_in(page, live_server.url, rep.username)
    reached = []
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        )
        if reached[-1] == "Alpha":
            break
    assert "global-search" in reached
    assert reached[-1] == "Alpha"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/accounts/{scenario['alpha'].pk}/")


def test_every_page_passes_the_scan_and_fits_a_phone(
    scenario: dict[str, Any], marketer: Any, rep: Any, live_server: Any, page: Any
) -> None:
    base = live_server.url
    page.goto(f"{base}/login/")
    check_page(page, "login")
    log_in(page, base, marketer.username)
    check_page(page, "account-list")
    page.goto(f"{base}/accounts/?q=nothing-matches")
    check_page(page, "account-list-empty")
    page.goto(f"{base}/accounts/{scenario['alpha'].pk}/")
    check_page(page, "account")
    page.goto(f"{base}/search/?q=a")
    check_page(page, "search")
    page.goto(f"{base}/accounts/999999/")
    check_page(page, "404")
    page.goto(f"{base}/my-accounts/")
    check_page(page, "my-accounts-empty")  # the marketer owns and follows nothing
    page.get_by_role("button", name="Log out").click()
    log_in(page, base, rep.username)
    page.goto(f"{base}/accounts/{scenario['alpha'].pk}/target/")
    check_page(page, "403")


def test_a_sales_rep_works_an_account_page_on_the_demo_data(
    demo_data: None, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "sales", "demo-sales")
    first = page.locator("a.account-link").first
    name = first.inner_text()
    first.click()
    assert page.get_by_role("heading", level=1).inner_text().startswith(name)
    # The trend is drawn from the snapshots, with its figures as points.
    assert page.locator("figure.chart svg[role=img]").count() == 1
    assert page.locator("circle.chart-point").count() > 0
    assert page.get_by_role("heading", name="What changed").is_visible()
    check_page(page, "account-page-demo")
    # The README's picture: the page's first screenfuls (the full page is long).
    page.screenshot(
        path=str(SCREENSHOTS / f"account-page-demo-top-{WIDE}.png"),
        clip={"x": 0, "y": 0, "width": WIDE, "height": 1600},
        full_page=True,
    )
    # Filter the timeline by its most common type: the rows are all of it and
    # the URL keeps the filter (htmx swaps the timeline and pushes the URL).
    types = page.get_by_label("Activity type")
    chosen = types.locator("option").nth(1)
    label, value = chosen.inner_text(), chosen.get_attribute("value")
    types.select_option(value)
    page.locator("#timeline").get_by_role("button", name="Filter").click()
    page.wait_for_url(f"**type={value}**")
    kinds = set(page.locator("table.timeline tbody td:nth-child(3)").all_inner_texts())
    assert kinds and all(kind.startswith(label) for kind in kinds)
    # Follow: the button turns into Unfollow, and stays so after a reload.
    page.get_by_role("button", name="Follow", exact=True).click()
    page.get_by_role("button", name="Unfollow", exact=True).wait_for()
    page.reload()
    assert page.get_by_role("button", name="Unfollow", exact=True).is_visible()
    check_page(page, "account-page-filtered")
    # An executive, who owns no account, follows it from its page and finds it
    # under My accounts, marked as followed.
    account_url = page.url.split("?")[0]
    page.get_by_role("button", name="Log out").click()
    log_in(page, base, "executive", "demo-executive")
    page.goto(account_url)
    page.get_by_role("button", name="Follow", exact=True).click()
    page.get_by_role("button", name="Unfollow", exact=True).wait_for()
    page.goto(f"{base}/my-accounts/")
    rows = page.locator("table.mine tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("a.account-link").inner_text() == name
    assert rows.first.locator(".badge").inner_text() == "following"


@pytest.fixture
def rep_follows_bravo_with_an_alert(scenario: dict[str, Any], rep: Any) -> None:
    """The rep owns Alpha (+10 this week), follows Bravo (no history: last) and
    has an alert on Alpha. A fixture, so that it is written before `page`."""
    from accounts.models import AccountFollow
    from tests.factories import AlertFactory

    AccountFollow.objects.create(user=rep, account=scenario["bravo"])
    AlertFactory.create(account=scenario["alpha"], segment=scenario["fintech"], recipient=rep)


def test_a_sales_rep_lands_on_my_accounts_and_sees_a_new_alert_once(
    scenario: dict[str, Any], rep: Any, rep_follows_bravo_with_an_alert: None,
    live_server: Any, page: Any,
) -> None:  # fmt: skip
    base = live_server.url
    log_in(page, base, rep.username, landing="/my-accounts/")
    assert page.locator("table.mine a.account-link").all_inner_texts() == ["Alpha", "Bravo"]
    assert page.locator("table.mine tbody tr").first.locator(".badge").inner_text() == "owner"
    assert page.locator("table.mine tbody tr").nth(1).locator(".badge").inner_text() == "following"
    assert "+10" in page.locator("table.mine td[data-label='7 days']").first.inner_text()
    new = page.locator(".alert-list li.new")
    assert new.count() == 1 and "Alpha" in new.inner_text()
    check_page(page, "my-accounts")
    page.reload()
    assert page.locator(".alert-list li").count() == 1
    assert page.locator(".alert-list li.new").count() == 0
    assert page.locator(".topbar .alerts .count").inner_text() == "0"
    # The keyboard reaches the alert's account link; Enter opens the account.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) == "Alpha":
            break
    assert page.evaluate(FOCUSED) == "Alpha"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/accounts/{scenario['alpha'].pk}/")
    # The shell's alert count leads back.
    page.locator(".topbar a.alerts").click()
    page.wait_for_url(f"{base}/my-accounts/")
