"""Tracking sources: a write key shown once, stored hashed, rotatable, revocable."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from engagement.models import Source
from engagement.selectors import source_for_write_key, write_key_digest
from engagement.services.sources import source_create, source_revoke, source_write_key_rotate
from tests.factories import UserFactory
from tests.tracking_client import post

pytestmark = pytest.mark.django_db


def accepted(client: Client, write_key: str) -> bool:
    response = post(client, "/v1/track", b'{"userId": "u", "event": "x"}', write_key)
    return bool(response.status_code == 200)


def test_source_create_prints_the_write_key_on_its_last_line(client: Client) -> None:
    out = StringIO()
    call_command("source_create", "Marketing site", stdout=out)
    write_key = out.getvalue().strip().splitlines()[-1]
    source = Source.objects.get(name="Marketing site")
    assert source.write_key_hash == write_key_digest(write_key)
    assert write_key not in {source.write_key_hash, source.write_key_prefix}
    assert accepted(client, write_key)
    with pytest.raises(CommandError, match="already exists"):
        call_command("source_create", "Marketing site", stdout=StringIO())


def test_rotating_a_key_retires_the_old_one(client: Client) -> None:
    issued = source_create(name="App")
    rotated = source_write_key_rotate(source_id=issued.source.pk)
    assert rotated.write_key != issued.write_key
    assert not accepted(client, issued.write_key)
    assert accepted(client, rotated.write_key)


def test_a_revoked_source_keeps_its_data_and_refuses_its_key(client: Client) -> None:
    issued = source_create(name="App")
    assert accepted(client, issued.write_key)
    source_revoke(source_id=issued.source.pk)
    assert source_for_write_key(issued.write_key) is None
    assert issued.source.activities.count() == 1


def test_the_admin_creates_a_source_and_shows_its_key_once(client: Client) -> None:
    admin_user: Any = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    response = client.post(
        "/admin/engagement/source/add/", {"name": "Docs site", "rate_limit_per_second": "50"},
        follow=True,
    )  # fmt: skip
    message = next(str(m) for m in response.context["messages"])
    write_key = re.search(r"Write key for Docs site: (\S+) ", message).group(1)  # type: ignore[union-attr]
    source = Source.objects.get(name="Docs site")
    assert (source.created_by, source.rate_limit_per_second) == (admin_user, 50)
    assert source_for_write_key(write_key) == source
    page = client.get(f"/admin/engagement/source/{source.pk}/change/")
    assert write_key.encode() not in page.content


def test_the_admin_rotates_and_revokes(client: Client) -> None:
    admin_user: Any = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    issued = source_create(name="App")
    changelist = "/admin/engagement/source/"
    client.post(changelist, {"action": "write_key_rotate", "_selected_action": [issued.source.pk]})
    assert source_for_write_key(issued.write_key) is None
    client.post(changelist, {"action": "revoke", "_selected_action": [issued.source.pk]})
    assert Source.objects.get(pk=issued.source.pk).is_active is False
