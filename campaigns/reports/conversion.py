"""What converts (issue 19, part 5; `/api/reports/conversion/` and the
`/reports/conversion/` page): for each value of a dimension (program,
channel, content, activity type, first-touch source), the share of the
accounts it touched in a period that opened an opportunity within 90 days of
that first touch, with a 95% Wilson interval and the number of accounts,
ranked (campaigns.conversion_rates), against the base rate of the segment.

Set-based and a fixed number of queries whatever the accounts and groups: the
segment's name (with `segment`), the retention cutoff (activity before it is
gone: `activity_from` and `period_partly_dropped` say so), the programs (program and channel), each
touched account's first touch by each group, each touched account's first
touch by anything (the base rate), and the opportunities of the touched
accounts. Definitions: docs/readiness.md, "What converts"."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, F, Min, QuerySet, TextField, Value, When, Window
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf, RowNumber

from accounts.models import ICPSegment, Opportunity, OpportunityStatus, SegmentMembership
from campaigns import conversion_rates as rates
from campaigns.models import Channel, Program
from engagement.models import Activity, ActivityCarried, ActivityType
from engagement.retention_selectors import retention_cutoff

PROGRAM = "program"
CHANNEL = "channel"
CONTENT = "content"
ACTIVITY_TYPE = "activity_type"
FIRST_TOUCH_SOURCE = "first_touch_source"
DIMENSIONS: dict[str, str] = {
    PROGRAM: "Program",
    CHANNEL: "Channel",
    CONTENT: "Content",
    ACTIVITY_TYPE: "Activity type",
    FIRST_TOUCH_SOURCE: "First-touch source",
}
PAGE_TYPES = (ActivityType.PAGE_VIEW, ActivityType.PRICING_PAGE_VIEW)
NO_TEXT = Value("", output_field=TextField())


class SegmentNotFound(LookupError):
    """The report was asked for a segment that does not exist."""


@dataclass(frozen=True)
class ConversionQuery:
    dimension: str
    start: dt.date
    end: dt.date
    segment_id: int | None = None
    today: dt.date | None = None


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


def _period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00), UTC: the period's days, whole."""
    return (dt.datetime.combine(start, dt.time.min, dt.UTC),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, dt.UTC))  # fmt: skip


def _counted(segment_id: int | None) -> QuerySet[Activity]:
    """Activity that counts: on an account, not excluded (junk and the like),
    of the segment's members when a segment is asked for."""
    counted = Activity.objects.filter(account__isnull=False, excluded_reason="").order_by()
    if segment_id is not None:
        members = SegmentMembership.objects.filter(segment_id=segment_id).values("account_id")
        counted = counted.filter(account_id__in=members)
    return counted


def _firsts(rows: QuerySet[Any], *fields: str) -> Iterable[tuple[Any, ...]]:
    """(account, *group fields, first touch) per account and group value."""
    return (
        rows.values("account_id", *fields)
        .annotate(first=Min("occurred_at"))
        .values_list("account_id", *fields, "first")
    )


# Each dimension's first touches: {(key, label): {account_id: first touch}}.
Touches = dict[tuple[str, str], dict[int, dt.datetime]]


def _program_touches(in_period: QuerySet[Activity], *, by_channel: bool) -> Touches:
    programs = {
        key: (pk, name, channel)
        for key, pk, name, channel in Program.objects.values_list(
            "tracking_key", "id", "name", "channel"
        )
    }
    keyed = in_period.filter(tracking_key__in=Program.objects.values("tracking_key"))
    touches: Touches = defaultdict(dict)
    for account_id, key, first in _firsts(keyed, "tracking_key"):
        if key not in programs:  # a program renamed its key meanwhile
            continue
        pk, name, channel = programs[key]
        group = ((channel, Channel(channel).label if channel in Channel.values else channel)
                 if by_channel else (str(pk), name))  # fmt: skip
        known = touches[group].get(account_id)
        if known is None or first < known:
            touches[group][account_id] = first
    return touches


def _content_touches(in_period: QuerySet[Activity]) -> Touches:
    """Page views by their path; content downloads by their asset (or title)."""
    rows = (
        in_period.filter(type__in=[*PAGE_TYPES, ActivityType.CONTENT_DOWNLOAD])
        .annotate(
            kind=Case(
                When(type=ActivityType.CONTENT_DOWNLOAD, then=Value("asset")), default=Value("page")
            ),
            content=Case(
                When(
                    type=ActivityType.CONTENT_DOWNLOAD,
                    then=Coalesce(
                        NullIf(KT("properties__asset"), NO_TEXT),
                        NullIf(KT("properties__title"), NO_TEXT),
                    ),
                ),
                default=NullIf(KT("properties__path"), NO_TEXT),
                output_field=TextField(),
            ),
        )
        .filter(content__isnull=False)
    )
    touches: Touches = defaultdict(dict)
    for account_id, kind, content, first in _firsts(rows, "kind", "content"):
        touches[(f"{kind}:{content}", str(content))][account_id] = first
    return touches


def _type_touches(in_period: QuerySet[Activity]) -> Touches:
    labels = dict(ActivityType.choices)
    touches: Touches = defaultdict(dict)
    for account_id, kind, first in _firsts(in_period, "type"):
        touches[(kind, str(labels.get(kind, kind)))][account_id] = first
    return touches


