"""Reads of the activity table's monthly partitions (PostgreSQL; names and
bounds in engagement.partitions)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection

from engagement.models import ActivityPending
from engagement.partitions import ACTIVITY_TABLE, month_add, month_start, partition_month


@dataclass(frozen=True)
class ActivityPartition:
    name: str
    month: dt.date | None  # None: the default partition
    holds_pending: bool = False  # read by activity_partitions_before only


def activity_partitions() -> list[ActivityPartition]:
    """The activity table's partitions, the months' in order, then the default
    one; none where the table is not partitioned (SQLite)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [ACTIVITY_TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    partitions = [ActivityPartition(name=name, month=partition_month(name)) for name in names]
    return sorted(partitions, key=lambda p: (p.month is None, p.month or dt.date.min))


def activity_partitions_before(*, cutoff: dt.datetime) -> list[ActivityPartition]:
    """The partitions of the months wholly before `cutoff`, and the default
    one, each with whether it holds pending activity (not rolled up yet:
    retention keeps it). None where the table is not partitioned."""
    before = [
        p
        for p in activity_partitions()
        if p.month is None or month_start(month_add(p.month, 1)) <= cutoff
    ]
    pending = ActivityPending._meta.db_table
    read: list[ActivityPartition] = []
    with connection.cursor() as cursor:
        for partition in before:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {pending} p JOIN {partition.name} a "  # noqa: S608  # nosec B608
                "ON a.id = p.activity_id)"
            )
            row = cursor.fetchone()
            read.append(
                ActivityPartition(name=partition.name, month=partition.month, holds_pending=row[0])
            )
    return read
