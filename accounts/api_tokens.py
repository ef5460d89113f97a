"""API tokens stored hashed: made with the key shown once, checked by hashing
the key a request presents. A token is 32 random bytes (256 bits), so a plain
SHA-256 is enough to keep a stolen table from signing anyone in; a slow
password hash would only slow every API request."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts.models import ApiToken

PREFIX_LENGTH = 8


def api_token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user_id: int, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user_id` and its key, which is not stored and cannot be
    shown again."""
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user_id=user_id, name=name, key_hash=api_token_hash(key), prefix=key[:PREFIX_LENGTH]
    )
    return token, key


class HashedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, the key checked by its hash."""

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = ApiToken.objects.select_related("user").filter(key_hash=api_token_hash(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return token.user, token
