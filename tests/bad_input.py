"""The bad input catalogue's bookkeeping (issue 18, proof 4): the cases tried
per surface, the server errors and the half-writes seen, which tests/conftest.py
prints at the end of the run (`pytest_terminal_summary`).

Used by tests/core/test_bad_input_catalogue.py and
tests/web/test_browser_xss_catalogue.py."""

from __future__ import annotations

from collections import Counter
from typing import Any

PROJECT_APPS = ("accounts", "engagement", "campaigns", "imports", "core", "auth")

tried: Counter[str] = Counter()
server_errors: Counter[str] = Counter()
half_writes: Counter[str] = Counter()


def tally(surface: str, *, status: int, half_written: bool = False) -> None:
    """One case of `surface` answered `status`; `half_written` when it was
    refused and still changed a table."""
    tried[surface] += 1
    if status >= 500:
        server_errors[surface] += 1
    if half_written:
        half_writes[surface] += 1


def report_lines() -> list[str]:
    """The figures, one line per surface and a total; empty when no case ran."""
    if not tried:
        return []
    lines = [
        f"{surface:<14} {count:>4} cases, {server_errors[surface]} server errors, "
        f"{half_writes[surface]} half-writes"
        for surface, count in sorted(tried.items())
    ]
    lines.append(
        f"{'total':<14} {sum(tried.values()):>4} cases, {sum(server_errors.values())} server "
        f"errors, {sum(half_writes.values())} half-writes"
    )
    return lines


def row_counts() -> dict[str, int]:
    """Rows in every table of the product's models, by model label."""
    from django.apps import apps

    counts: dict[str, int] = {}
    for model in apps.get_models():
        meta: Any = model._meta
        if meta.app_label in PROJECT_APPS and meta.managed and not meta.proxy:
            counts[meta.label] = model._default_manager.count()
    return counts


def changed_tables(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {label for label, count in after.items() if before.get(label) != count}
