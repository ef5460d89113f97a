"""Fixtures the engagement tests share."""

from __future__ import annotations

import pytest

from engagement.services.sources import IssuedSource, source_create


@pytest.fixture
def issued() -> IssuedSource:
    """A tracking source and its write key."""
    return source_create(name="Website")
