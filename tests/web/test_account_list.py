"""The account list page (/accounts/): moved from tests/accounts with their
assertions, the query pin updated for the page shell."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def test_the_login_page_is_served_to_anonymous_visitors(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.get("/accounts/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/accounts/"


def test_logging_in_leads_to_the_account_list(client: Client, marketer: Any) -> None:
    # A marketer's landing page (sales reps land on My accounts: test_my_accounts.py).
    response = client.post(
        "/login/", {"username": "marketer", "password": "correct horse battery staple"},
        follow=True,
    )  # fmt: skip
    assert response.redirect_chain[-1][0] == "/accounts/"
    assert b"Accounts" in response.content


def test_the_account_list_shows_buying_team_and_open_deals(client: Client, rep: Any) -> None:
    account = AccountFactory.create(name="Northwind", domain="northwind.example", owner=rep)
    ContactFactory.create_batch(3, account=account)
    OpportunityFactory.create(account=account)
    OpportunityFactory.create(account=account, status="won", close_on="2026-04-01")
    client.force_login(rep)
    response = client.get("/accounts/")
    row = next(a for a in response.context["accounts"] if a.pk == account.pk)
    assert (row.contact_count, row.open_opportunity_count) == (3, 1)
    assert b"northwind.example" in response.content


def test_junk_contacts_are_not_in_the_buying_team(client: Client, rep: Any) -> None:
    """The page, the API (with and without a segment) and a plain SQL count agree."""
    from django.db import connection

    from accounts.models import ICPSegment, SegmentMembership

    account = AccountFactory.create(name="Northwind", owner=rep)
    ContactFactory.create_batch(2, account=account)
    ContactFactory.create(account=account, is_junk=True, junk_reason="job seeker")
    ContactFactory.create(account=account, is_junk=True, junk_reason="competitor")
    empty = AccountFactory.create(name="Only junk")
    ContactFactory.create(account=empty, is_junk=True, junk_reason="competitor")
    segment = ICPSegment.objects.create(name="All")
    for member in (account, empty):
        SegmentMembership.objects.create(segment=segment, account=member)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.name, COUNT(c.id) FROM accounts_account a "
            "LEFT JOIN accounts_contact c ON c.account_id = a.id AND NOT c.is_junk "
            "GROUP BY a.name"
        )
        expected = dict(cursor.fetchall())
    assert expected == {"Northwind": 2, "Only junk": 0}
    client.force_login(rep)
    page = {a.name: a.contact_count for a in client.get("/accounts/").context["accounts"]}
    api = APIClient()
    api.force_authenticate(rep)
    listed = {a["name"]: a["contact_count"] for a in api.get("/api/accounts/").json()["results"]}
    by_segment = api.get(f"/api/accounts/?segment={segment.pk}").json()["results"]
    assert page == listed == {a["name"]: a["contact_count"] for a in by_segment} == expected


def test_the_account_list_filters_by_search_and_owner(client: Client, rep: Any) -> None:
    AccountFactory.create(name="Northwind", owner=rep)
    AccountFactory.create(name="Contoso")
    client.force_login(rep)
    assert [a.name for a in client.get("/accounts/?q=north").context["accounts"]] == ["Northwind"]
    assert [a.name for a in client.get("/accounts/?mine=1").context["accounts"]] == ["Northwind"]


@pytest.mark.parametrize("accounts", [3, 40])
def test_the_account_list_query_count_does_not_grow_with_accounts(
    client: Client, rep: Any, django_assert_num_queries: Any, accounts: int
) -> None:
    for account in AccountFactory.create_batch(accounts, owner=rep):
        ContactFactory.create(account=account)
        OpportunityFactory.create(account=account)
    client.force_login(rep)
    # session, user, the segment picker, count, the page's keys (the scored
    # accounts' from the score index, none here, then the unscored ones') and
    # its rows (core.paging.KeysFirst), the user's permissions and those of
    # their groups (may they mark targets), the user's roles and the alert
    # count and the workspace rooms in the shell
    with django_assert_num_queries(12):
        response = client.get("/accounts/")
    assert len(response.context["accounts"]) == accounts
