"""What the bench commands' options accept (manage.py bench, faults_check)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def whole_numbers(name: str, low: int, high: int) -> Callable[[str], tuple[int, ...]]:
    """An argparse `type`: whole numbers in [low, high] separated by `,` (so
    each written without `,` between its digits: 1000000 or 1_000_000)."""
    one = whole_number(name, low, high)

    def parse(value: str) -> tuple[int, ...]:
        parts = [part.strip() for part in value.split(",")]
        if not all(parts):
            raise CommandError(f"{name} {value!r}: numbers separated by commas, e.g. 1000,2000")
        return tuple(one(part) for part in parts)

    return parse


def names(name: str, choices: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """An argparse `type`: one or more of `choices` separated by `,`, in the
    order given, each once."""

    def parse(value: str) -> tuple[str, ...]:
        given = tuple(dict.fromkeys(part.strip() for part in value.split(",")))
        unknown = [part for part in given if part not in choices]
        if unknown or not given:
            raise CommandError(
                f"{name} {value!r}: one or more of {', '.join(choices)}, separated by commas"
            )
        return given

    return parse
