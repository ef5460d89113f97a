"""Property: any stream of activities, rolled up in any number of increments, gives
the same scores as one full recompute (relative difference below 1e-9)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import ICPSegment, SegmentMembership
from engagement.models import AccountEngagement, Activity, ScoringModel
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute, scores_refresh
from tests.factories import AccountFactory, ContactFactory, SourceFactory

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
TYPES = ["page_view", "pricing_page_view", "demo_request", "unsubscribe", "hard_bounce",
         "webinar_attended", "email_open", "other"]  # fmt: skip

activity = st.tuples(
    st.integers(min_value=0, max_value=5),  # contact index; 4 and 5 mean anonymous
    st.sampled_from(TYPES),
    st.floats(min_value=0, max_value=400, allow_nan=False),  # days before AT
    st.booleans(),  # excluded as junk
)


class IncrementalEqualsFull(TestCase):
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        stream=st.lists(activity, min_size=1, max_size=40),
        cuts=st.lists(st.integers(min_value=1, max_value=39), max_size=6),
    )
    def test_any_split_of_any_stream(
        self, stream: list[tuple[int, str, float, bool]], cuts: list[int]
    ) -> None:
        segment = ICPSegment.objects.create(name="Property")
        ScoringModel.objects.create(segment=segment, contact_cap=25)
        accounts = [AccountFactory.create() for _ in range(2)]
        for account in accounts:
            SegmentMembership.objects.create(segment=segment, account=account)
        people = [
            ContactFactory.create(account=accounts[i % 2], seniority=seniority)
            for i, seniority in enumerate(["c_level", "vp", "other", "unknown"])
        ]
        source = SourceFactory.create()
        bounds = sorted({c for c in cuts if c < len(stream)})
        for start, end in zip([0, *bounds], [*bounds, len(stream)], strict=True):
            for n, (who, kind, days, junk) in enumerate(stream[start:end], start):
                person = people[who] if who < 4 else None
                Activity.objects.create(
                    source=source, message_id=f"p-{n}", type=kind,
                    occurred_at=AT - dt.timedelta(days=days),
                    account=person.account if person else accounts[who % 2],
                    contact=person, anonymous_id="" if person else "anon",
                    excluded_reason="junk contact: x" if junk else "",
                )  # fmt: skip
            scores_rollup(segment_id=segment.pk, at=AT - dt.timedelta(days=1))
        scores_refresh(segment_id=segment.pk, at=AT)
        incremental = dict(AccountEngagement.objects.values_list("account_id", "raw_score"))
        scores_recompute(segment_id=segment.pk, at=AT)
        full = dict(AccountEngagement.objects.values_list("account_id", "raw_score"))
        assert incremental.keys() == full.keys()
        for account_id, value in full.items():
            assert abs(incremental[account_id] - value) <= 1e-9 * max(1.0, abs(value))
