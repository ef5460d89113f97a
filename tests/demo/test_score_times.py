"""Scores carry the time they are valid at, never a future one (issue 13, item 9).

A score valid "at the end of today" is decayed for hours that have not happened:
it is lower than the score now, and the account page's explanation (computed
now) disagrees with the stored raw score.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.utils import timezone

from accounts.models import SegmentMembership
from demo.services import demo_seed
from engagement.models import AccountEngagement, EngagementSnapshot, ScoringModel
from engagement.rollup.snapshots import snapshots_backfill
from engagement.selectors import account_engagement_explain
from tests.factories import AccountFactory, ActivityFactory, ContactFactory, ICPSegmentFactory

pytestmark = pytest.mark.django_db


def test_seeded_scores_are_valid_now_and_agree_with_their_explanation() -> None:
    demo_seed(accounts=10, seed=3, today=timezone.now().date(), progress=False)
    after_seed = timezone.now()
    rows = list(AccountEngagement.objects.filter(raw_score__gt=0))
    assert rows
    assert all(row.computed_at <= after_seed for row in rows)
    top = max(rows, key=lambda row: row.raw_score)
    explained = account_engagement_explain(account_id=top.account_id, at=timezone.now())
    segment = next(s for s in explained["segments"] if s["segment"]["id"] == top.segment_id)
    # The explanation's counted points (capped contacts, anonymous at its factor) add up
    # to the raw score; a minute of decay moves them by less than 2e-5.
    counted = math.fsum(person["counted"] for person in segment["by_contact"])
    assert counted == pytest.approx(top.raw_score, rel=1e-4)


def test_todays_backfilled_snapshot_is_the_score_now_not_at_midnight() -> None:
    segment = ICPSegmentFactory.create()
    ScoringModel.objects.create(segment=segment)
    account = AccountFactory.create()
    SegmentMembership.objects.create(segment=segment, account=account)
    contact = ContactFactory.create(account=account, seniority="manager")
    occurred = timezone.now() - dt.timedelta(days=1)
    ActivityFactory.create(contact=contact, type="demo_request", occurred_at=occurred)
    before = timezone.now()
    snapshots_backfill(segment_id=segment.pk, since=before.date(), until=before.date())
    after = timezone.now()

    def points(at: dt.datetime) -> float:  # 30 points halving every 30 days
        return 30 * 2 ** (-(at - occurred).total_seconds() / 86_400 / 30)

    raw = EngagementSnapshot.objects.get(account=account, day=before.date()).raw_score
    assert points(after) <= raw <= points(before)
