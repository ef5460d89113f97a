"""The plan of a page's keys query with sorting and scans priced out: what an
index can serve, whatever a small test table's statistics would prefer."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


def keys_plan(pages: Any) -> str:
    """EXPLAIN of the first query a page of `pages` (core.paging.KeysFirst)
    runs, its keys, with sorts and sequential scans off (PostgreSQL): a plan
    without a full Sort then exists only if an index gives the list's order."""
    with CaptureQueriesContext(connection) as captured:
        pages[0:5]
    keys = captured.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + keys)
        return "\n".join(row[0] for row in cursor.fetchall())
