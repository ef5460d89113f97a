"""Reads for the engagement app."""

from __future__ import annotations

import hashlib

from engagement.models import EventTypeMapping, Source


def write_key_digest(write_key: str) -> str:
    """What is stored for a write key: its SHA-256, never the key itself."""
    return hashlib.sha256(write_key.encode()).hexdigest()


def source_for_write_key(write_key: str) -> Source | None:
    """The active source a write key belongs to, or None (unknown or revoked)."""
    if not write_key:
        return None
    return Source.objects.filter(write_key_hash=write_key_digest(write_key), is_active=True).first()


def event_type_mapping() -> dict[str, str]:
    """The marketer-configured event names, over the built-in defaults."""
    return dict(EventTypeMapping.objects.values_list("event_name", "activity_type"))
