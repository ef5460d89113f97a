"""What the bench commands' options accept (manage.py bench, faults_check)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.management.base import CommandError


def whole_number(name: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse `type`: a whole number in [low, high], written with or
    without `_` or `,` between its digits; anything else a CommandError naming it."""

    def parse(value: str) -> int:
        try:
            number = int(value.replace("_", "").replace(",", ""))
        except ValueError:
            raise CommandError(f"{name} {value!r} is not a whole number") from None
        if not low <= number <= high:
            raise CommandError(f"{name} must be between {low:,} and {high:,}")
        return number

    return parse
