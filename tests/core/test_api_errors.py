"""The REST API with its database down answers 503 with Retry-After, as the
tracking API does, never a 500 (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in() -> tuple[APIClient, Client]:
    """A token-less API client and a browser session, both made while the
    database is up."""
    user = UserFactory.create(username="m", groups=["Marketer"])
    api = APIClient()
    api.force_authenticate(user)
    session = Client()
    session.force_login(user)
    return api, session


@pytest.mark.parametrize(
    "url",
    ["/api/accounts/", "/api/campaigns/", "/api/reports/overview/?start=2026-01-01&end=2026-03-31"],
)
def test_an_api_read_with_the_database_down_is_a_503_to_retry(
    signed_in: tuple[APIClient, Client], unreachable_database: None, url: str
) -> None:
    api, session = signed_in
    for client in (api, session):
        answer: Any = client.get(url)
        assert answer.status_code == 503, (url, answer.content)
        assert answer["Retry-After"] == "5"
        assert answer.json() == {
            "code": "unavailable",
            "detail": "the database is unavailable; retry later",
        }


def test_an_api_write_with_the_database_down_is_a_503_too(
    signed_in: tuple[APIClient, Client], unreachable_database: None
) -> None:
    api, _ = signed_in
    answer = api.post("/api/campaigns/", {"name": "x"}, format="json")
    assert answer.status_code == 503
    assert answer["Retry-After"] == "5"
