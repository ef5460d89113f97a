"""The account list, the account header, search, the shell and permissions, as
the server renders them. Expected rows are written out by hand from the
scenario below, never taken from the selector under test."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from engagement.rollup.baselines import change_baselines_set
from tests.factories import (
    AccountEngagementFactory,
    AccountFactory,
    AlertFactory,
    ContactFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    OpportunityFactory,
    SegmentMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def names(client: Client, query: str = "") -> list[str]:
    response = client.get(f"/accounts/{query}")
    assert response.status_code == 200
    return [account.name for account in response.context["accounts"]]


def test_the_best_segments_score_change_and_buying_team_are_shown(
    client: Client, rep: Any, scenario: dict[str, Any]
) -> None:
    client.force_login(rep)
    response = client.get("/accounts/")
    rows = {a.name: a for a in response.context["accounts"]}
    alpha, bravo, charlie = rows["Alpha"], rows["Bravo"], rows["Charlie"]
    # Alpha's best segment is Fintech (70 > 20): 70 - 60 and 70 - 75.
    assert (alpha.scored_segment_name, alpha.score, alpha.stage, alpha.fit_grade) == (
        "Fintech", 70, "qualified", "A",
    )  # fmt: skip
    assert (alpha.score_change_7d, alpha.score_change_30d) == (10, -5)
    assert (alpha.engaged_contacts, alpha.open_opportunity_count) == (3, 2)
    assert (bravo.score, bravo.score_change_7d, bravo.score_change_30d) == (45, None, None)
    assert (charlie.score, charlie.stage, charlie.fit_grade) == (None, None, None)
    html = response.content.decode()
    assert "▲</span> +10" in html and "▼</span> -5" in html
    week_ago = (timezone.now().date() - dt.timedelta(days=7)).isoformat()
    assert f"Unknown: no score was recorded on {week_ago}" in html
    assert "3 engaged · 1/2 roles" in html  # engaged contacts, required roles covered
    assert "1 engaged · 0/2 roles" in html
    assert 'href="/accounts/{}/"'.format(scenario["alpha"].pk) in html


def test_a_chosen_segment_lists_its_members_with_their_scores_there(
    client: Client, rep: Any, scenario: dict[str, Any]
) -> None:
    client.force_login(rep)
    response = client.get(f"/accounts/?segment={scenario['saas'].pk}")
    rows = [(a.name, a.score, a.fit_grade) for a in response.context["accounts"]]
    assert rows == [("Alpha", 20, "C")]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?stage=qualified", ["Alpha"]),
        ("?score_min=40&score_max=50", ["Bravo"]),
        ("?change=rose_7d", ["Alpha"]),
        ("?change=fell_30d", ["Alpha"]),
        ("?change=fell_7d", []),
        ("?fit=B", ["Bravo"]),
        ("?tier=3", ["Charlie"]),
        ("?mine=on", ["Alpha"]),
        ("?target=yes", ["Alpha"]),
        ("?target=no", ["Bravo", "Charlie"]),
        ("?q=BRAV", ["Bravo"]),
        ("?q=charlie.ex", ["Charlie"]),
        ("?segment={fintech}&stage=engaged", ["Bravo"]),
        ("?segment={fintech}&score_min=50", ["Alpha"]),
    ],
)
def test_each_filter_narrows_the_list(
    client: Client, rep: Any, scenario: dict[str, Any], query: str, expected: list[str]
) -> None:
    client.force_login(rep)
    assert names(client, query.format(fintech=scenario["fintech"].pk)) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Alpha", "Bravo", "Charlie"]),
        ("-name", ["Charlie", "Bravo", "Alpha"]),
        ("-score", ["Alpha", "Bravo", "Charlie"]),
        ("score", ["Bravo", "Alpha", "Charlie"]),  # unknown last either way
        ("-stage", ["Alpha", "Bravo", "Charlie"]),  # qualified above engaged
        ("stage", ["Bravo", "Alpha", "Charlie"]),
        ("-change_7d", ["Alpha", "Bravo", "Charlie"]),
        ("change_30d", ["Alpha", "Bravo", "Charlie"]),
        ("fit", ["Bravo", "Alpha", "Charlie"]),  # fit score 65 < 90
        ("-engaged", ["Alpha", "Bravo", "Charlie"]),
        ("owner", ["Bravo", "Alpha", "Charlie"]),  # "other" < "rep", nobody last
        ("-open_deals", ["Alpha", "Bravo", "Charlie"]),
        ("-tier", ["Charlie", "Bravo", "Alpha"]),
    ],
)
def test_every_column_sorts(
    client: Client, rep: Any, scenario: dict[str, Any], sort: str, expected: list[str]
) -> None:
    client.force_login(rep)
    assert names(client, f"?sort={sort}") == expected


def test_column_headings_link_to_their_sort_keeping_the_filters(
    client: Client, rep: Any, scenario: dict[str, Any]
) -> None:
    client.force_login(rep)
    html = client.get("/accounts/?tier=1&sort=name&page=1").content.decode()
    assert 'href="?tier=1&amp;sort=-name"' in html  # sorted column: reverse
    assert 'href="?tier=1&amp;sort=-score"' in html  # numbers: highest first
    assert 'aria-sort="ascending"' in html


def test_the_csv_is_what_the_list_shows_on_every_page(
    client: Client, rep: Any, scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("web.views.ACCOUNTS_PER_PAGE", 2)
    client.force_login(rep)
    query = "?sort=-open_deals&target=&q=a"
    first = names(client, query)
    second = names(client, query + "&page=2")
    response = client.get("/accounts/export.csv" + query)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert [row["Account"] for row in rows] == first + second == ["Alpha", "Bravo", "Charlie"]
    alpha = rows[0]
    assert {k: alpha[k] for k in ("Segment", "Score", "Stage", "Score change 7 days",
            "Score change 30 days", "Fit grade", "Engaged contacts", "Required roles covered",
            "Required roles", "Owner", "Open deals", "Tier", "Target")} == {
        "Segment": "Fintech", "Score": "70", "Stage": "qualified", "Score change 7 days": "10",
        "Score change 30 days": "-5", "Fit grade": "A", "Engaged contacts": "3",
        "Required roles covered": "1", "Required roles": "2", "Owner": "Sam Persona",
        "Open deals": "2", "Tier": "1", "Target": "yes",
    }  # fmt: skip
    assert rows[1]["Score change 7 days"] == ""  # unknown, not 0
    filtered = client.get("/accounts/export.csv?tier=2")
    assert filtered.getvalue().decode().count("\n") == 2  # header, Bravo


def test_empty_states_say_why(client: Client, rep: Any, scenario: dict[str, Any]) -> None:
    client.force_login(rep)
    html = client.get("/accounts/?q=zzz").content.decode()
    assert "No accounts match these filters." in html
    assert 'href="/accounts/">Clear the filters</a>' in html
    assert "seed_demo" not in html


def test_no_accounts_at_all_says_how_to_bring_them(client: Client, rep: Any) -> None:
    client.force_login(rep)
    html = client.get("/accounts/").content.decode()
    assert "There are no accounts yet." in html


def test_an_invalid_filter_is_shown_beside_its_field_and_ignored(
    client: Client, rep: Any, scenario: dict[str, Any]
) -> None:
    client.force_login(rep)
    response = client.get("/accounts/?score_min=500&tier=1")
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 100." in response.content.decode()
    assert [a.name for a in response.context["accounts"]] == ["Alpha"]


@pytest.mark.parametrize("accounts", [3, 30])
@pytest.mark.parametrize(
    ("query", "baselines", "queries"),
    [
        # Every account by score: the page's keys from the score index (every
        # account here is scored; the unscored would cost one query more).
        ("", False, 11),
        # One more: whether the segment's change baselines are today's.
        ("?segment={segment}&sort=-change_7d", False, 12),
        # Read from them: the page's keys from the change index.
        ("?segment={segment}&sort=-change_7d", True, 12),
        ("?sort=stage", False, 11),
    ],
)
def test_the_scored_list_renders_in_a_fixed_number_of_queries(
    client: Client, rep: Any, django_assert_num_queries: Any, accounts: int, query: str,
    baselines: bool, queries: int,
) -> None:  # fmt: skip
    segment = ICPSegmentFactory.create()
    for account in AccountFactory.create_batch(accounts, owner=rep):
        SegmentMembershipFactory.create(segment=segment, account=account)
        AccountEngagementFactory.create(segment=segment, account=account, score=accounts)
        EngagementSnapshotFactory.create(
            segment=segment, account=account, day=timezone.now().date() - dt.timedelta(days=7)
        )
        ContactFactory.create(account=account)
        OpportunityFactory.create(account=account)
    if baselines:
        change_baselines_set(segment_id=segment.pk, today=timezone.now().date())
    client.force_login(rep)
    # session, user, segment picker, count, the page's keys and its rows,
    # permissions (user, groups), roles and alert count in the shell
    with django_assert_num_queries(queries):
        response = client.get("/accounts/" + query.format(segment=segment.pk))
    assert len(response.context["accounts"]) == accounts


def test_the_account_page_shows_the_header_and_each_segment(
    client: Client, rep: Any, scenario: dict[str, Any]
) -> None:
    client.force_login(rep)
    html = client.get(f"/accounts/{scenario['alpha'].pk}/").content.decode()
    assert "<h1>Alpha" in html and "alpha.example" in html and "Sam Persona" in html
    assert html.index("Fintech") < html.index("SaaS")  # best score first
    assert "qualified" in html and "▲</span> +10" in html
    charlie = client.get(f"/accounts/{scenario['charlie'].pk}/").content.decode()
    assert "is in no ICP segment" in charlie


def test_a_missing_account_is_the_404_page(client: Client, rep: Any) -> None:
    client.force_login(rep)
    response = client.get("/accounts/999999/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def _is_target(pk: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_target FROM accounts_account WHERE id = %s", [pk])
        return bool(cursor.fetchone()[0])


def test_a_marketer_marks_and_unmarks_a_target(
    client: Client, marketer: Any, scenario: dict[str, Any]
) -> None:
    bravo = scenario["bravo"].pk
    client.force_login(marketer)
    assert "Mark target" in client.get("/accounts/").content.decode()
    response = client.post(
        f"/accounts/{bravo}/target/", {"is_target": "1", "next": "/accounts/?tier=2"}
    )
    assert (response.status_code, response["Location"]) == (302, "/accounts/?tier=2")
    assert _is_target(bravo)
    client.post(f"/accounts/{bravo}/target/", {"is_target": "0", "next": "https://evil.example/"})
    assert not _is_target(bravo)


@pytest.mark.parametrize("persona", ["rep", "executive"])
def test_sales_and_executives_get_the_403_page_for_a_marketers_action(
    client: Client, scenario: dict[str, Any], persona: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(persona))
    assert "Mark target" not in client.get("/accounts/").content.decode()
    response = client.post(f"/accounts/{scenario['bravo'].pk}/target/", {"is_target": "1"})
    assert response.status_code == 403
    assert "You may not do this" in response.content.decode()
    assert not _is_target(scenario["bravo"].pk)


def test_anonymous_visitors_are_sent_to_log_in_from_every_page(
    client: Client, scenario: dict[str, Any]
) -> None:
    pk = scenario["alpha"].pk
    for path in ("/accounts/export.csv", f"/accounts/{pk}/", "/search/?q=a"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    response = client.post(f"/accounts/{pk}/target/", {"is_target": "0"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert _is_target(pk)


@pytest.mark.parametrize(
    ("persona", "landing"),
    [("rep", "/my-accounts/"), ("marketer", "/accounts/"), ("executive", "/accounts/")],
)
def test_every_role_logs_in_and_lands_on_its_page(
    client: Client, persona: str, landing: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    response = client.post(
        "/login/",
        {"username": user.username, "password": "correct horse battery staple"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == landing
    html = response.content.decode()
    assert f"{user.first_name} Persona" in html
    assert 'action="/logout/"' in html


def test_search_finds_accounts_and_contacts_as_a_page_and_as_you_type(
    client: Client, rep: Any, scenario: dict[str, Any]
) -> None:
    client.force_login(rep)
    page = client.get("/search/?q=bravo").content.decode()
    assert "<html" in page
    assert f'href="/accounts/{scenario["bravo"].pk}/">Bravo</a>' in page
    assert "Dana Decider" in page  # contact by email domain
    partial = client.get("/search/?q=dana dec", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and "Dana Decider" in partial
    assert "No account's name or domain contains" in partial
    assert client.get("/search/?q=", headers={"HX-Request": "true"}).content == b""


def test_the_shell_counts_the_users_recent_alerts(
    client: Client, rep: Any, scenario: dict[str, Any]
) -> None:
    from engagement.models import Alert

    AlertFactory.create(account=scenario["alpha"], segment=scenario["fintech"], recipient=rep)
    old = AlertFactory.create(account=scenario["alpha"], segment=scenario["fintech"], recipient=rep)
    Alert.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    AlertFactory.create(account=scenario["bravo"], segment=scenario["fintech"], recipient=None)
    client.force_login(rep)
    response = client.get("/accounts/")
    assert int(str(response.context["alert_count"])) == 1


def test_the_admin_link_is_for_superusers_only(client: Client, rep: Any) -> None:
    client.force_login(rep)
    assert 'href="/admin/"' not in client.get("/accounts/").content.decode()
    admin = UserFactory.create(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert 'href="/admin/"' in client.get("/accounts/").content.decode()
