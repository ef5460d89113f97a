"""Writes of the activity table's monthly partitions (PostgreSQL, issue 20):
months made ahead, months moved out of the default partition, months dropped.
Names and bounds: engagement.partitions; why and what it measured:
docs/scaling.md."""

from __future__ import annotations

import datetime as dt

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from engagement.partition_selectors import activity_partitions
from engagement.partitions import (
    ACTIVITY_TABLE,
    DEFAULT_PARTITION,
    month_add,
    month_of,
    month_start,
    months_partitioned,
    partition_bounds_sql,
    partition_name,
)
from engagement.rollup.dialect import month_of_sql


@transaction.atomic
def activity_partitions_ensure(
    *, now: dt.datetime | None = None, since: dt.date | None = None
) -> list[dt.date]:
    """Make the partitions of now's month and the ones ahead, of every month
    from `since` (a loader about to write history from then), and of every
    month (within MONTHS_BACK) whose rows wait in the default partition,
    moving them there. Returns the months made; nothing on a table that is not
    partitioned. Running it again makes nothing."""
    partitions = activity_partitions()
    if not partitions:
        return []
    existing = {p.month for p in partitions if p.month is not None}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT {month_of_sql('occurred_at')} FROM {DEFAULT_PARTITION}"  # noqa: S608  # nosec B608
        )
        waiting = {row[0] for row in cursor.fetchall()}
    now = now or timezone.now()
    wanted = set(waiting)
    month = since
    while month is not None and month <= month_of(now):
        wanted.add(month)
        month = month_add(month, 1)
    made = [month for month in months_partitioned(wanted, now) if month not in existing]
    for month in made:
        _partition_make(month, moving=month in waiting)
    return made


def _partition_make(month: dt.date, *, moving: bool) -> None:
    name = partition_name(month)
    bounds = partition_bounds_sql(month)
    with connection.cursor() as cursor:
        if not moving:
            cursor.execute(f"CREATE TABLE {name} PARTITION OF {ACTIVITY_TABLE} {bounds}")
            return
        # A partition cannot be made over rows the default partition holds:
        # the month's rows move into a table of their own (no row trigger runs
        # there: their message keys and pending rows stay as they are), which
        # is then attached, its indexes, keys and triggers made as it is.
        cursor.execute(
            f"CREATE TABLE {name} (LIKE {ACTIVITY_TABLE} "
            "INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION)"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608  # nosec B608
            "WHERE occurred_at >= %s AND occurred_at < %s RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved",
            [month_start(month), month_start(month_add(month, 1))],
        )
        cursor.execute(f"ALTER TABLE {ACTIVITY_TABLE} ATTACH PARTITION {name} {bounds}")


# How long a partition's DROP waits for the activity table (milliseconds).
# DROP takes the table itself (ACCESS EXCLUSIVE on the parent), so it waits
# for every statement reading it (a year's report takes seconds) and, while
# it waits, every later statement on the table waits behind it, ingest's
# INSERTs included. Past this wait the month's rows are deleted instead
# (`activity_partitions_drop`), which no reader blocks.
DROP_LOCK_WAIT_MS = 2000
# PostgreSQL's SQLSTATE for a lock not granted within lock_timeout.
_LOCK_NOT_AVAILABLE = "55P03"


def activity_partitions_drop(*, names: list[str], lock_wait_ms: int = DROP_LOCK_WAIT_MS) -> int:
    """Drop these partitions (retention: months wholly before its cutoff with
    no pending row); returns how many rows they held. A catalogue change: no
    row is written, nothing is left to VACUUM. DROP locks the activity table
    until the caller's transaction ends: run it last.

    A DROP that cannot have the table within `lock_wait_ms` (a long report
    or page is reading it) is undone to a savepoint and that month's rows are
    deleted instead: the same rows go in the same transaction, readers and
    ingest are not held, and the empty partition is dropped by a later run
    (it is still a month wholly before the cutoff with no pending row). Not
    `DETACH PARTITION CONCURRENTLY`, which waits for readers without holding
    others: it cannot run inside a transaction, and the fold that must
    commit with the drop (engagement.services.retention) runs in one."""
    dropped = 0
    if not names:
        return 0
    with connection.cursor() as cursor:
        # DROP refuses a table with deferred foreign-key checks still to run
        # (rows written to it earlier in the same transaction): run them now,
        # as the commit would.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT current_setting('lock_timeout')")
        lock_timeout_before = cursor.fetchone()[0]
        for name in names:
            try:
                with transaction.atomic():
                    cursor.execute(f"SELECT COUNT(*) FROM {name}")  # noqa: S608  # nosec B608
                    rows = int(cursor.fetchone()[0])
                    cursor.execute("SET LOCAL lock_timeout = %s", [f"{int(lock_wait_ms)}ms"])
                    cursor.execute(f"DROP TABLE {name}")
                    cursor.execute("SET LOCAL lock_timeout = %s", [lock_timeout_before])
            except OperationalError as error:
                if getattr(error.__cause__, "pgcode", None) != _LOCK_NOT_AVAILABLE:
                    raise
                # The savepoint's rollback undid its SET LOCAL as well.
                cursor.execute(f"DELETE FROM {name}")  # noqa: S608  # nosec B608
                rows = max(cursor.rowcount, 0)
            dropped += rows
    return dropped


def activity_default_partition_vacuum() -> None:
    """VACUUM and ANALYZE the default partition (PostgreSQL). The rows
    `activity_partitions_ensure` moved out of it stay there as dead rows, read
    by every query that cannot prune the default partition, until autovacuum
    comes, which for a table this small may be long after; VACUUM takes them
    and gives back the pages at its end. It cannot run inside a transaction:
    call it outside one (the nightly task does, after the move has
    committed). The partition is empty or nearly so in the normal run of
    things, so this takes milliseconds."""
    if connection.vendor != "postgresql" or not activity_partitions():
        return
    if connection.in_atomic_block:
        raise RuntimeError(
            f"VACUUM of {DEFAULT_PARTITION} cannot run inside a transaction: call it outside one"
        )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {DEFAULT_PARTITION}")


def activity_statistics_refresh() -> None:
    """ANALYZE the activity table as a whole, its partitions and the pending
    table (PostgreSQL). Autovacuum analyzes each partition but never a
    partitioned table itself, whose statistics the planner reads for joins
    over the whole history; a bulk load inside one transaction (demo seeding)
    is seen by no autovacuum at all, and a plan on stale statistics can read
    every partition once per outer row."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ACTIVITY_TABLE}, engagement_activitypending")
