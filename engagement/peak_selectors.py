"""The accounts whose score reached the engaged and qualified bands in a
period, read from the monthly peaks for the months it covers whole (and for
a month it covers in part that has no snapshot outside it) and from the
daily snapshots for the other days at either end (issue 20).

A year's campaign report or overview used to read every daily snapshot of
the year (3.3 million rows at 1M activities in the pages benchmark, 0.5-0.6 s
of each request; docs/benchmarks.md): with the peaks, it reads one row per
account for each month and the daily rows of at most two part months, and
compares them with the bands in the database (`accounts_reaching_bands`).
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.db import connection

from engagement.scoring import ENGAGED_MIN_DEFAULT, QUALIFIED_MIN_DEFAULT


class WholeMonths(NamedTuple):
    """The months a period covers whole: [first, end), both first days of a
    month; first == end when it covers none."""

    first: dt.date
    end: dt.date


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def whole_months(start: dt.date, end: dt.date) -> WholeMonths:
    """The months wholly inside [start, end] (both days included)."""
    first = start if start.day == 1 else _next_month(start)
    after = end + dt.timedelta(days=1)
    last_end = after if after.day == 1 else _month_start(after)
    return WholeMonths(first, max(first, last_end))


class PartMonth(NamedTuple):
    """The days [start, end] of `month` (its first day) that a period covers
    when it does not cover the month whole."""

    month: dt.date
    start: dt.date
    end: dt.date


def part_months(start: dt.date, end: dt.date) -> list[PartMonth]:
    """The months [start, end] covers in part, at most two: the days before
    its whole months and the days after them (one month for a period inside
    a month)."""
    months = whole_months(start, end)
    parts = []
    if start < months.first:
        parts.append(
            PartMonth(_month_start(start), start, min(end, months.first - dt.timedelta(days=1)))
        )
    if months.end <= end and (not parts or parts[0].end < months.end):
        first_day = max(start, months.end)
        parts.append(PartMonth(_month_start(first_day), first_day, end))
    return parts


# The accounts whose score reached a band in a period (DESIGN 5: engaged and
# qualified). A score reached the band of its (segment, model version), the
# defaults for a version no longer stored, on some day of the period: some
# row of the period is at least the band, which is the same as the best
# score being so. The period's rows: the peaks of the months it covers
# whole, and for a month it covers in part, that month's peaks too when no
# snapshot at all lies in the month outside the period (its peak is then
# the best of the period's days: a period that ends on the last snapshot
# day, as a report of a period to date does, or starts on the first), else
# the daily snapshots of its days. The choice is made in the statement
# (two EXISTS over the day index, run once: `_OUTSIDE_PART`). Only the engaged rows are
# grouped and only engaged accounts leave the database (about a sixth of
# the accounts in the pages benchmark, where best_scores_in sent every
# account's best score to Python). The last row, with no account, is there
# when the period has any snapshot at all: without one nothing is known,
# which is not "no account engaged". The period's rows are written out
# twice (those over a band for the accounts, every row for the EXISTS,
# which stops at the first), not as a CTE, which PostgreSQL would store
# whole to read it twice.
_REACHING_BANDS_SQL = """
SELECT r.account_id,
       MAX(CASE WHEN r.score >= COALESCE(m.qualified_min, %(qualified_default)s)
           THEN 1 ELSE 0 END)
FROM ({engaged_rows}) r
LEFT JOIN engagement_scoringmodel m
  ON m.segment_id = r.segment_id AND m.version = r.model_version
