"""When a person's junk decision reaches the scores (what the junk review page
says): the contact's activity is excluded (or counted again) at once, a rollup
never revisits claimed activity, the nightly recompute takes it in."""

from __future__ import annotations

import datetime as dt

import pytest

from engagement.models import AccountEngagement, Activity
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute
from engagement.services.junk import contact_junk_set
from tests.factories import ContactFactory, ScoringModelFactory, SourceFactory, segment_member

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def test_a_junk_decision_reaches_the_score_at_the_recompute_not_at_a_rollup() -> None:
    segment = ScoringModelFactory.create().segment
    account = segment_member(segment)
    vp = ContactFactory.create(account=account, seniority="vp")
    Activity.objects.create(
        source=SourceFactory.create(), message_id="m-1", type="demo_request",
        occurred_at=AT, account=account, contact=vp,
    )  # fmt: skip
    scores_recompute(segment_id=segment.pk, at=AT)

    def score() -> int:
        return AccountEngagement.objects.get(account=account, segment=segment).score

    assert score() == 55  # a VP's demo request, 45 capped at 40: 100 * (1 - e^-0.8)

    assert contact_junk_set(contact_id=vp.pk, is_junk=True, reason="works at a rival") == 1
    assert Activity.objects.get().excluded_reason == "junk contact: works at a rival"
    scores_rollup(at=AT)
    assert score() == 55  # a rollup claims new activity only
    scores_recompute(segment_id=segment.pk, at=AT)
    assert score() == 0

    contact_junk_set(contact_id=vp.pk, is_junk=False)
    assert Activity.objects.get().excluded_reason == ""
    scores_recompute(segment_id=segment.pk, at=AT)
    assert score() == 55
