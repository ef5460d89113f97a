"""The ingest benchmark's rows in the database: its two sources, the check that
every event is stored exactly once, the raw COPY of the same rows it is
compared with, and the deletion of all it wrote.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass

from django.db import connection, transaction

from accounts.models import Contact
from bench.ingest.workload import USER_PREFIX
from bench.measure import checkpoint
from engagement.models import Source

HTTP_SOURCE = "bench ingest (HTTP)"
COPY_SOURCE = "bench ingest (COPY)"
# The columns the raw COPY copies (the source is the COPY's own).
COPY_COLUMNS = (
    "message_id, type, occurred_at, received_at, account_id, contact_id, anonymous_id, ip, "
    "tracking_key, event_name, properties, excluded_reason"
)


@dataclass(frozen=True)
class Stored:
    rows: int
    distinct_message_ids: int
    checksum: int
    with_contact: int
    with_account: int


def stored_rows(source_id: int) -> Stored:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT message_id), "
            "coalesce(sum(('x' || substr(md5(message_id), 1, 15))::bit(60)::bigint), 0), "
            "count(contact_id), count(account_id) "
            "FROM engagement_activity WHERE source_id = %s",
            [source_id],
        )
        row = cursor.fetchone()
    assert row is not None
    return Stored(
        rows=row[0],
        distinct_message_ids=row[1],
        checksum=int(row[2]),
        with_contact=row[3],
        with_account=row[4],
    )


def copy_same_rows(*, from_source_id: int, to_source_id: int) -> float:
    """Dump the stored rows to a file (not timed), then COPY them back in under
    another source, committed (timed)."""
    # Integers and constant column names only.
    dump = (
        f"COPY (SELECT {int(to_source_id)}, {COPY_COLUMNS} FROM engagement_activity "  # noqa: S608  # nosec B608
        f"WHERE source_id = {int(from_source_id)} ORDER BY id) TO STDOUT"
    )
    with tempfile.TemporaryFile() as rows:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.cursor.copy_expert(dump, rows)
        rows.seek(0)
        checkpoint(required=False)
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.cursor.copy_expert(
                f"COPY engagement_activity (source_id, {COPY_COLUMNS}) FROM STDIN", rows
            )
        return time.perf_counter() - started


def bench_data_delete() -> None:
    """Remove the benchmark's sources, their activities and the contacts it made."""
    source_ids = list(
        Source.objects.filter(name__in=[HTTP_SOURCE, COPY_SOURCE]).values_list("pk", flat=True)
    )
    if source_ids:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            # Their pending rows first (ActivityPending has no foreign key to cascade).
            cursor.execute(
                "DELETE FROM engagement_activitypending p USING engagement_activity a"
                " WHERE a.id = p.activity_id AND a.source_id = ANY(%s)",
                [source_ids],
            )
            cursor.execute(
                "DELETE FROM engagement_activity WHERE source_id = ANY(%s)", [source_ids]
            )
            # Their message keys (ActivityMessage): only retention deletes them
            # in the product, where activity is never deleted otherwise.
            cursor.execute(
                "DELETE FROM engagement_activitymessage WHERE source_id = ANY(%s)", [source_ids]
            )
    Contact.objects.filter(external_id__startswith=USER_PREFIX).delete()
    Source.objects.filter(pk__in=source_ids).delete()
