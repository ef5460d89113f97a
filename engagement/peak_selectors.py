"""The best daily snapshot score of every (account, segment, model version) over
a period, read from the monthly peaks for the months it covers whole and from
the daily snapshots for the days at either end (issue 20).

A year's campaign report or overview used to read every daily snapshot of
the year (3.3 million rows at 1M activities in the pages benchmark, 0.5-0.6 s
of each request; docs/benchmarks.md): with the peaks, it reads one row per
account for each whole month and the daily rows of at most two part months.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.db.models import Max, Q

from engagement.models import EngagementMonthPeak, EngagementSnapshot

# (account, segment, model version) -> best score
BestScores = dict[tuple[int, int, int], int]


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


def best_scores_in(*, start: dt.date, end: dt.date) -> tuple[BestScores, bool]:
    """Every (account, segment, model version) with a snapshot in [start, end],
    with its best score there, and whether any snapshot exists in the period.
    Two queries: the monthly peaks of the whole months, the daily snapshots
    of the days before and after them."""
    months = whole_months(start, end)
    best: BestScores = {}
    found = False
    if months.first < months.end:
        edges = Q(day__gte=start, day__lt=months.first) | Q(day__gte=months.end, day__lte=end)
        peaks = EngagementMonthPeak.objects.filter(month__gte=months.first, month__lt=months.end)
        for account_id, segment_id, version, top in (
            peaks.values("account_id", "segment_id", "model_version")
            .annotate(top=Max("top"))
            .values_list("account_id", "segment_id", "model_version", "top")
        ):
            found = True
            best[(account_id, segment_id, version)] = top
    else:
        edges = Q(day__gte=start, day__lte=end)
    for account_id, segment_id, version, top in (
        EngagementSnapshot.objects.filter(edges)
        .values("account_id", "segment_id", "model_version")
        .annotate(top=Max("score"))
        .values_list("account_id", "segment_id", "model_version", "top")
    ):
        found = True
        key = (account_id, segment_id, version)
        best[key] = max(top, best.get(key, top))
    return best, found
