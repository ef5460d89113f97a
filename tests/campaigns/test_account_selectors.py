"""The account page's campaign reads: the programs that touched the account (its
holdout arm, its score change since the first touch) and its opportunities with
the programs that influenced each; every figure worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, ICPSegment
from campaigns.account_selectors import account_opportunities, account_program_touches
from campaigns.models import Program, Touch
from engagement.models import AccountEngagement, EngagementSnapshot, ScoringModel
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    CampaignTargetFactory,
    ICPSegmentFactory,
    OpportunityFactory,
    ProgramFactory,
)

pytestmark = pytest.mark.django_db


def _at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)


def _scored(account: Account, segment: ICPSegment, score: int) -> None:
    model = ScoringModel.objects.create(segment=segment)
    AccountEngagement.objects.create(
        account=account,
        segment=segment,
        scoring_model=model,
        landmark=_at("2026-06-30"),
        score=score,
        computed_at=_at("2026-06-30"),
    )


def _snapshot(account: Account, segment: ICPSegment, day: str, score: int) -> None:
    EngagementSnapshot.objects.create(
        account=account,
        segment=segment,
        day=dt.date.fromisoformat(day),
        model_version=1,
        score=score,
        raw_score=0.0,
        stage="aware",
    )


def _touched(program: Program, account: Account, first: str, last: str, count: int) -> None:
    Touch.objects.create(
        program=program,
        account=account,
        first_touch_at=_at(first),
        last_touch_at=_at(last),
        touch_count=count,
    )


@pytest.fixture
def account() -> Account:
    account: Account = AccountFactory.create()
    best, other, unscored = (ICPSegmentFactory.create(name=n) for n in ("Best", "Other", "None"))
    _scored(account, best, 60)
    _scored(account, other, 30)
    # In the campaign's own segment: 30 now, 10 at the end of the day before.
    email = ProgramFactory.create(
        name="Nurture email",
        channel="email",
        campaign=CampaignFactory.create(name="Measured in Other", segment=other),
    )
    CampaignTargetFactory.create(campaign=email.campaign, account=account, in_holdout=False)
    _touched(email, account, "2026-03-10", "2026-03-20", 4)
    _snapshot(account, other, "2026-03-09", 10)
    # No segment: the best one (60), with no snapshot on 2026-04-30: unknown.
    ads = ProgramFactory.create(
        name="Retargeting ads",
        channel="paid_social",
        campaign=CampaignFactory.create(name="No segment"),
    )
    CampaignTargetFactory.create(campaign=ads.campaign, account=account, in_holdout=True)
    _touched(ads, account, "2026-05-01", "2026-06-01", 2)
    # A segment the account has no score in: the best one again; 45 before.
    event = ProgramFactory.create(
        name="Field event",
        channel="event",
        campaign=CampaignFactory.create(name="Unscored", segment=unscored),
    )
    _touched(event, account, "2026-01-05", "2026-01-05", 1)
    _snapshot(account, best, "2026-01-04", 45)
    # The first touch's own day is not the day before it: ignored.
    _snapshot(account, best, "2026-05-01", 50)
    for day, name in (
        ("2026-04-01", "Spring deal"),
        ("2026-06-15", "June deal"),
        ("2025-12-01", "Old deal"),
    ):
        OpportunityFactory.create(
            account=account,
            name=name,
            opened_on=dt.date.fromisoformat(day),
            amount=Decimal("1000.00"),
        )
    return account


def test_the_programs_that_touched_the_account_latest_first(account: Account) -> None:
    with CaptureQueriesContext(connection) as queries:
        rows = account_program_touches(account_id=account.pk)
    assert len(queries) == 4
    assert [
        (
            r.program_name,
            r.campaign_name,
            r.touches,
            r.in_holdout,
            r.score_now,
            r.score_before,
            r.score_change,
        )
        for r in rows
    ] == [
        ("Retargeting ads", "No segment", 2, True, 60, None, None),
        ("Nurture email", "Measured in Other", 4, False, 30, 10, 20),
        ("Field event", "Unscored", 1, None, 60, 45, 15),
    ]


def test_each_opportunity_lists_the_programs_that_influenced_it(account: Account) -> None:
    touches = account_program_touches(account_id=account.pk)
    with CaptureQueriesContext(connection) as queries:
        deals = account_opportunities(account_id=account.pk, window_days=90, touches=touches)
    assert len(queries) == 1
    # Spring deal (Apr 1): email first touched 22 days before, the event 86 days
    # before (within 90); the ads came after. June deal (Jun 15): the ads 45 days
    # before; the email 97 days before, too long. Old deal: before every touch.
    assert [(d.name, [name for _, name in d.influenced_by]) for d in deals] == [
        ("June deal", ["Retargeting ads"]),
        ("Spring deal", ["Field event", "Nurture email"]),
        ("Old deal", []),
    ]


def test_a_window_of_80_days_drops_the_event_from_the_spring_deal(account: Account) -> None:
    touches = account_program_touches(account_id=account.pk)
    deals = account_opportunities(account_id=account.pk, window_days=80, touches=touches)
    assert [name for _, name in deals[1].influenced_by] == ["Nurture email"]
