"""A hand-computed overview scenario: Q2 2026 (Apr 1 .. Jun 30) against Q1
2026 (Jan 1 .. Mar 31), the previous period by campaigns.periods.

Spend: 1,000.00 on 04-10, 500.00 on 05-20, 250.50 on 05-21 (Q2: 1,750.50;
April 1,000.00, May 750.50, June none); 2,000.00 on 02-01 (Q1); 999.00 on
2025-12-31 (neither).

Deals (opened -> closed):
  D1 04-05 10,000 won 05-04 (29 days)      D6 01-10 5,000 lost 03-01
  D2 05-10 20,000 open                     D7 03-05 8,000 won 03-25 (20 days)
  D3 06-01 no amount, lost 06-20           D8 2025-12-01 4,000 won 01-20 (50 days)
  D4 02-15 30,000 won 04-15 (59 days)      D9 2025-11-01 7,000 open (neither)
  D5 06-10 no amount, won 06-25 (15 days)

Q2: opened D1 D2 D3 D5 (4, two without an amount), pipeline 30,000; won D1
D4 D5, lost D3: win rate 3/4, won revenue 40,000 (one won without an
amount), average won deal 40,000 / 2 = 20,000, cycle (29 + 59 + 15) / 3.
Q1: opened D4 D6 D7 (3), pipeline 43,000; won D7 D8, lost D6: win rate 2/3,
won revenue 12,000, average 6,000, cycle (20 + 50) / 2 = 35.

Snapshots (segment S, default bands engaged >= 41, qualified >= 61):
  A: 02-01 30; 05-01 45; 06-01 65      -> Q2 engaged and qualified, Q1 neither
  B: 03-01 62; 04-15 50                -> Q2 engaged, Q1 engaged and qualified
  C: 01-05 41; 04-02 10                -> Q1 engaged (on the bound), Q2 neither
  D: 07-01 90                          -> neither period
Q2: engaged 2 (A, B), qualified 1 (A); Q1: engaged 2 (B, C), qualified 1 (B).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.factories import (
    AccountFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    OpportunityFactory,
    ProgramFactory,
    ScoringModelFactory,
    SpendFactory,
)

START, END = dt.date(2026, 4, 1), dt.date(2026, 6, 30)
PREVIOUS_START, PREVIOUS_END = dt.date(2026, 1, 1), dt.date(2026, 3, 31)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def build() -> None:
    program = ProgramFactory.create()
    for day, spent in (("2026-04-10", "1000.00"), ("2026-05-20", "500.00"),
                        ("2026-05-21", "250.50"), ("2026-02-01", "2000.00"),
                        ("2025-12-31", "999.00")):  # fmt: skip
        SpendFactory.create(program=program, spent_on=d(day), amount=Decimal(spent))
    account = AccountFactory.create()
    deals: tuple[tuple[str, str | None, str, str | None], ...] = (
        ("2026-04-05", "10000", "won", "2026-05-04"),
        ("2026-05-10", "20000", "open", None),
        ("2026-06-01", None, "lost", "2026-06-20"),
        ("2026-02-15", "30000", "won", "2026-04-15"),
        ("2026-06-10", None, "won", "2026-06-25"),
        ("2026-01-10", "5000", "lost", "2026-03-01"),
        ("2026-03-05", "8000", "won", "2026-03-25"),
        ("2025-12-01", "4000", "won", "2026-01-20"),
        ("2025-11-01", "7000", "open", None),
    )
    for opened, amount, status, closed in deals:
        OpportunityFactory.create(
            account=account,
            opened_on=d(opened),
            amount=None if amount is None else Decimal(amount),
            status=status,
            close_on=None if closed is None else d(closed),
        )
    segment = ICPSegmentFactory.create()
    model = ScoringModelFactory.create(segment=segment)
    for name, scores in {
        "A": (("2026-02-01", 30), ("2026-05-01", 45), ("2026-06-01", 65)),
        "B": (("2026-03-01", 62), ("2026-04-15", 50)),
        "C": (("2026-01-05", 41), ("2026-04-02", 10)),
        "D": (("2026-07-01", 90),),
    }.items():
        scored = AccountFactory.create(name=name)
        for day, score in scores:
            EngagementSnapshotFactory.create(account=scored, segment=segment, day=d(day),
                                             model_version=model.version, score=score)  # fmt: skip


def grow(extra: int) -> None:
    """More of everything, in both periods (for the query pins)."""
    segment = ICPSegmentFactory.create()
    ScoringModelFactory.create(segment=segment)
    for index in range(extra):
        program = ProgramFactory.create()
        day = dt.date(2026, 1 + index % 6, 1 + index % 27)
        SpendFactory.create(program=program, spent_on=day)
        account = AccountFactory.create()
        OpportunityFactory.create(account=account, opened_on=day, status="won",
                                  close_on=day + dt.timedelta(days=10))  # fmt: skip
        EngagementSnapshotFactory.create(account=account, segment=segment, day=day, score=70)
