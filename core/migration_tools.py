"""Helpers for migrations that work on large tables."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _statement_timeout_lift(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # SET LOCAL: until the migration's transaction ends, and no further.
        schema_editor.execute("SET LOCAL statement_timeout = 0")


def statement_timeout_lifted() -> migrations.RunPython:
    """First operation of a migration that indexes or rewrites a large table:
    STATEMENT_TIMEOUT_MS guards the web requests, not an upgrade."""
    return migrations.RunPython(_statement_timeout_lift, _statement_timeout_lift, elidable=True)


def statements_per_vendor(*, postgresql: list[str], sqlite: list[str]) -> Any:
    """A RunPython function that executes the statements written for the
    database in use (triggers and functions differ between the two)."""

    def run(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        for statement in postgresql if vendor == "postgresql" else sqlite:
            schema_editor.execute(statement)

    return run
