"""The activity table's monthly partitions (PostgreSQL, issue 20): names and
bounds. Pure: no ORM, no database.

engagement_activity is partitioned by RANGE (occurred_at), one partition per
calendar month in UTC, named `engagement_activity_pYYYY_MM`, plus a DEFAULT
partition for rows of a month that has none yet (an import of old history, a
month past the ones made ahead). Partitions are made ahead by
engagement.services.partitions (the nightly task), which also moves a month's
rows out of the default partition into a partition of their own. Retention
drops whole months (engagement.services.retention). SQLite keeps one table.
"""

from __future__ import annotations

import datetime as dt
import re

ACTIVITY_TABLE = "engagement_activity"
DEFAULT_PARTITION = f"{ACTIVITY_TABLE}_default"
# This month and the next ones made ahead, so that ingest never lands in the
# default partition in the normal run of things.
MONTHS_AHEAD = 2
# Months further back than this keep their rows in the default partition (a
# stray date from an import must not make hundreds of partitions: a query that
# cannot prune locks every partition and its indexes, docs/scaling.md).
MONTHS_BACK = 120

_NAME = re.compile(rf"^{ACTIVITY_TABLE}_p(\d{{4}})_(\d{{2}})$")


def month_of(at: dt.datetime) -> dt.date:
    """The first day of `at`'s month in UTC."""
    utc = at.astimezone(dt.UTC)
    return dt.date(utc.year, utc.month, 1)


def month_add(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + (month.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def months_ahead(now: dt.datetime) -> list[dt.date]:
    """Now's month and the MONTHS_AHEAD after it."""
    first = month_of(now)
    return [month_add(first, n) for n in range(MONTHS_AHEAD + 1)]


def months_partitioned(months: set[dt.date], now: dt.datetime) -> list[dt.date]:
    """The months that get a partition of their own: those of `months` (the
    months holding activity) from MONTHS_BACK before now's, and months_ahead."""
    first = month_add(month_of(now), -MONTHS_BACK)
    kept = {month for month in months if month >= first}
    return sorted(kept.union(months_ahead(now)))


def partition_name(month: dt.date) -> str:
    return f"{ACTIVITY_TABLE}_p{month:%Y_%m}"


def partition_month(name: str) -> dt.date | None:
    """The month a partition's name holds; None for the default partition."""
    match = _NAME.match(name)
    return dt.date(int(match[1]), int(match[2]), 1) if match else None


def partition_bounds_sql(month: dt.date) -> str:
    """The FOR VALUES clause of a month's partition: [month, next month) in UTC."""
    end = month_add(month, 1)
    return f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{end:%Y-%m-%d} 00:00:00+00')"


def month_start(month: dt.date) -> dt.datetime:
    return dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)
