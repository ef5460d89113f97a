"""A small known history for the readiness training-data tests (a plain helper,
not a test module): two member accounts of one segment, an outsider, three
month ends. tests/readiness/test_training_data.py works out every feature of
it by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from accounts.models import Account, ICPSegment
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    OpportunityFactory,
    ProgramFactory,
    SegmentMembershipFactory,
)

TODAY = dt.date(2026, 6, 15)
JANUARY, FEBRUARY, MARCH = dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)
MONTH_ENDS = (JANUARY, FEBRUARY, MARCH)


def at(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


@dataclass
class History:
    segment: ICPSegment
    busy: Account  # tier 1, fit 85, activity, snapshots, a won deal, a new deal in May
    quiet: Account  # no tier, fit 40, nothing but a deal opened on 2 May
    outsider: Account  # not a member: never a row
    webinar_key: str
    ads_key: str


def snapshot(history: History, account: Account, day: dt.date, score: int, **fields: Any) -> None:
    EngagementSnapshotFactory.create(
        account=account, segment=history.segment, day=day, score=score, **fields
    )


def history_build() -> History:
    segment = ICPSegmentFactory.create()
    busy = AccountFactory.create(tier=1)
    quiet = AccountFactory.create(tier=None)
    outsider = AccountFactory.create(tier=1)
    SegmentMembershipFactory.create(segment=segment, account=busy, fit_score=85)
    SegmentMembershipFactory.create(segment=segment, account=quiet, fit_score=40, fit_grade="C")
    campaign = CampaignFactory.create()
    webinar = ProgramFactory.create(campaign=campaign, channel="webinar", tracking_key="web-1")
    ads = ProgramFactory.create(campaign=campaign, channel="paid_social", tracking_key="ads-1")
    history = History(segment, busy, quiet, outsider, webinar.tracking_key, ads.tracking_key)

    vp = ContactFactory.create(account=busy, seniority="vp")
    director = ContactFactory.create(account=busy, seniority="director")
    ActivityFactory.create(contact=vp, type="demo_request", occurred_at=at(dt.date(2025, 11, 15)),
                           tracking_key=ads.tracking_key)  # fmt: skip
    ActivityFactory.create(contact=None, account=busy, type="page_view",
                           occurred_at=at(dt.date(2026, 1, 10)), anonymous_id="anon-1")  # fmt: skip
    ActivityFactory.create(
        contact=vp, type="pricing_page_view", occurred_at=at(dt.date(2026, 1, 20))
    )
    ActivityFactory.create(contact=vp, type="form_fill", occurred_at=at(dt.date(2026, 1, 25)),
                           excluded_reason="job seeker")  # fmt: skip
    # The last half hour of the January month end counts for January ...
    ActivityFactory.create(contact=director, type="webinar_attended",
                           occurred_at=at(JANUARY, 23, 30),
                           tracking_key=webinar.tracking_key)  # fmt: skip
    # ... and midnight after it for February only.
    ActivityFactory.create(contact=vp, type="page_view", occurred_at=at(dt.date(2026, 2, 1), 0))
    # The outsider's activity is in no row.
    ActivityFactory.create(contact=ContactFactory.create(account=outsider, seniority="c_level"),
                           type="demo_request", occurred_at=at(dt.date(2026, 1, 30)))  # fmt: skip

    snapshot(history, busy, JANUARY, 55, raw_score=40.0, engaged_contacts=2, roles_covered=1)
    snapshot(history, busy, dt.date(2026, 1, 24), 50)
    snapshot(history, busy, dt.date(2026, 1, 1), 30)
    # No snapshot on 2 November 2025 (90 days before January) nor on 28 February.
    snapshot(history, busy, MARCH, 70, raw_score=60.5, engaged_contacts=3, roles_covered=2)
    snapshot(history, busy, dt.date(2026, 3, 24), 65)
    snapshot(history, busy, dt.date(2026, 3, 1), 60)
    snapshot(history, busy, dt.date(2025, 12, 31), 10)
    # Another segment's snapshot of the same day is not this segment's.
    EngagementSnapshotFactory.create(account=busy, segment=ICPSegmentFactory.create(),
                                     day=FEBRUARY, score=99)  # fmt: skip

    OpportunityFactory.create(account=busy, opened_on=dt.date(2025, 10, 1), status="won",
                              close_on=dt.date(2026, 2, 15))  # fmt: skip
    # 1 May is 90 days after 31 January: inside January's label window.
    OpportunityFactory.create(account=busy, opened_on=dt.date(2026, 5, 1))
    # 2 May is 91 days after 31 January: outside it, inside February's.
    OpportunityFactory.create(account=quiet, opened_on=dt.date(2026, 5, 2))
    OpportunityFactory.create(account=outsider, opened_on=dt.date(2026, 2, 10))
    return history
