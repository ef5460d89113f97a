"""A tiny "what converts" history whose every figure is worked out by hand
(tests/campaigns/test_conversion.py checks them; the web tests reuse it).

Period: 1 January to 31 March 2026; today: 1 June 2026, so a first touch
counts only when it was before 3 March (3 March + 90 days = 1 June is not
over yet). Segment S holds A1..A6 and A8; A7 is outside it.

    A1  5 Jan /pricing (utm_source LinkedIn), 10 Jan P1, 25 Jan P3; deal 1 Feb     converts
    A2  20 Jan P1, 1 Feb P2, 20 Feb /pricing; no deal                            does not
    A3  15 Jan P1; a deal open since 1 Dec 2025                                  in a deal
    A4  10 Mar P1                                                                window open
    A5  3 Jan P2 and the "Guide" download; deal 1 May (past 3 Jan + 90),
        and a deal lost 1 Dec 2025 (closed: no obstacle)                         does not
    A6  2 Jan P1 excluded as junk (not counted); 10 Feb P2; deal 10 Feb          converts (same day)
    A7  12 Jan P1; deal 2 Feb (not in S)                                         converts
    A8  15 Dec 2025 a page view (before the period), 25 Jan P2                   does not

P1 and P3 are webinar programs (webinar attended), P2 an email program (email click).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from accounts.models import Account, ICPSegment, OpportunityStatus
from campaigns.models import Program
from engagement.models import ActivityType, Source
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    ICPSegmentFactory,
    OpportunityFactory,
    ProgramFactory,
    SegmentMembershipFactory,
    SourceFactory,
)

START = dt.date(2026, 1, 1)
END = dt.date(2026, 3, 31)
TODAY = dt.date(2026, 6, 1)


@dataclass
class Scenario:
    segment: ICPSegment
    source: Source
    p1: Program
    p2: Program
    p3: Program
    accounts: dict[str, Account]


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10), dt.UTC)


def touch(s: Scenario, account: Account, day: dt.date, kind: str = ActivityType.PAGE_VIEW,
          *, program: Program | None = None, **fields: Any) -> None:  # fmt: skip
    ActivityFactory.create(
        source=s.source, contact=ContactFactory.create(account=account), type=kind,
        occurred_at=_at(day), tracking_key=program.tracking_key if program else "", **fields,
    )  # fmt: skip


def build() -> Scenario:
    segment = ICPSegmentFactory.create(name="Mid-market SaaS")
    s = Scenario(
        segment=segment,
        source=SourceFactory.create(name="Web"),
        p1=ProgramFactory.create(name="Risk webinar", channel="webinar", tracking_key="p1"),
        p2=ProgramFactory.create(name="Nurture email", channel="email", tracking_key="p2"),
        p3=ProgramFactory.create(name="Summit webinar", channel="webinar", tracking_key="p3"),
        accounts={},
    )
    for name in ("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"):
        account = AccountFactory.create(name=name)
        s.accounts[name] = account
        if name != "A7":
            SegmentMembershipFactory.create(segment=segment, account=account)
    a = s.accounts
    webinar, email = ActivityType.WEBINAR_ATTENDED, ActivityType.EMAIL_CLICK
    d = dt.date

    touch(s, a["A1"], d(2026, 1, 5), ActivityType.PRICING_PAGE_VIEW,
          properties={"path": "/pricing", "utm_source": "LinkedIn"})  # fmt: skip
    touch(s, a["A1"], d(2026, 1, 10), webinar, program=s.p1)
    touch(s, a["A1"], d(2026, 1, 25), webinar, program=s.p3)
    OpportunityFactory.create(account=a["A1"], opened_on=d(2026, 2, 1))

    touch(s, a["A2"], d(2026, 1, 20), webinar, program=s.p1)
    touch(s, a["A2"], d(2026, 2, 1), email, program=s.p2)
    touch(s, a["A2"], d(2026, 2, 20), ActivityType.PAGE_VIEW, properties={"path": "/pricing"})

    touch(s, a["A3"], d(2026, 1, 15), webinar, program=s.p1)
    OpportunityFactory.create(account=a["A3"], opened_on=d(2025, 12, 1),
                              status=OpportunityStatus.OPEN, close_on=d(2026, 6, 30))  # fmt: skip

    touch(s, a["A4"], d(2026, 3, 10), webinar, program=s.p1)

    touch(s, a["A5"], d(2026, 1, 3), email, program=s.p2)
    touch(s, a["A5"], d(2026, 1, 3), ActivityType.CONTENT_DOWNLOAD, properties={"asset": "Guide"})
    OpportunityFactory.create(account=a["A5"], opened_on=d(2026, 5, 1))
    OpportunityFactory.create(account=a["A5"], opened_on=d(2025, 10, 1),
                              status=OpportunityStatus.LOST, close_on=d(2025, 12, 1))  # fmt: skip

    touch(s, a["A6"], d(2026, 1, 2), webinar, program=s.p1, excluded_reason="junk contact")
    touch(s, a["A6"], d(2026, 2, 10), email, program=s.p2)
    OpportunityFactory.create(account=a["A6"], opened_on=d(2026, 2, 10))

    touch(s, a["A7"], d(2026, 1, 12), webinar, program=s.p1)
    OpportunityFactory.create(account=a["A7"], opened_on=d(2026, 2, 2))

    touch(s, a["A8"], d(2025, 12, 15))
    touch(s, a["A8"], d(2026, 1, 25), email, program=s.p2)
    return s


def more_accounts(s: Scenario, count: int) -> None:
    """`count` more members of S, each touched by P1 and P2 on pages and a
    download, half of them with a deal: more rows, the same queries."""
    for number in range(count):
        account = AccountFactory.create()
        SegmentMembershipFactory.create(segment=s.segment, account=account)
        touch(s, account, dt.date(2026, 1, 6), ActivityType.WEBINAR_ATTENDED, program=s.p1)
        touch(s, account, dt.date(2026, 1, 7), ActivityType.EMAIL_CLICK, program=s.p2)
        touch(s, account, dt.date(2026, 1, 8), properties={"path": f"/page-{number}"})
        touch(s, account, dt.date(2026, 1, 9), ActivityType.CONTENT_DOWNLOAD,
              properties={"title": f"Report {number}"})  # fmt: skip
        if number % 2:
            OpportunityFactory.create(account=account, opened_on=dt.date(2026, 2, 1))
