"""The accounts whose score reached the engaged and qualified bands in a
period, read from the monthly peaks for the months it covers whole and from
the daily snapshots for the days at either end (issue 20).

A year's campaign report or overview used to read every daily snapshot of
the year (3.3 million rows at 1M activities in the pages benchmark, 0.5-0.6 s
of each request; docs/benchmarks.md): with the peaks, it reads one row per
account for each whole month and the daily rows of at most two part months,
and compares them with the bands in the database (`accounts_reaching_bands`).
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


# The accounts whose score reached a band in a period (DESIGN 5: engaged and
# qualified). A score reached the band of its (segment, model version), the
# defaults for a version no longer stored, on some day of the period: some
# row of the period (a whole month's peak, or a daily snapshot of the days
# at either end) is at least the band, which is the same as the best score
# being so. Only the engaged rows are grouped and only engaged accounts
# leave the database (about a sixth of the accounts in the pages benchmark,
# where best_scores_in sent every account's best score to Python). The last
# row, with no account, is there when the period has any snapshot at all:
# without one nothing is known, which is not "no account engaged". The
# period's rows are written out twice (those over a band for the accounts,
# every row for the EXISTS, which stops at the first), not as a CTE, which
# PostgreSQL would store whole to read it twice.
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
_PEAK_ROWS = """
SELECT account_id, segment_id, model_version, top AS score
FROM engagement_engagementmonthpeak WHERE month >= %(first)s AND month < %(months_end)s"""
_EDGE_ROWS = """
SELECT account_id, segment_id, model_version, score FROM engagement_engagementsnapshot
WHERE day >= %(start)s AND day <= %(end)s AND (day < %(first)s OR day >= %(months_end)s)"""


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
    One query: the monthly peaks of the months the period covers whole and
    the daily snapshots of the days before and after them."""
    if end < start:
        raise ValueError(f"period end {end} is before its start {start}")
    months = whole_months(start, end)
    peaks = months.first < months.end
    any_rows = (_PEAK_ROWS + " UNION ALL " if peaks else "") + _EDGE_ROWS
    engaged_rows = _EDGE_ROWS + _UNDER_EVERY_BAND.format(score="score")
    if peaks:
        engaged_rows = (
            _PEAK_ROWS + _UNDER_EVERY_BAND.format(score="top") + " UNION ALL " + engaged_rows
        )
    params: dict[str, dt.date | int] = {
        "start": start, "end": end, "first": months.first, "months_end": months.end,
        "engaged_default": ENGAGED_MIN_DEFAULT, "qualified_default": QUALIFIED_MIN_DEFAULT,
    }  # fmt: skip
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
