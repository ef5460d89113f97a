"""The funnel report (`/api/reports/funnel/`, and a campaign report's
funnel): targeted -> engaged -> qualified -> opportunity -> won over the rows
`measurement_load` read, with the conversions in `campaigns.metrics.funnel`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict
from typing import Any

from accounts.models import ICPSegment, OpportunityStatus, SegmentMembership
from campaigns import metrics
from campaigns.models import CampaignTarget
from campaigns.reports.measurement import MeasurementData, deals_win_rate


def campaign_running(campaign: dict[str, Any] | None, *, start: dt.date, end: dt.date) -> bool:
    """A campaign runs in [start, end] when its own dates overlap the period."""
    return (campaign is not None and campaign["starts_on"] <= end
            and campaign["ends_on"] >= start)  # fmt: skip


def funnel_report(
    data: MeasurementData, *, campaign_ids: set[int] | None = None, members: set[int] | None = None
) -> dict[str, Any]:
    """Targeted (treated) accounts -> engaged -> qualified -> opportunity -> won,
    with conversions, win rate, average deal size and cycle time. Targeted means
    a treated target of a campaign running in the period (its dates overlap it):
    a campaign that had not started, or had ended, targeted nobody then."""
    chosen = {
        pk for pk in (data.targets if campaign_ids is None else campaign_ids)
        if campaign_running(data.campaigns.get(pk), start=data.start, end=data.end)
    }  # fmt: skip
    targeted: set[int] = set().union(*(data.target_split(c).treated for c in chosen))
    if members is not None:
        targeted &= members
    deals = [d for d in data.deals.values() if d.account_id in targeted]
    won = [d for d in deals if d.status == OpportunityStatus.WON]
    counts = {
        "targeted": len(targeted),
        "engaged": len(targeted & data.engaged),
        "qualified": len(targeted & data.qualified),
        "opportunity": len({d.account_id for d in deals}),
        "won": len({d.account_id for d in won}),
    }
    return {
        "steps": [asdict(step) for step in metrics.funnel(counts)],
        "opportunities": len(deals),
        # Deals the CRM gave no amount: counted in every count and rate above,
        # left out of the average (never read as a deal of 0).
        "opportunities_without_amount": sum(1 for d in deals if not d.has_amount),
        "won_without_amount": sum(1 for d in won if not d.has_amount),
        "win_rate": deals_win_rate(deals),
        # A won deal without an amount is not a deal of 0: left out of the average.
        "average_deal_size": metrics.average([d.amount for d in won if d.has_amount]),
        "cycle_time_days": metrics.cycle_days(
            (d.opened_on, d.close_on) for d in won if d.close_on is not None
        ),
    }


def segment_members(*, segment_id: int) -> set[int]:
    return set(
        SegmentMembership.objects.filter(segment_id=segment_id).values_list("account_id", flat=True)
    )


def segment_funnels(data: MeasurementData) -> list[dict[str, Any]]:
    """The funnel of every segment, in name order: each is `funnel_report` over
    the segment's members, as `/api/reports/funnel/?segment=` answers it. Two
    queries whatever the number of segments: the segments, and the memberships
    of campaign targets (the funnel only counts targets, so the rest cannot
    change a figure)."""
    members: dict[int, set[int]] = defaultdict(set)
    for segment_id, account_id in SegmentMembership.objects.filter(
        account_id__in=CampaignTarget.objects.values("account_id")
    ).values_list("segment_id", "account_id"):
        members[segment_id].add(account_id)
    return [
        {"segment_id": pk, "segment": name,
         **funnel_report(data, members=members.get(pk, set()))}
        for pk, name in ICPSegment.objects.order_by("name", "id").values_list("id", "name")
    ]  # fmt: skip
