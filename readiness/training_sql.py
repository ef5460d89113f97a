"""The set-based SQL of the readiness training data: one statement per kind of
feature for a segment and all its month ends at once, never one per account or
per month. Runs on PostgreSQL and SQLite alike.

The month ends travel as a small row source `w` (one row per month end: its
index, the end of its day, and the starts of its 30- and 90-day windows), built
by `_windows_sql` as a UNION ALL of parameter rows, which both databases read
the same way. Activity joins it on `occurred_at` ranges, so each activity is
read once per month end whose 90 days hold it (about three).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.db import connection

from accounts.models import Contact, SegmentMembership
from campaigns.models import Program
from engagement.models import Activity
from engagement.rollup.dialect import aware
from readiness.feature_names import LONG_WINDOW_DAYS, SHORT_WINDOW_DAYS
from readiness.months import end_of_day

_ACTIVITY = Activity._meta.db_table
_MEMBERSHIP = SegmentMembership._meta.db_table
_PROGRAM = Program._meta.db_table
_CONTACT = Contact._meta.db_table

# Activity that counts: stored without an exclusion (junk counts zero, DESIGN 4).
_COUNTED = "a.excluded_reason = ''"


def _moment(value: dt.datetime) -> Any:
    """A timestamp parameter as the database compares it (text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(value)


def _windows_sql(month_ends: Sequence[dt.date]) -> tuple[str, list[Any]]:
    """The month-end row source: (idx, cut, start_short, start_long), one row per
    month end, `cut` the end of its day; windows are [start, cut)."""
    rows, params = [], []
    for index, day in enumerate(month_ends):
        cut = end_of_day(day)
        rows.append("SELECT %s AS idx, %s AS cut, %s AS start_short, %s AS start_long")
        params += [
            index,
            _moment(cut),
            _moment(cut - dt.timedelta(days=SHORT_WINDOW_DAYS)),
            _moment(cut - dt.timedelta(days=LONG_WINDOW_DAYS)),
        ]
    return " UNION ALL ".join(rows), params


class ActivityGroup(NamedTuple):
    """Counted activity of one member account in one month end's 90 days, of one
    contact (None: anonymous), type and program (None: no program's key)."""

    idx: int
    account_id: int
    contact_id: int | None
    seniority: str | None  # the contact's, as it stands today
    type: str
    program_id: int | None
    channel: str | None  # the program's
    short_count: int  # in the 30 days
    long_count: int  # in the 90 days


def activity_groups(*, segment_id: int, month_ends: Sequence[dt.date]) -> list[ActivityGroup]:
    """The segment's members' counted activity in each month end's 90 days,
    grouped by (month end, account, contact, type, program). One read of the
    activity serves the counts by type and channel, the programs touched and
    the contacts by seniority (two reads of it took twice as long)."""
    windows, params = _windows_sql(month_ends)
    sql = f"""
        WITH w AS ({windows})
        SELECT w.idx, a.account_id, a.contact_id, c.seniority, a.type, p.id, p.channel,
               SUM(CASE WHEN a.occurred_at >= w.start_short THEN 1 ELSE 0 END), COUNT(*)
        FROM {_ACTIVITY} a
        JOIN {_MEMBERSHIP} m ON m.account_id = a.account_id AND m.segment_id = %s
        JOIN w ON a.occurred_at >= w.start_long AND a.occurred_at < w.cut
        LEFT JOIN {_CONTACT} c ON c.id = a.contact_id
        LEFT JOIN {_PROGRAM} p ON p.tracking_key = a.tracking_key AND a.tracking_key <> ''
        WHERE {_COUNTED}
        GROUP BY w.idx, a.account_id, a.contact_id, c.seniority, a.type, p.id, p.channel
    """  # noqa: S608 - table names from model metadata; values are bound parameters  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, segment_id])
        return [
            ActivityGroup(int(idx), int(account), contact, seniority, kind, program, channel,
                          int(short), int(long))
            for idx, account, contact, seniority, kind, program, channel, short, long
            in cursor.fetchall()
        ]  # fmt: skip


def last_activity(
    *, segment_id: int, month_ends: Sequence[dt.date]
) -> list[tuple[int, int, dt.datetime]]:
    """The latest counted activity of each member before each month end's cut,
    where there is one: (idx, account, occurred_at). One backward probe per
    (member, month end) of the (account, occurred_at) index: ORDER BY ... LIMIT 1
    stops at the first counted row, where MAX() let PostgreSQL read every
    earlier row of the account."""
    windows, params = _windows_sql(month_ends)
    sql = f"""
        WITH w AS ({windows})
        SELECT w.idx, m.account_id, (
            SELECT a.occurred_at FROM {_ACTIVITY} a
            WHERE a.account_id = m.account_id AND a.occurred_at < w.cut AND {_COUNTED}
            ORDER BY a.occurred_at DESC LIMIT 1
        )
        FROM {_MEMBERSHIP} m CROSS JOIN w
        WHERE m.segment_id = %s
    """  # noqa: S608 - table names from model metadata; values are bound parameters  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, segment_id])
        found = []
        for idx, account, latest in cursor.fetchall():
            moment = aware(latest)
            if moment is not None:
                found.append((int(idx), int(account), moment))
        return found
