"""Long batch jobs (the demo seed) run without the web's statement timeout.

STATEMENT_TIMEOUT_MS (config/settings.py) is set on every PostgreSQL
connection so that no web request holds the database for long. A batch job
run from a command or a task writes and claims hundreds of thousands of rows
in one statement by design, and under load such a statement can pass the
limit: the job would then fail at a random point. Its connection lifts the
limit while it runs and restores the connection's own default afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def statement_timeout_lifted() -> Iterator[None]:
    """Run the block with no statement timeout on this connection (PostgreSQL;
    elsewhere there is none). Usable as a decorator."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    try:
        yield
    finally:
        # RESET returns to the connection's default, the -c option it opened with.
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