def _first_source_touches(counted: QuerySet[Activity], in_period: QuerySet[Activity],
                          *, start_at: dt.datetime, end_at: dt.datetime,
                          dropped: bool) -> Touches:  # fmt: skip
    """Each account's first counted activity ever, when it falls in the period,
    by its `utm_source` property, or else the tracking source that sent it.
    After retention dropped old activity (`dropped`), an account with counted
    carried activity was first touched before the cutoff: never in the period."""
    touched = in_period.values("account_id")
    if dropped:
        touched = touched.exclude(
            account_id__in=ActivityCarried.objects.filter(excluded_reason="").values("account_id")
        )
    first_rows = (
        counted.filter(account_id__in=touched)
        .annotate(order=Window(RowNumber(), partition_by=[F("account_id")],
                               order_by=[F("occurred_at").asc(), F("id").asc()]))
        .filter(order=1)
        .values_list("account_id", "occurred_at", "source__name",
                     NullIf(KT("properties__utm_source"), NO_TEXT))
    )  # fmt: skip
    touches: Touches = defaultdict(dict)
    for account_id, first, source_name, utm_source in first_rows:
        if start_at <= first < end_at:
            label = str(utm_source).strip().lower() if utm_source else source_name
            touches[(label, label)][account_id] = first
    return touches


def _deals(in_period: QuerySet[Activity]) -> dict[int, list[rates.Deal]]:
    """The opportunities of the touched accounts; a won or lost deal without a
    close date counts as closed the day it opened (its close is unknown)."""
    deals: dict[int, list[rates.Deal]] = defaultdict(list)
    for account_id, opened_on, status, close_on in (
        Opportunity.objects.filter(account_id__in=in_period.values("account_id"))
        .order_by()
        .values_list("account_id", "opened_on", "status", "close_on")
    ):
        closed_on = None if status == OpportunityStatus.OPEN else close_on or opened_on
        deals[account_id].append(rates.Deal(opened_on=opened_on, closed_on=closed_on))
    return deals


def _outcomes(firsts: Mapping[int, dt.datetime], deals: Mapping[int, list[rates.Deal]],
              today: dt.date) -> list[str]:  # fmt: skip
    return [
        rates.account_outcome(first_touch=_day(first), deals=deals.get(account_id, ()), today=today)
        for account_id, first in firsts.items()
    ]


def _figures(group: rates.GroupRate) -> dict[str, Any]:
    interval = group.interval
    return {
        "accounts": group.accounts,
        "converted": group.converted,
        "rate": group.rate,
        "low": interval.low if interval else None,
        "high": interval.high if interval else None,
        "window_open": group.window_open,
        "in_a_deal": group.in_a_deal,
    }


def conversion_report(query: ConversionQuery) -> dict[str, Any]:
    """The report: `base` (the segment's accounts touched by anything in the
    period) and `rows`, one per group value, ranked first, then the groups too
    small to rank. Raises SegmentNotFound for an unknown segment."""
    if query.dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {query.dimension!r}")
    today = query.today or dt.datetime.now(dt.UTC).date()
    segment_name = None
    if query.segment_id is not None:
        segment_name = (
            ICPSegment.objects.filter(pk=query.segment_id).values_list("name", flat=True).first()
        )
        if segment_name is None:
            raise SegmentNotFound(f"no segment {query.segment_id}")
    start_at, end_at = _period_bounds(query.start, query.end)
    # Activity before the retention cutoff is gone: a period reaching back
    # before it is measured from what is left, and says so.
    cutoff = retention_cutoff()
    counted = _counted(query.segment_id)
    in_period = counted.filter(occurred_at__gte=start_at, occurred_at__lt=end_at)

    if query.dimension in (PROGRAM, CHANNEL):
        touches = _program_touches(in_period, by_channel=query.dimension == CHANNEL)
    elif query.dimension == CONTENT:
        touches = _content_touches(in_period)
    elif query.dimension == ACTIVITY_TYPE:
        touches = _type_touches(in_period)
    else:
        touches = _first_source_touches(counted, in_period, start_at=start_at, end_at=end_at,
                                        dropped=cutoff is not None)  # fmt: skip
    base_firsts: dict[int, dt.datetime] = dict(_firsts(in_period))
    deals = _deals(in_period)

    base = rates.group_rate(key="base", label="base",
                            outcomes=_outcomes(base_firsts, deals, today))  # fmt: skip
    groups = rates.ranked([
        rates.group_rate(key=key, label=label, outcomes=_outcomes(firsts, deals, today))
        for (key, label), firsts in touches.items()
    ])  # fmt: skip
    return {
        "dimension": query.dimension,
        "start": query.start,
        "end": query.end,
        "today": today,
        "segment_id": query.segment_id,
        "segment": segment_name,
        "window_days": rates.WINDOW_DAYS,
        "min_accounts_to_rank": rates.MIN_ACCOUNTS_TO_RANK,
        "activity_from": _day(cutoff) if cutoff is not None else None,
        "period_partly_dropped": cutoff is not None and start_at < cutoff,
        "base": _figures(base),
        "rows": [
            {
                "key": group.key,
                "group": group.label,
                "rank": group.rank,
                "ranked": group.rank is not None,
                **_figures(group),
                "against_base": rates.against_base(group, base.rate),
            }
            for group in groups
        ],
    }


__all__ = ["DIMENSIONS", "ConversionQuery", "SegmentNotFound", "conversion_report"]
