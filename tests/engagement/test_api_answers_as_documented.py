"""Engagement API answers that differed from the schema or were 500s, found by
fuzzing (issue 18, tests/api_fuzz/): each now answers as documented."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import AccountFactory
from tests.openapi_check import answer_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(marketer: APIClient) -> dict[str, Any]:
    return dict(marketer.get("/api/schema/?format=json").json())


def test_an_unscored_unowned_account_is_listed_with_nulls_as_documented(
    sales: APIClient, schema: dict[str, Any]
) -> None:
    AccountFactory.create()
    body = sales.get("/api/accounts/").json()
    row = body["results"][0]
    assert row["score"] is None and row["stage"] is None and row["owner"] is None
    assert answer_errors(schema, path="/api/accounts/", method="GET", status=200, body=body) == []


def test_a_followed_account_without_owner_is_not_owned_rather_than_null(
    sales: APIClient, schema: dict[str, Any]
) -> None:
    account = AccountFactory.create()
    assert sales.post(f"/api/accounts/{account.pk}/follow/").status_code in (200, 201)
    body = sales.get("/api/my-accounts/").json()
    assert [(row["id"], row["owned"], row["following"]) for row in body["results"]] == [
        (account.pk, False, True)
    ]
    assert (
        answer_errors(schema, path="/api/my-accounts/", method="GET", status=200, body=body) == []
    )


def test_a_segment_id_beyond_the_database_keys_is_a_400(sales: APIClient) -> None:
    answer = sales.get(f"/api/accounts/?segment={2**64}")
    assert answer.status_code == 400 and "segment" in answer.json()


def test_an_ordering_naming_no_field_keeps_the_list_ordered(sales: APIClient) -> None:
    AccountFactory.create(name="B")
    AccountFactory.create(name="A")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Django warns when it pages an unordered list
        answer = sales.get("/api/accounts/?ordering=,")
    assert answer.status_code == 200
    assert [row["name"] for row in answer.json()["results"]] == ["A", "B"]
