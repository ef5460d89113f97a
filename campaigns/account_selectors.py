"""Reads of one account for its page: the programs that touched it, and its
opportunities with the programs that influenced each.

Influence is the measurement's own rule (`campaigns.metrics.influenced`: the
deal opened on or after the program's first touch on the account and at most
the window later), so the page and the pipeline report never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Opportunity
from campaigns import metrics
from campaigns.models import CampaignTarget, Touch
from engagement.models import AccountEngagement, EngagementSnapshot


@dataclass(frozen=True)
class ProgramTouch:
    """A program's touches on the account, and how the account moved since."""

    program_id: int
    program_name: str
    channel: str
    campaign_id: int
    campaign_name: str
    first_touch_at: dt.datetime
    last_touch_at: dt.datetime
    touches: int
    # True or False for a target of the campaign; None: not on its target list.
    in_holdout: bool | None
    # The segment the change is measured in: the campaign's, else the account's
    # best-scored one; None when the account has no score in any.
    segment_id: int | None
    score_now: int | None
    # Its score at the end of the day before the first touch (that day's
    # snapshot); None: no snapshot that day, so the change is unknown.
    score_before: int | None

    @property
    def score_change(self) -> int | None:
        if self.score_now is None or self.score_before is None:
            return None
        return self.score_now - self.score_before


def account_program_touches(*, account_id: int) -> list[ProgramTouch]:
    """Every program that touched the account, latest touch first. Four queries:
    the touches with program and campaign, the account's target rows, its
    current scores, the snapshots of the days before the first touches."""
    touches = list(
        Touch.objects.filter(account_id=account_id)
        .select_related("program__campaign")
        .order_by("-last_touch_at", "program_id")
    )
    holdout = dict(
        CampaignTarget.objects.filter(
            account_id=account_id, campaign_id__in={t.program.campaign_id for t in touches}
        ).values_list("campaign_id", "in_holdout")
    )
    scores = dict(
        AccountEngagement.objects.filter(account_id=account_id)
        .order_by("-score", "segment_id")
        .values_list("segment_id", "score")
    )
    best_segment = next(iter(scores), None)

    def segment_of(touch: Touch) -> int | None:
        segment_id = touch.program.campaign.segment_id
        return segment_id if segment_id in scores else best_segment

    wanted = {
        (segment_id, touch.first_touch_at.astimezone(dt.UTC).date() - dt.timedelta(days=1))
        for touch in touches
        if (segment_id := segment_of(touch)) is not None
    }
    before: dict[tuple[int, dt.date], int] = {}
    if wanted:
        before = {
            (segment_id, day): score
            for segment_id, day, score in EngagementSnapshot.objects.filter(
                account_id=account_id,
                segment_id__in={s for s, _ in wanted},
                day__in={d for _, d in wanted},
            ).values_list("segment_id", "day", "score")
        }
    rows = []
    for touch in touches:
        segment_id = segment_of(touch)
        day_before = touch.first_touch_at.astimezone(dt.UTC).date() - dt.timedelta(days=1)
        rows.append(
            ProgramTouch(
                program_id=touch.program_id,
                program_name=touch.program.name,
                channel=touch.program.get_channel_display(),
                campaign_id=touch.program.campaign_id,
                campaign_name=touch.program.campaign.name,
                first_touch_at=touch.first_touch_at,
                last_touch_at=touch.last_touch_at,
                touches=touch.touch_count,
                in_holdout=holdout.get(touch.program.campaign_id),
                segment_id=segment_id,
                score_now=scores.get(segment_id) if segment_id is not None else None,
                score_before=before.get((segment_id, day_before))
                if segment_id is not None
                else None,
            )
        )
    return rows


@dataclass(frozen=True)
class AccountOpportunity:
    opportunity_id: int
    name: str
    amount: Decimal | None
    status: str
    crm_stage: str
    opened_on: dt.date
    close_on: dt.date | None
    source: str
    # (program id, program name) of every program that influenced it.
    influenced_by: list[tuple[int, str]]


def account_opportunities(
    *, account_id: int, window_days: int, touches: list[ProgramTouch]
) -> list[AccountOpportunity]:
    """The account's opportunities, newest first, each with the programs that
    influenced it (from the touches already read). One query."""
    rows = []
    for deal in Opportunity.objects.filter(account_id=account_id).order_by("-opened_on", "-id"):
        influencers = sorted(
            {
                (touch.program_id, touch.program_name)
                for touch in touches
                if metrics.influenced(
                    first_touch=touch.first_touch_at.astimezone(dt.UTC).date(),
                    opened_on=deal.opened_on,
                    window_days=window_days,
                )
            },
            key=lambda pair: pair[1],
        )
        rows.append(
            AccountOpportunity(
                opportunity_id=deal.pk,
                name=deal.name,
                amount=deal.amount,
                status=deal.status,
                crm_stage=deal.crm_stage,
                opened_on=deal.opened_on,
                close_on=deal.close_on,
                source=deal.get_source_display(),
                influenced_by=influencers,
            )
        )
    return rows


@dataclass(frozen=True)
class CampaignMembership:
    """A campaign whose target list holds the account, and its arm there."""

    campaign_id: int
    campaign_name: str
    starts_on: dt.date
    ends_on: dt.date
    in_holdout: bool


def account_campaigns(*, account_id: int) -> list[CampaignMembership]:
    """The campaigns targeting the account, latest start first: one query."""
    rows = (
        CampaignTarget.objects.filter(account_id=account_id)
        .order_by("-campaign__starts_on", "campaign__name")
        .values_list(
            "campaign_id", "campaign__name", "campaign__starts_on", "campaign__ends_on",
            "in_holdout",
        )
    )  # fmt: skip
    return [CampaignMembership(*row) for row in rows]
