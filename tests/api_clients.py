"""DRF API clients signed in as a user of one of the product's roles."""

from __future__ import annotations

from rest_framework.test import APIClient

from tests.factories import UserFactory


def api_client_as(role: str, *, username: str) -> APIClient:
    """An API client authenticated as `username`, a member of the role's group
    (the Marketer, Sales and Executive groups the migrations create)."""
    client = APIClient()
    client.force_authenticate(UserFactory.create(username=username, groups=[role]))
    return client
