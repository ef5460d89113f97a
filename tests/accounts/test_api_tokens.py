"""API tokens stored hashed (issue 18: they were kept in plain text): the key
is shown once, only its SHA-256 is stored, and a request's key is checked by
its hash; old plain-text tokens keep working after the migration hashes them."""

from __future__ import annotations

import hashlib
import importlib
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.api_tokens import api_token_create
from accounts.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def client_with(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


@pytest.fixture
def rep() -> Any:
    return UserFactory.create(username="rep", groups=["Sales"])


def test_a_token_signs_in_by_its_key_and_only_its_hash_is_stored(rep: Any) -> None:
    _, key = api_token_create(user_id=rep.pk, name="CRM sync")
    assert client_with(key).get("/api/accounts/").status_code == 200
    stored = ApiToken.objects.get()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert stored.prefix == key[:8] and len(key) >= 40
    # The key is in no column of the table.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        assert not any(key in str(cell) for row in cursor.fetchall() for cell in row)


def refused(key: str) -> bool:
    # 403, not 401: the first authentication scheme (the session) sends no
    # WWW-Authenticate challenge, so DRF answers 403 (docs: "Authentication").
    answer = client_with(key).get("/api/accounts/")
    return answer.status_code == 403 and answer.json() == {"detail": "Invalid token."}


def test_a_wrong_revoked_or_inactive_users_token_is_refused(rep: Any) -> None:
    token, key = api_token_create(user_id=rep.pk)
    assert refused(key + "x")
    rep.is_active = False
    rep.save()
    assert refused(key)
    rep.is_active = True
    rep.save()
    assert not refused(key)
    token.delete()  # revoked (the admin's delete)
    assert refused(key)


def test_the_command_prints_the_key_once_and_stores_its_hash(rep: Any) -> None:
    out = StringIO()
    call_command("api_token_create", "rep", "--name", "export", stdout=out)
    key = out.getvalue().split("Authorization: Token ")[1].split()[0]
    assert ApiToken.objects.get().key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert client_with(key).get("/api/accounts/").status_code == 200
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("api_token_create", "nobody")


def test_the_migration_hashes_plain_tokens_and_deletes_the_plain_keys(rep: Any) -> None:
    plain = Token.objects.create(user=rep)
    migration = importlib.import_module("accounts.migrations.0013_api_tokens_from_plain")
    migration.tokens_hash(apps, None)
    assert not Token.objects.exists()
    assert client_with(plain.key).get("/api/accounts/").status_code == 200
    assert ApiToken.objects.get().prefix == plain.key[:8]
