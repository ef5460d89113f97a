"""What the readiness commands read from their command line, in one place."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError, CommandParser


def day(text: str) -> dt.date:
    """A `--today`, `--since` or `--until` value: a date in YYYY-MM-DD form."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date in YYYY-MM-DD form") from None


def segments_and_today_add(parser: CommandParser) -> None:
    """`--segment ID` (repeatable; default: every active segment) and `--today`:
    what readiness_train and readiness_scores both take."""
    parser.add_argument(
        "--segment",
        type=int,
        action="append",
        help="A segment's id (repeatable; default: every active one).",
    )
    parser.add_argument("--today", type=day, help="Today (default: today, UTC).")