WHERE r.score >= COALESCE(m.engaged_min, %(engaged_default)s)
GROUP BY r.account_id
UNION ALL
SELECT NULL, 0 WHERE EXISTS ({any_rows})
"""
# Rows under every engaged band (the lowest of the stored models' and the
# default) are dropped as they are read, before the join: most rows are
# (1.17 of the 1.26 million rows at 10M activities in the pages benchmark;
# the statement 0.8 -> 0.6 s). Not in the EXISTS: a period whose snapshots
# are all under the bands is measured, with no account engaged.
_UNDER_EVERY_BAND = """
AND {score} >= (SELECT MIN(v) FROM (SELECT engaged_min AS v FROM engagement_scoringmodel
                UNION ALL SELECT %(engaged_default)s) AS bands)"""
_WHOLE_MONTH_PEAKS = """
SELECT account_id, segment_id, model_version, top AS score
FROM engagement_engagementmonthpeak WHERE month >= %(first)s AND month < %(months_end)s"""
# A part month's days outside the period: any snapshot there, and its peaks
# may hold a better score than the period's days. Two EXISTS, each a range
# of the day index that stops at its first entry (one EXISTS over both
# ranges is planned as a bitmap of every entry in them).
_OUTSIDE_PART = """(
EXISTS (SELECT 1 FROM engagement_engagementsnapshot
        WHERE day >= %(p{n}_month)s AND day < %(p{n}_start)s)
OR EXISTS (SELECT 1 FROM engagement_engagementsnapshot
           WHERE day > %(p{n}_end)s AND day < %(p{n}_next)s))"""
_PART_PEAKS = """
SELECT account_id, segment_id, model_version, top AS score
FROM engagement_engagementmonthpeak WHERE month = %(p{n}_month)s AND NOT {outside}"""
_PART_DAYS = """
SELECT account_id, segment_id, model_version, score FROM engagement_engagementsnapshot
WHERE day >= %(p{n}_start)s AND day <= %(p{n}_end)s AND {outside}"""


def _period_rows(months: WholeMonths, parts: list[PartMonth], *, over_a_band: bool) -> str:
    """The period's rows (account, segment, model version, score), as SQL;
    `over_a_band`: only those at or over the lowest engaged band."""
    peak_filter = _UNDER_EVERY_BAND.format(score="top") if over_a_band else ""
    day_filter = _UNDER_EVERY_BAND.format(score="score") if over_a_band else ""
    selects = [_WHOLE_MONTH_PEAKS + peak_filter] if months.first < months.end else []
    for n in range(len(parts)):
        outside = _OUTSIDE_PART.format(n=n)
        selects.append(_PART_PEAKS.format(n=n, outside=outside) + peak_filter)
        selects.append(_PART_DAYS.format(n=n, outside=outside) + day_filter)
    return "\nUNION ALL".join(selects)


class Reached(NamedTuple):
    """The accounts engaged and qualified in a period (a qualified account is
    also engaged: a model's qualified band is above its engaged band), and
    whether the period has any daily snapshot."""

    engaged: set[int]
    qualified: set[int]
    measured: bool


def accounts_reaching_bands(*, start: dt.date, end: dt.date) -> Reached:
    """The accounts whose best daily snapshot score of some (segment, model
    version) in [start, end] reached that version's engaged / qualified band
    (the defaults of `engagement.scoring` for a version no longer stored).
    One query: the monthly peaks of the months the period covers whole, and
    of a month it covers in part, that month's peaks or the daily snapshots
    of its days (`_REACHING_BANDS_SQL`)."""
    if end < start:
        raise ValueError(f"period end {end} is before its start {start}")
    months = whole_months(start, end)
    parts = part_months(start, end)
    params: dict[str, dt.date | int] = {
        "first": months.first, "months_end": months.end,
        "engaged_default": ENGAGED_MIN_DEFAULT, "qualified_default": QUALIFIED_MIN_DEFAULT,
    }  # fmt: skip
    for n, part in enumerate(parts):
        params.update({f"p{n}_month": part.month, f"p{n}_start": part.start,
                       f"p{n}_end": part.end, f"p{n}_next": _next_month(part.month)})  # fmt: skip
    engaged_rows = _period_rows(months, parts, over_a_band=True)
    any_rows = _period_rows(months, parts, over_a_band=False)
    engaged: set[int] = set()
    qualified: set[int] = set()
    measured = False
    with connection.cursor() as cursor:
        cursor.execute(
            _REACHING_BANDS_SQL.format(engaged_rows=engaged_rows, any_rows=any_rows), params
        )
        for account_id, is_qualified in cursor.fetchall():
            if account_id is None:
                measured = True
                continue
            engaged.add(account_id)
            if is_qualified:
                qualified.add(account_id)
    return Reached(engaged, qualified, measured)
