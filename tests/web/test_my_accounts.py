"""My accounts (/my-accounts/), the sales landing page, and its API twin
(/api/my-accounts/). Expected rows and figures are written out by hand from
the scenario below, never taken from the selector under test."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccountFollow
from engagement.models import Alert, AlertInboxVisit
from tests.factories import (
    AccountEngagementFactory,
    AccountFactory,
    AlertFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    SegmentMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine(rep: Any, scenario: dict[str, Any]) -> dict[str, Any]:
    """The conftest scenario (rep owns Alpha: Fintech 70, +10 in 7 days, -5 in
    30; Bravo, owned by another, Fintech 45 with no history; Charlie, nobody's)
    and, for the rep:

    - follows Bravo: change unknown, so last;
    - owns Delta: best segment SaaS 50 (30 a week ago: +20), Fintech 10 (5 a week ago);
    - owns and follows Echo: Fintech 40 (45 a week ago: -5, 38 a month ago: +2);
    - Foxtrot is another's, followed by another: not the rep's.
    """
    today = timezone.now().date()
    week_ago, month_ago = today - dt.timedelta(days=7), today - dt.timedelta(days=30)
    fintech, saas = scenario["fintech"], scenario["saas"]
    other = UserFactory.create(username="another")
    delta = AccountFactory.create(name="Delta", domain="delta.example", owner=rep)
    echo = AccountFactory.create(name="Echo", domain="echo.example", owner=rep)
    foxtrot = AccountFactory.create(name="Foxtrot", owner=other)
    for account, segment, score, stage, on_days in [
        (delta, saas, 50, "engaged", {week_ago: 30}),
        (delta, fintech, 10, "aware", {week_ago: 5}),
        (echo, fintech, 40, "engaged", {week_ago: 45, month_ago: 38}),
        (foxtrot, fintech, 90, "qualified", {week_ago: 10}),
    ]:
        SegmentMembershipFactory.create(segment=segment, account=account)
        AccountEngagementFactory.create(account=account, segment=segment, score=score, stage=stage)
        for day, past in on_days.items():
            EngagementSnapshotFactory.create(account=account, segment=segment, day=day, score=past)
    AccountFollow.objects.create(user=rep, account=scenario["bravo"])
    AccountFollow.objects.create(user=rep, account=echo)
    AccountFollow.objects.create(user=other, account=foxtrot)
    return {**scenario, "delta": delta, "echo": echo, "foxtrot": foxtrot, "other": other}


def test_my_accounts_are_the_owned_and_followed_ones_by_this_weeks_change(
    client: Client, rep: Any, mine: dict[str, Any]
) -> None:
    client.force_login(rep)
    response = client.get("/my-accounts/")
    assert response.status_code == 200
    rows = [
        (a.name, a.scored_segment_name, a.score, a.stage, a.score_change_7d, a.score_change_30d,
         a.owned, a.following)
        for a in response.context["accounts"]
    ]  # fmt: skip
    assert rows == [
        ("Delta", "SaaS", 50, "engaged", 20, None, True, False),
        ("Alpha", "Fintech", 70, "qualified", 10, -5, True, False),
        ("Echo", "Fintech", 40, "engaged", -5, 2, True, True),
        ("Bravo", "Fintech", 45, "engaged", None, None, False, True),  # unknown change last
    ]
    html = response.content.decode()
    assert "<h1>My accounts" in html
    for name in ("Delta", "Alpha", "Echo", "Bravo"):
        assert f'href="/accounts/{mine[name.lower()].pk}/">{name}</a>' in html
    assert "Charlie" not in html and "Foxtrot" not in html
    assert "▲</span> +20" in html and "▼</span> -5" in html and "▲</span> +2" in html
    assert html.count('<span class="badge target">following</span>') == 2  # Echo, Bravo
    assert html.count('<span class="badge">owner</span>') == 3  # Delta, Alpha, Echo
    assert html.index("Delta") < html.index("Alpha") < html.index("Echo") < html.index("Bravo")


def test_the_api_twin_lists_the_same_rows(rep: Any, mine: dict[str, Any]) -> None:
    api = APIClient()
    api.force_authenticate(rep)
    response = api.get("/api/my-accounts/")
    assert response.status_code == 200
    rows = [
        (r["name"], r["scored_segment_name"], r["score"], r["score_change_7d"],
         r["score_change_30d"], r["owned"], r["following"])
        for r in response.json()["results"]
    ]  # fmt: skip
    assert rows == [
        ("Delta", "SaaS", 50, 20, None, True, False),
        ("Alpha", "Fintech", 70, 10, -5, True, False),
        ("Echo", "Fintech", 40, -5, 2, True, True),
        ("Bravo", "Fintech", 45, None, None, False, True),
    ]
    assert not AlertInboxVisit.objects.exists()  # only the page marks alerts as seen


def test_the_csv_has_the_same_rows_in_the_same_order_and_marks_nothing_seen(
    client: Client, rep: Any, mine: dict[str, Any]
) -> None:
    client.force_login(rep)
    response = client.get("/my-accounts/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    header, body = rows[0], rows[1:]
    picked = [header.index(c) for c in ("Account", "Segment", "Score", "Stage",
                                        "Score change 7 days", "Score change 30 days")]  # fmt: skip
    # Unknown changes are empty cells, never 0.
    assert [[row[i] for i in picked] for row in body] == [
        ["Delta", "SaaS", "50", "engaged", "20", ""],
        ["Alpha", "Fintech", "70", "qualified", "10", "-5"],
        ["Echo", "Fintech", "40", "engaged", "-5", "2"],
        ["Bravo", "Fintech", "45", "engaged", "", ""],
    ]
    assert not AlertInboxVisit.objects.exists()
    assert 'href="/my-accounts/export.csv"' in client.get("/my-accounts/").content.decode()


def test_nothing_owned_or_followed_says_why(client: Client, rep: Any) -> None:
    client.force_login(rep)
    html = client.get("/my-accounts/").content.decode()
    assert (
        "You own or follow no accounts yet: follow one from its page, "
        "or ask a marketer to assign you accounts." in html
    )
    assert "nothing new since your last visit" in html


def _alert(account: Any, segment: Any, recipient: Any, *, days_ago: float = 0) -> Alert:
    alert = AlertFactory.create(account=account, segment=segment, recipient=recipient)
    if days_ago:
        created = timezone.now() - dt.timedelta(days=days_ago)
        Alert.objects.filter(pk=alert.pk).update(created_at=created)
    return alert


def _alert_rows(client: Client) -> tuple[list[tuple[str, bool]], int]:
    """The page's alerts (account, new?) and the shell's count as rendered after it."""
    response = client.get("/my-accounts/")
    rows = [(alert.account.name, alert.is_new) for alert in response.context["alerts"]]
    return rows, int(str(response.context["alert_count"]))


def test_alerts_since_the_last_visit_are_new_once(
    client: Client, rep: Any, mine: dict[str, Any]
) -> None:
    fintech = mine["fintech"]
    _alert(mine["alpha"], fintech, rep, days_ago=2)
    _alert(mine["echo"], fintech, rep, days_ago=1)
    _alert(mine["delta"], fintech, rep, days_ago=8)  # before the first visit's 7 days
    _alert(mine["foxtrot"], fintech, mine["other"])  # someone else's
    client.force_login(rep)
    # No visit recorded yet: the last 7 days count, and the shell says so.
    assert int(str(client.get("/accounts/").context["alert_count"])) == 2
    rows, count = _alert_rows(client)
    assert rows == [("Echo", True), ("Alpha", True)]  # newest first
    assert count == 0  # the visit is recorded before the shell renders
    html = client.get("/accounts/").content.decode()
    assert 'href="/my-accounts/"' in html and '<span class="count">0</span>' in html
    # Reloaded: still listed (the last 7 days), no longer new.
    rows, count = _alert_rows(client)
    assert rows == [("Echo", False), ("Alpha", False)]
    # A new alert after the visit is new, and counted in the shell elsewhere.
    _alert(mine["bravo"], fintech, rep)
    assert int(str(client.get("/accounts/").context["alert_count"])) == 1
    rows, _count = _alert_rows(client)
    assert rows == [("Bravo", True), ("Echo", False), ("Alpha", False)]


def test_the_last_visit_outlives_the_session(
    client: Client, rep: Any, mine: dict[str, Any]
) -> None:
    _alert(mine["alpha"], mine["fintech"], rep, days_ago=1)
    client.force_login(rep)
    client.get("/my-accounts/")
    client.logout()
    again = Client()
    again.force_login(rep)
    assert int(str(again.get("/accounts/").context["alert_count"])) == 0


def test_alerts_after_an_old_visit_are_new_however_old(
    client: Client, rep: Any, mine: dict[str, Any]
) -> None:
    AlertInboxVisit.objects.create(user=rep, seen_at=timezone.now() - dt.timedelta(days=20))
    _alert(mine["alpha"], mine["fintech"], rep, days_ago=25)  # before the visit
    _alert(mine["echo"], mine["fintech"], rep, days_ago=12)  # after it, older than 7 days
    client.force_login(rep)
    assert int(str(client.get("/accounts/").context["alert_count"])) == 1
    rows, _count = _alert_rows(client)
    assert rows == [("Echo", True)]


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.get("/my-accounts/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/my-accounts/")


@pytest.mark.parametrize("accounts", [3, 30])
def test_my_accounts_render_in_a_fixed_number_of_queries(
    client: Client, rep: Any, django_assert_num_queries: Any, accounts: int
) -> None:
    segment = ICPSegmentFactory.create()
    today = timezone.now().date()
    for index, account in enumerate(AccountFactory.create_batch(accounts)):
        if index % 2:
            account.owner = rep
            account.save()
        else:
            AccountFollow.objects.create(user=rep, account=account)
        SegmentMembershipFactory.create(segment=segment, account=account)
        AccountEngagementFactory.create(segment=segment, account=account, score=50)
        EngagementSnapshotFactory.create(
            segment=segment, account=account, day=today - dt.timedelta(days=7), score=index
        )
        AlertFactory.create(account=account, segment=segment, recipient=rep)
    AlertInboxVisit.objects.create(user=rep, seen_at=timezone.now() - dt.timedelta(days=1))
    client.force_login(rep)
    # session, user, count, the page's keys and its rows, alerts, the visit
    # recorded (savepoint, update, release), roles and the alert count in the shell
    with django_assert_num_queries(12):
        response = client.get("/my-accounts/")
    assert len(response.context["accounts"]) == accounts
    assert len(response.context["alerts"]) == accounts
