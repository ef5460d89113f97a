"""The triggers a migration installed, as the database lists them: a table
that SQLite rebuilds (Django's way to alter a column there) loses its
triggers, so each set of triggers has a test that they are there."""

from __future__ import annotations

from django.db import connection


def triggers_on(table: str, *, like: str = "%") -> list[str]:
    """The enabled triggers on `table` whose names match the LIKE pattern
    `like`, sorted by name, on PostgreSQL or SQLite."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass"
                " AND NOT tgisinternal AND tgenabled = 'O' AND tgname LIKE %s",
                [table, like],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                " AND tbl_name = %s AND name LIKE %s",
                [table, like],
            )
        return sorted(row[0] for row in cursor.fetchall())
