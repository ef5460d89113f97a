"""Reads for the tracking sources pages: each source's traffic and its refused calls.

"Today" and "this week" are calendar periods in the site's time zone
(settings.TIME_ZONE): today from local midnight, this week from Monday's local
midnight. Each count is a correlated subquery over an index that starts with the
source (activity_source_received_idx, rejected_call_source_idx), so the list is
one query whatever the number of sources and however large the activity table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from engagement.models import Activity, RejectedCall, Source

# How many of a source's most frequent refusal reasons the filter suggests.
REASON_SUGGESTIONS = 20


@dataclass(frozen=True)
class TrafficPeriods:
    """Where today and this week start, as aware datetimes in the site's time zone."""

    time_zone: str
    today_start: dt.datetime
    week_start: dt.datetime


def _local_midnight(day: dt.date) -> dt.datetime:
    tz = timezone.get_default_timezone()
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def traffic_periods(*, now: dt.datetime) -> TrafficPeriods:
    today = timezone.localtime(now, timezone.get_default_timezone()).date()
    return TrafficPeriods(
        time_zone=timezone.get_default_timezone_name(),
        today_start=_local_midnight(today),
        week_start=_local_midnight(today - dt.timedelta(days=today.weekday())),
    )


def _count_per_source(rows: QuerySet, *, count: Count | Sum | None = None) -> Coalesce:
    """COUNT(*) of `rows` (already narrowed to OuterRef('pk')) as a subquery, or
    the aggregate `count`; 0 when there are none (the grouped subquery returns no
    row then)."""
    counted = rows.order_by().values("source").annotate(n=count or Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def sources_with_traffic(*, now: dt.datetime, source_id: int | None = None) -> QuerySet[Source]:
    """Sources (active first, then by name), each annotated with `received_today`,
    `received_week`, `last_received_at` (None when it never sent anything) and
    `refused_week`. One query."""
    periods = traffic_periods(now=now)
    activity = Activity.objects.filter(source=OuterRef("pk"))
    refused = RejectedCall.objects.filter(source=OuterRef("pk"))
    sources = Source.objects.all() if source_id is None else Source.objects.filter(pk=source_id)
    return sources.annotate(
        received_today=_count_per_source(activity.filter(received_at__gte=periods.today_start)),
        received_week=_count_per_source(activity.filter(received_at__gte=periods.week_start)),
        last_received_at=Subquery(activity.order_by("-received_at").values("received_at")[:1]),
        # A dead letter stands for `repeats` identical calls (RejectedCall).
        refused_week=_count_per_source(
            refused.filter(received_at__gte=periods.week_start), count=Sum("repeats")
        ),
    ).order_by("-is_active", "name")


def source_get(*, source_id: int) -> Source | None:
    return Source.objects.filter(pk=source_id).first()


@dataclass(frozen=True)
class RefusedCallFilters:
    """The refused-calls table's filters: reason contains (case-insensitive), and
    received on or after `received_from`, on or before `received_to` (local days)."""

    reason: str = ""
    received_from: dt.date | None = None
    received_to: dt.date | None = None

    def is_filtered(self) -> bool:
        return bool(self.reason or self.received_from or self.received_to)


def refused_calls(*, source_id: int, filters: RefusedCallFilters) -> QuerySet[RejectedCall]:
    """A source's refused calls, newest first (rejected_call_source_idx)."""
    calls = RejectedCall.objects.filter(source_id=source_id)
    if filters.reason:
        calls = calls.filter(reason__icontains=filters.reason)
    if filters.received_from is not None:
        calls = calls.filter(received_at__gte=_local_midnight(filters.received_from))
    if filters.received_to is not None:
        next_day = filters.received_to + dt.timedelta(days=1)
        calls = calls.filter(received_at__lt=_local_midnight(next_day))
    return calls.order_by("-received_at", "-pk")


def refused_call_reasons(*, source_id: int) -> list[tuple[str, int]]:
    """The source's most frequent refusal reasons with their counts, for the filter."""
    rows = (
        RejectedCall.objects.filter(source_id=source_id)
        .values("reason")
        .annotate(n=Sum("repeats"))
        .order_by("-n", "reason")[:REASON_SUGGESTIONS]
    )
    return [(row["reason"], row["n"]) for row in rows]
