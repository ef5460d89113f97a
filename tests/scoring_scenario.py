"""A segment whose scores are worked out by hand, before and after one scoring
model change (tests/engagement/test_scoring_model_services.py and
tests/web/test_scoring_pages.py).

Default model (engagement.models defaults): demo request 30, meeting held 25,
content download 10, pricing page view 5, page view 1; a manager multiplies by
1; half-life 30 days; a person counts at most 40 points (the cap); scale 50;
engaged from 41, qualified from 61. score = round(100 * (1 - exp(-raw / 50))).
Every contact is a manager.

  account  activity (days before the scoring time)      raw before      score  stage
  Alpha    demo request (0) by Ann, demo request (30:   30 + 15 = 45    59     engaged
           one half-life) by Abe
  Bravo    pricing view (30) + page view (0)            2.5 + 1 = 3.5   7      aware
  Charlie  demo request (60: two half-lives)            7.5             14     aware
  Delta    meeting held (0) + content download (0)      25 + 10 = 35    50     engaged
  Echo     none                                         0               0      unaware
  Foxtrot  demo request (0), an open opportunity        30              45     opportunity

(100 (1 - e^-0.9) = 59.3, 100 (1 - e^-0.07) = 6.8, 100 (1 - e^-0.15) = 13.9,
100 (1 - e^-0.7) = 50.3, 100 (1 - e^-0.6) = 45.1)

CHANGE: demo request 30 -> 50, meeting held 25 -> 5.

  account  raw after                      score after                      stage after
  Alpha    min(40, 50) + 25 = 65          100 (1 - e^-1.3)  = 72.7 -> 73   qualified   (up)
  Bravo    3.5                            7                                aware
  Charlie  12.5                           100 (1 - e^-0.25) = 22.1 -> 22   aware
  Delta    5 + 10 = 15                    100 (1 - e^-0.3)  = 25.9 -> 26   aware       (down)
  Echo     0                              0                                unaware
  Foxtrot  min(40, 50) = 40 (the cap)     100 (1 - e^-0.8)  = 55.1 -> 55   opportunity (no move)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts.models import Account, ICPSegment
from engagement.models import Activity
from tests.factories import (
    ContactFactory,
    OpportunityFactory,
    ScoringModelFactory,
    SourceFactory,
    segment_member,
)

WEIGHTS_CHANGED = {"demo_request": 50, "meeting_held": 5}
# name -> (score, stage) before and after the change, as worked out above.
BEFORE = {
    "Alpha": (59, "engaged"), "Bravo": (7, "aware"), "Charlie": (14, "aware"),
    "Delta": (50, "engaged"), "Echo": (0, "unaware"), "Foxtrot": (45, "opportunity"),
}  # fmt: skip
AFTER = {
    "Alpha": (73, "qualified"), "Bravo": (7, "aware"), "Charlie": (22, "aware"),
    "Delta": (26, "aware"), "Echo": (0, "unaware"), "Foxtrot": (55, "opportunity"),
}  # fmt: skip
# What the preview's examples list, in order: stage moves first by the size of
# the score change (Delta -24, Alpha +14), then score changes alone (Foxtrot
# +10, Charlie +8).
EXAMPLE_ORDER = ["Delta", "Alpha", "Foxtrot", "Charlie"]


def scored_segment(*, at: dt.datetime, name: str = "Fintech") -> ICPSegment:
    """The segment above, its activity dated against `at` (left pending: a
    recompute claims it first)."""
    segment = ScoringModelFactory.create(segment__name=name).segment
    source = SourceFactory.create()
    serial = iter(range(1_000_000))

    def act(account: Account, kind: str, days_ago: float, contact: Any) -> None:
        Activity.objects.create(
            source=source, message_id=f"scenario-{segment.pk}-{next(serial)}", type=kind,
            occurred_at=at - dt.timedelta(days=days_ago), account=account, contact=contact,
        )  # fmt: skip

    def member(account_name: str) -> tuple[Account, Any]:
        account = segment_member(segment, name=account_name)
        return account, ContactFactory.create(account=account, seniority="manager")

    alpha, person = member("Alpha")
    act(alpha, "demo_request", 0, person)
    act(alpha, "demo_request", 30, ContactFactory.create(account=alpha, seniority="manager"))
    bravo, person = member("Bravo")
    act(bravo, "pricing_page_view", 30, person)
    act(bravo, "page_view", 0, person)
    charlie, person = member("Charlie")
    act(charlie, "demo_request", 60, person)
    delta, person = member("Delta")
    act(delta, "meeting_held", 0, person)
    act(delta, "content_download", 0, person)
    member("Echo")
    foxtrot, person = member("Foxtrot")
    act(foxtrot, "demo_request", 0, person)
    OpportunityFactory.create(account=foxtrot, status="open")
    return segment


def weights_changed(segment: ICPSegment) -> dict[str, Any]:
    """The scenario's change as scoring_model_update takes it: the whole new
    weights of the segment's current model."""
    current = segment.scoring_models.get(is_current=True).activity_weights
    return {"activity_weights": {**current, **WEIGHTS_CHANGED}}
