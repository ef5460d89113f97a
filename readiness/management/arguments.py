"""What the readiness commands read from their command line, in one place."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError


def day(text: str) -> dt.date:
    """A `--today`, `--since` or `--until` value: a date in YYYY-MM-DD form."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date in YYYY-MM-DD form") from None
