"""Sources: create, rotate the write key of, revoke and ensure a tracking source."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from engagement.models import Source
from engagement.selectors import tracking_config_forget, write_key_digest

WRITE_KEY_PREFIX_LENGTH = 8


@dataclass(frozen=True)
class IssuedSource:
    """A source and its write key: the only time the key is known in clear."""

    source: Source
    write_key: str


def _write_key_new() -> str:
    return secrets.token_urlsafe(24)


@transaction.atomic
def source_create(*, name: str, created_by_id: int | None = None) -> IssuedSource:
    name = name.strip()
    if not name:
        raise ValueError("a source needs a name")
    if Source.objects.filter(name=name).exists():
        raise ValueError(f"a source named {name!r} already exists")
    write_key = _write_key_new()
    source = Source.objects.create(
        name=name,
        write_key_hash=write_key_digest(write_key),
        write_key_prefix=write_key[:WRITE_KEY_PREFIX_LENGTH],
        created_by_id=created_by_id,
    )
    return IssuedSource(source=source, write_key=write_key)


@transaction.atomic
def source_write_key_rotate(*, source_id: int) -> IssuedSource:
    """Give a source a new write key; the old one stops working at once in this
    process and within TRACKING_CONFIG_CACHE_SECONDS in the others."""
    source = Source.objects.select_for_update().get(pk=source_id)
    write_key = _write_key_new()
    source.write_key_hash = write_key_digest(write_key)
    source.write_key_prefix = write_key[:WRITE_KEY_PREFIX_LENGTH]
    source.save(update_fields=["write_key_hash", "write_key_prefix"])
    transaction.on_commit(tracking_config_forget)
    return IssuedSource(source=source, write_key=write_key)


def source_revoke(*, source_id: int) -> None:
    """Refuse the source's key from now on (within TRACKING_CONFIG_CACHE_SECONDS
    in other web processes); its stored activity is kept."""
    Source.objects.filter(pk=source_id, is_active=True).update(
        is_active=False, revoked_at=timezone.now()
    )
    tracking_config_forget()


@transaction.atomic
def source_ensure(*, name: str, write_key: str) -> int:
    """The id of the source named `name`, created with `write_key` when missing.

    An existing source keeps its key: rotating it would break every client
    that already sends with it.
    """
    source, _ = Source.objects.get_or_create(
        name=name,
        defaults={
            "write_key_hash": write_key_digest(write_key),
            "write_key_prefix": write_key[:WRITE_KEY_PREFIX_LENGTH],
        },
    )
    return source.pk
