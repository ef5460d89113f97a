"""A small hand-computed measurement scenario shared by the report tests.

Period 2026-01-01 .. 2026-03-31. Campaign "Spring" (segment S, default bands:
engaged >= 41, qualified >= 61) targets A1, A2, A3, with H1, H2 held out.
Programs: P1 webinar (spend 1,000), P2 email (spend 500 in the period, 100 the
day before it). Touches: P1 on A1 from 01-10 and on A2 from 01-20; P2 on A1
from 02-01. Scores (start -> end): A1 10 -> 70, A2 20 -> 50, A3 0 -> 30,
H1 10 -> 20, H2 5 -> 5. Deals opened in the period:
O1 A1 03-01 90,000 won 03-20 marketing (P1 50 days, P2 28 days after first touch),
O2 A2 03-15 10,000 open sales (P1), O3 A2 01-05 5,000 lost 01-30 (before any
touch), O4 A3 02-10 1,000 open (A3 untouched).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Account, SegmentMembership
from campaigns.models import Campaign, CampaignTarget, Program, Spend, Touch
from engagement.models import EngagementSnapshot, ScoringModel
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ICPSegmentFactory,
    OpportunityFactory,
    ProgramFactory,
)

START, END = dt.date(2026, 1, 1), dt.date(2026, 3, 31)


@dataclass
class Scenario:
    campaign: Campaign
    p1: Program
    p2: Program
    accounts: dict[str, Account]


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T10:00:00+00:00")


def build() -> Scenario:
    segment = ICPSegmentFactory.create()
    model = ScoringModel.objects.create(segment=segment)
    campaign = CampaignFactory.create(name="Spring", segment=segment, starts_on=START,
                                      ends_on=END)  # fmt: skip
    accounts = {name: AccountFactory.create(name=name) for name in ("A1", "A2", "A3", "H1", "H2")}
    for name, account in accounts.items():
        SegmentMembership.objects.create(segment=segment, account=account)
        CampaignTarget.objects.create(campaign=campaign, account=account,
                                      in_holdout=name.startswith("H"))  # fmt: skip
    for name, (before, after) in {"A1": (10, 70), "A2": (20, 50), "A3": (0, 30),
                                  "H1": (10, 20), "H2": (5, 5)}.items():  # fmt: skip
        for day, score in ((START, before), (END, after)):
            EngagementSnapshot.objects.create(
                account=accounts[name], segment=segment, day=day, model_version=model.version,
                score=score, raw_score=0, stage="aware",
            )  # fmt: skip
    p1 = ProgramFactory.create(campaign=campaign, channel="webinar", tracking_key="p1")
    p2 = ProgramFactory.create(campaign=campaign, channel="email", tracking_key="p2")
    Spend.objects.create(program=p1, spent_on=dt.date(2026, 2, 1), amount=Decimal("1000"))
    Spend.objects.create(program=p2, spent_on=dt.date(2026, 2, 1), amount=Decimal("500"))
    Spend.objects.create(program=p2, spent_on=dt.date(2025, 12, 31), amount=Decimal("100"))
    for program, name, first, last in ((p1, "A1", "2026-01-10", "2026-02-10"),
                                       (p1, "A2", "2026-01-20", "2026-01-20"),
                                       (p2, "A1", "2026-02-01", "2026-03-01")):  # fmt: skip
        Touch.objects.create(program=program, account=accounts[name], first_touch_at=at(first),
                             last_touch_at=at(last), touch_count=1)  # fmt: skip
    OpportunityFactory.create(account=accounts["A1"], amount=Decimal("90000"), status="won",
                              opened_on=dt.date(2026, 3, 1), close_on=dt.date(2026, 3, 20),
                              source="marketing")  # fmt: skip
    OpportunityFactory.create(account=accounts["A2"], amount=Decimal("10000"),
                              opened_on=dt.date(2026, 3, 15), source="sales")  # fmt: skip
    OpportunityFactory.create(
        account=accounts["A2"],
        amount=Decimal("5000"),
        status="lost",
        opened_on=dt.date(2026, 1, 5),
        close_on=dt.date(2026, 1, 30),
    )
    OpportunityFactory.create(account=accounts["A3"], amount=Decimal("1000"),
                              opened_on=dt.date(2026, 2, 10))  # fmt: skip
    return Scenario(campaign, p1, p2, accounts)


def grow(extra: int) -> None:
    """More campaigns, programs, targets, touches, snapshots and deals (some
    without an account), to show that report query counts do not grow with them."""
    for i in range(extra):
        campaign = CampaignFactory.create()
        program = ProgramFactory.create(campaign=campaign, channel="display")
        Spend.objects.create(program=program, spent_on=dt.date(2026, 2, 2), amount=Decimal("10"))
        for _ in range(3):
            account = AccountFactory.create()
            CampaignTarget.objects.create(campaign=campaign, account=account, in_holdout=i == 0)
            Touch.objects.create(program=program, account=account, first_touch_at=at("2026-02-02"),
                                 last_touch_at=at("2026-02-02"), touch_count=2)  # fmt: skip
            OpportunityFactory.create(account=account, opened_on=dt.date(2026, 2, 20))
        # and a deal the CRM has not assigned to an account yet
        OpportunityFactory.create(account=None, opened_on=dt.date(2026, 2, 21))
