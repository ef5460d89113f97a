from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from accounts.api_tokens import api_token_create
from tests.factories import AccountFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(django_user_model: Any) -> Any:
    user = UserFactory.create(username="rep")
    user.groups.add(Group.objects.get(name="Sales"))
    return user


def test_the_api_needs_authentication() -> None:
    assert APIClient().get("/api/accounts/").status_code in (401, 403)


def test_the_api_accepts_a_token(rep: Any) -> None:
    AccountFactory.create(name="Northwind", tier=1)
    AccountFactory.create(name="Contoso", tier=3)
    _, key = api_token_create(user_id=rep.pk)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get("/api/accounts/?tier=1")
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["Northwind"]


@pytest.mark.parametrize("accounts", [2, 30])
def test_the_account_api_query_count_does_not_grow_with_accounts(
    rep: Any, django_assert_num_queries: Any, accounts: int
) -> None:
    for account in AccountFactory.create_batch(accounts, owner=rep):
        ContactFactory.create(account=account)
    api = APIClient()
    api.force_authenticate(rep)
    with django_assert_num_queries(2):  # count, page
        response = api.get("/api/accounts/")
    assert response.json()["count"] == accounts


def test_the_api_schema_and_docs_are_served_offline(rep: Any, client: Client) -> None:
    client.force_login(rep)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_the_openapi_schema_generates_without_warnings(tmp_path: Any) -> None:
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in ("/api/accounts/{id}/engagement/", "/api/imports/{kind}/", "/api/alerts/"):
        assert path in schema
