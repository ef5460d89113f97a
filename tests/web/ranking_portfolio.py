"""The ranking pages' planted portfolio, worked out by hand (its order, values
and bottom 10% are in the constants), and a portfolio of any size for query
pins: shared by the ranking page, ranking report and board pack tests."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from campaigns.models import Program, RankingEntry, RankingRun, Spend, Touch
from campaigns.services import ranking_run
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    CampaignTargetFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    OpportunityFactory,
    ProgramFactory,
    SegmentMembershipFactory,
)

START, END = dt.date(2026, 1, 1), dt.date(2026, 6, 30)
# Judged programs (they end on 31 March: 31 March + 90 days = 29 June, on or
# before the period's end): (name, spend, the one deal on the account it
# touched). Pipeline per spend by hand: deal / spend.
PORTFOLIO = (
    ("P01", 1000, 5000),  # 5.0
    ("P02", 2000, 6000),  # 3.0
    ("P03", 500, 4000),  # 8.0
    ("P04", 4000, 4000),  # 1.0
    ("P05", 1000, 2500),  # 2.5
    ("P06", 800, 3200),  # 4.0
    ("P07", 2500, 1000),  # 0.4
    ("P08", 1000, 700),  # 0.7
    ("P09", 1500, 3000),  # 2.0
    ("P10", 600, 900),  # 1.5
    ("P11", 3000, None),  # no deal: 0.0
)
# Best first by the values above; 11 judged, so ceil(10% of 11) = 2 flagged.
ORDER = ["P03", "P01", "P06", "P02", "P05", "P09", "P10", "P04", "P08", "P07", "P11"]
VALUES = ["8.00", "5.00", "4.00", "3.00", "2.50", "2.00", "1.50", "1.00", "0.70", "0.40", "0.00"]
FLAGGED = {"P07", "P11"}


def touch(program: Program, account: Any, day: dt.date) -> None:
    at = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    Touch.objects.create(
        program=program, account=account, first_touch_at=at, last_touch_at=at, touch_count=1
    )


@dataclass
class Planted:
    programs: dict[str, Program]
    run: RankingRun

    def entry(self, name: str) -> RankingEntry:
        return RankingEntry.objects.get(run=self.run, program=self.programs[name])


def plant(*, user_id: int | None = None) -> Planted:
    """PORTFOLIO, plus "Late" (ended 20 June: too early, though its deal would
    rank it first) and "Idle" (runs in the period without spend). P03's
    campaign has a holdout: its two treated targets (both touched by P03) rose
    20 and 30 points over the period, its two holdout targets 5 and 15."""
    segment = ICPSegmentFactory.create(name="Fintech")
    programs = {}
    for name, spend, deal in PORTFOLIO:
        campaign = CampaignFactory.create(name=f"Campaign {name}", segment=segment)
        program = ProgramFactory.create(name=name, campaign=campaign, channel="webinar")
        Spend.objects.create(program=program, spent_on=dt.date(2026, 2, 1), amount=Decimal(spend))
        account = AccountFactory.create()
        touch(program, account, dt.date(2026, 1, 10))
        if deal is not None:
            OpportunityFactory.create(
                account=account, amount=Decimal(deal), opened_on=dt.date(2026, 2, 1)
            )
        programs[name] = program
    p03 = programs["P03"]
    treated = [AccountFactory.create(), Touch.objects.get(program=p03).account]
    holdout = [AccountFactory.create(), AccountFactory.create()]
    touch(p03, treated[0], dt.date(2026, 1, 12))
    for account, in_holdout, rise in [
        (treated[0], False, 20),
        (treated[1], False, 30),
        (holdout[0], True, 5),
        (holdout[1], True, 15),
    ]:
        CampaignTargetFactory.create(campaign=p03.campaign, account=account, in_holdout=in_holdout)
        SegmentMembershipFactory.create(segment=segment, account=account)
        EngagementSnapshotFactory.create(account=account, segment=segment, day=START, score=40)
        EngagementSnapshotFactory.create(account=account, segment=segment, day=END, score=40 + rise)
    late = ProgramFactory.create(name="Late", ends_on=dt.date(2026, 6, 20), channel="event")
    Spend.objects.create(program=late, spent_on=dt.date(2026, 6, 1), amount=Decimal(100))
    late_account = AccountFactory.create()
    touch(late, late_account, dt.date(2026, 6, 2))
    OpportunityFactory.create(
        account=late_account, amount=Decimal(100000), opened_on=dt.date(2026, 6, 10)
    )
    programs["Late"] = late
    programs["Idle"] = ProgramFactory.create(name="Idle", ends_on=END)
    run = ranking_run(start=START, end=END, user_id=user_id)
    return Planted(programs, run)


def text(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def portfolio_of(size: int) -> RankingRun:
    for index in range(size):
        program = ProgramFactory.create(name=f"Program {index}")
        Spend.objects.create(
            program=program, spent_on=dt.date(2026, 2, 1), amount=Decimal(100 + index)
        )
    late = ProgramFactory.create(name="Late", ends_on=dt.date(2026, 6, 20))
    Spend.objects.create(program=late, spent_on=dt.date(2026, 6, 1), amount=Decimal(100))
    ProgramFactory.create(name="Idle", ends_on=END)
    return ranking_run(start=START, end=END)
