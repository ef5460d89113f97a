"""Deal metrics for any period over all opportunities, targeted or not (DESIGN
5, "Deal metrics"): pipeline, won revenue, win rate, average won deal, cycle
times and counts, in total and split by segment, source and product line.

Three queries whatever the number of deals: the deals opened or closed in the
period, the segments, and the memberships of those deals' accounts. The
figures are computed by `campaigns.metrics.deal_figures`, which says which
date selects a deal for each figure and how a missing amount counts.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from functools import reduce
from typing import Any

from django.db.models import Q

from accounts.models import (
    ICPSegment,
    Opportunity,
    OpportunitySource,
    OpportunityStatus,
    SegmentMembership,
)
from campaigns import metrics

ALL = "(all opportunities)"
NO_SEGMENT = "(no segment)"
NO_PRODUCT_LINE = "(no product line)"


def _in_period(start: dt.date, end: dt.date) -> Q:
    """Opened in the period, or won or lost in it: every deal some figure selects."""
    return Q(opened_on__range=(start, end)) | Q(
        status__in=(OpportunityStatus.WON, OpportunityStatus.LOST), close_on__range=(start, end)
    )


def deal_facts(*periods: tuple[dt.date, dt.date]) -> list[metrics.DealFacts]:
    """Every deal some figure of any of `periods` selects (opened, won or lost
    in one of them), as `metrics.deal_figures` reads them: give the list to
    `deal_figures` with one period's dates and it picks that period's deals.
    One query whatever the number of periods."""
    for start, end in periods:
        if end < start:
            raise ValueError(f"period end {end} is before its start {start}")
    wanted = reduce(operator.or_, (_in_period(start, end) for start, end in periods))
    return [
        metrics.DealFacts(amount, status, opened_on, close_on)
        for amount, status, opened_on, close_on in Opportunity.objects.filter(wanted)
        .order_by()
        .values_list("amount", "status", "opened_on", "close_on")
    ]


def deal_metrics(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The period's figures as rows: the total, then one per segment (a deal
    counts in every segment its account belongs to, so these overlap; deals of
    accounts in none, and deals without an account, are "(no segment)"), one
    per source and one per product line (these two each add up to the total).
    Three queries."""
    if end < start:
        raise ValueError(f"period end {end} is before its start {start}")
    deals = [
        (account_id, source, product_line,
         metrics.DealFacts(amount, status, opened_on, close_on))
        for account_id, source, product_line, amount, status, opened_on, close_on in (
            Opportunity.objects.filter(_in_period(start, end))
            .order_by()
            .values_list("account_id", "source", "product_line", "amount", "status",
                         "opened_on", "close_on")
        )
    ]  # fmt: skip
    segments = list(ICPSegment.objects.order_by("name", "id").values_list("id", "name"))
    segments_of: dict[int, set[int]] = defaultdict(set)
    for account_id, segment_id in SegmentMembership.objects.filter(
        account_id__in=Opportunity.objects.filter(
            _in_period(start, end), account_id__isnull=False
        ).values("account_id")
    ).values_list("account_id", "segment_id"):
        segments_of[account_id].add(segment_id)

    def row(split: str, group: str, facts: list[metrics.DealFacts], **extra: Any) -> dict:
        return {"split": split, "group": group, **extra,
                **metrics.deal_figures(facts, start=start, end=end)}  # fmt: skip

    rows = [row("all", ALL, [f for *_, f in deals])]
    by_segment: dict[int | None, list[metrics.DealFacts]] = defaultdict(list)
    for account_id, _, _, facts in deals:
        # A deal without an account (not assigned yet) is in no segment.
        member_of: set[int | None] = (
            set(segments_of.get(account_id, ())) if account_id is not None else set()
        ) or {None}
        for member in member_of:
            by_segment[member].append(facts)
    rows += [row("segment", name, by_segment[pk], segment_id=pk) for pk, name in segments]
    if by_segment[None]:
        rows.append(row("segment", NO_SEGMENT, by_segment[None], segment_id=None))
    by_source: dict[str, list[metrics.DealFacts]] = defaultdict(list)
    by_product: dict[str, list[metrics.DealFacts]] = defaultdict(list)
    for _, source, product_line, facts in deals:
        by_source[source].append(facts)
        by_product[product_line or NO_PRODUCT_LINE].append(facts)
    rows += [row("source", source, by_source[source]) for source in OpportunitySource.values]
    rows += [row("product_line", line, by_product[line]) for line in sorted(by_product)]
    return {"start": start, "end": end, "rows": rows}
