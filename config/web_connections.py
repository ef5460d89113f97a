"""PostgreSQL sessions of the processes that serve web requests.

The planner's cost of starting parallel workers (`parallel_setup_cost`,
PostgreSQL's default 1000) is raised to 10,000 on the connections a web
process opens, and only there. At 10M activities the planner's estimates
for a whole segment tipped a page's small reads (the list's page of keys,
150 rows; the account timeline, 32 rows) into parallel plans whose workers
took 6-12 ms to start for 1-4 ms of work; with the higher cost they run in
one process (the segment's list 69 -> 52 ms, the account page 68 -> 53 ms
at 10M, in process), while the reports' scans, costed far above it, stay
parallel. The same setting on every connection also slowed the full
recompute (17.2 -> 25.2 s at 10M) and the rollup (1.63 -> 2.36 s), whose
middle-sized statements lost their workers: Celery workers and management
commands keep PostgreSQL's default (docs/benchmarks.md, "Parallel workers
for small reads" and "Serial small reads on the web's connections only").
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

WEB_PARALLEL_SETUP_COST = 10_000


def _web_session_configure(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # An int constant, not input: a session SET takes no bind parameter.
        cursor.execute(f"SET parallel_setup_cost = {int(WEB_PARALLEL_SETUP_COST)}")


def web_connections_configure() -> None:
    """From now on, every database connection this process opens is set up for
    serving pages (config/wsgi.py calls it before serving; `runserver` loads
    that module too). Idempotent."""
    connection_created.connect(_web_session_configure, dispatch_uid="web_connections")
