"""Lift when snapshots are missing: scores on past days computed from stored activity.

Every expected figure below is computed by hand from DESIGN 4's formula,
c(t) = w * m * 2 ** (-(t - t_i) / half_life), with the default model (half-life
30 days, cap 40 per contact, anonymous factor 0.5, scale 50), never by calling
the scoring code under test.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Account, SegmentMembership
from campaigns import metrics
from campaigns.models import Campaign, CampaignTarget
from campaigns.reports.measurement import measurement_load
from campaigns.reports.programs import campaign_rows
from engagement.models import ActivityType, EngagementSnapshot, ScoringModel
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 2, 28), dt.date(2026, 3, 31)
# A day's score is the score at its end.
AT_START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
AT_END = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


def points(weight: float, multiplier: float, occurred: dt.datetime, at: dt.datetime) -> float:
    """One activity's points at `at`: zero before it happened, then halving every 30 days."""
    if occurred >= at:
        return 0.0
    days = (at - occurred).total_seconds() / 86_400
    return weight * multiplier * 2 ** (-days / 30)


def score(raw: float) -> int:
    return round(100 * (1 - math.exp(-raw / 50)))


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{text}T00:00:00+00:00")


# (activity type, weight, occurred): the default weights of DESIGN 4.
C1 = [  # T1's C-level contact (multiplier 2)
    (ActivityType.CONTENT_DOWNLOAD, 10, when("2026-01-30")),
    (ActivityType.DEMO_REQUEST, 30, when("2026-03-02")),
    (ActivityType.MEETING_HELD, 25, when("2026-03-02")),
]
C2 = [(ActivityType.WEBINAR_ATTENDED, 15, when("2026-03-20"))]  # T1's manager (1.0)
ANONYMOUS_T2 = [(ActivityType.PRICING_PAGE_VIEW, 5, when("2026-03-16"))] * 3
H1 = [(ActivityType.FORM_FILL, 10, when("2026-02-14"))]  # H1's manager


def contact_points(
    rows: Sequence[tuple[str, float, dt.datetime]], m: float, at: dt.datetime
) -> float:
    return sum(points(w, m, t, at) for _, w, t in rows)


def expected_scores() -> dict[str, tuple[int, int]]:
    """Name -> (score at the end of START, score at the end of END), by hand."""
    out: dict[str, list[int]] = {}
    for at in (AT_START, AT_END):
        t1 = min(40.0, contact_points(C1, 2.0, at)) + min(40.0, contact_points(C2, 1.0, at))
        t2 = 0.5 * contact_points(ANONYMOUS_T2, 1.0, at)
        h1 = min(40.0, contact_points(H1, 1.0, at))
        for name, raw in (("T1", t1), ("T2", t2), ("H1", h1), ("H2", 0.0)):
            out.setdefault(name, []).append(score(raw))
    return {name: (pair[0], pair[1]) for name, pair in out.items()}


def build(*, with_outsider: bool = True) -> tuple[Campaign, dict[str, Account]]:
    segment = ICPSegmentFactory.create()
    ScoringModel.objects.create(segment=segment)
    campaign = CampaignFactory.create(segment=segment, starts_on=START, ends_on=END)
    names = ["T1", "T2", "H1", "H2"] + (["T3"] if with_outsider else [])
    accounts = {name: AccountFactory.create(name=name) for name in names}
    for name, account in accounts.items():
        if name != "T3":  # T3 is targeted but not in the campaign's segment
            SegmentMembership.objects.create(segment=segment, account=account)
        CampaignTarget.objects.create(
            campaign=campaign, account=account, in_holdout=name.startswith("H")
        )
    source = SourceFactory.create()
    c1 = ContactFactory.create(account=accounts["T1"], seniority="c_level")
    c2 = ContactFactory.create(account=accounts["T1"], seniority="manager")
    h1 = ContactFactory.create(account=accounts["H1"], seniority="manager")
    for contact, rows in ((c1, C1), (c2, C2), (h1, H1)):
        for kind, _, occurred in rows:
            ActivityFactory.create(source=source, contact=contact, type=kind, occurred_at=occurred)
    for kind, _, occurred in ANONYMOUS_T2:
        ActivityFactory.create(source=source, contact=None, account=accounts["T2"], type=kind,
                               occurred_at=occurred, anonymous_id="visitor")  # fmt: skip
    if with_outsider:
        # T3 is active, but outside the segment it has no score there: not measured.
        outsider = ContactFactory.create(account=accounts["T3"])
        ActivityFactory.create(source=source, contact=outsider, type=ActivityType.DEMO_REQUEST,
                               occurred_at=when("2026-03-05"))  # fmt: skip
    return campaign, accounts


def test_hand_computed_scores_and_lift_without_any_snapshot() -> None:
    campaign, _ = build()
    assert not EngagementSnapshot.objects.exists()
    expected = expected_scores()
    # The hand computation exercises the cap and the anonymous factor.
    assert expected["T1"][1] == score(40 + points(15, 1, when("2026-03-20"), AT_END))
    assert expected["T2"] == (0, score(0.5 * 3 * 5 * 2 ** (-16 / 30)))
    assert expected["H2"] == (0, 0)
    data = measurement_load(start=START, end=END)
    changes = {name: after - before for name, (before, after) in expected.items()}
    by_name = dict(Account.objects.values_list("pk", "name"))
    measured = {by_name[a]: delta for a, (_, delta) in data.targets[campaign.pk].items()}
    assert measured == {**changes, "T3": None}
    lift = campaign_rows(data, campaign_ids=[campaign.pk])[0]["lift"]
    treated = [changes["T1"], changes["T2"]]
    holdout = [changes["H1"], changes["H2"]]
    assert lift["kind"] == "holdout" and lift["reason"] is None
    assert (lift["treated"], lift["holdout"], lift["not_measured"]) == (2, 2, 1)
    assert lift["estimate"] == pytest.approx(sum(treated) / 2 - sum(holdout) / 2)
    # Welch by hand: variances of two values are (a - b)^2 / 2.
    var_t, var_h = (treated[0] - treated[1]) ** 2 / 2, (holdout[0] - holdout[1]) ** 2 / 2
    se2 = var_t / 2 + var_h / 2
    df = se2**2 / ((var_t / 2) ** 2 + (var_h / 2) ** 2)
    half = metrics.student_t_quantile(0.975, df) * math.sqrt(se2)
    assert lift["low"] == pytest.approx(lift["estimate"] - half)
    assert lift["high"] == pytest.approx(lift["estimate"] + half)


def test_a_snapshot_of_the_day_is_used_as_taken() -> None:
    campaign, accounts = build(with_outsider=False)
    segment = campaign.segment
    assert segment is not None
    EngagementSnapshot.objects.create(
        account=accounts["H2"], segment=segment, day=END, model_version=1, score=7,
        raw_score=0, stage="aware",
    )  # fmt: skip
    data = measurement_load(start=START, end=END)
    # H2 has no activity: 0 at the start (computed), 7 at the end (its snapshot).
    assert data.targets[campaign.pk][accounts["H2"].pk] == (True, 7)


def test_a_period_outside_the_data_says_why_instead_of_a_figure() -> None:
    campaign, _ = build()
    tomorrow = timezone.now().date() + dt.timedelta(days=1)
    data = measurement_load(start=START, end=tomorrow)
    lift = campaign_rows(data, campaign_ids=[campaign.pk])[0]["lift"]
    assert lift["estimate"] is None and lift["low"] is None
    assert "after today" in lift["reason"]
    # No activity or snapshot at all before 2025: no history to start from.
    early = measurement_load(start=dt.date(2025, 1, 1), end=END)
    lift = campaign_rows(early, campaign_ids=[campaign.pk])[0]["lift"]
    assert lift["estimate"] is None and "before any stored activity" in lift["reason"]


@pytest.mark.parametrize("extra", [0, 8])
def test_scores_from_history_cost_a_fixed_number_of_queries(
    extra: int, django_assert_num_queries: Any
) -> None:
    campaign, _ = build()
    segment = campaign.segment
    assert segment is not None
    for _ in range(extra):
        account = AccountFactory.create()
        SegmentMembership.objects.create(segment=segment, account=account)
        CampaignTarget.objects.create(campaign=campaign, account=account)
        ActivityFactory.create(contact=ContactFactory.create(account=account),
                               occurred_at=when("2026-03-10"))  # fmt: skip
    # Ten, the data check, and for each of the two days: the model, the
    # retention cutoff, the members, and the five statements of the history sums
    # (six on PostgreSQL, which also sets the sums' work_mem).
    per_day = 8 + (connection.vendor == "postgresql")
    with django_assert_num_queries(10 + 1 + 2 * per_day):
        data = measurement_load(start=START, end=END)
    assert len(data.targets[campaign.pk]) == 5 + extra


def test_a_campaign_without_a_segment_reads_each_targets_best_member_segment() -> None:
    """From snapshots alone, by hand: a campaign with no segment of its own
    takes, on each day, the best score over the segments the target is a
    member of now; a campaign with one reads that segment's snapshots."""
    s1, s2 = ICPSegmentFactory.create_batch(2)
    for segment in (s1, s2):
        ScoringModel.objects.create(segment=segment)
    both, one, none = (AccountFactory.create(name=n) for n in ("both", "one", "none"))
    for segment, account in ((s1, both), (s2, both), (s1, one)):
        SegmentMembership.objects.create(segment=segment, account=account)
    # (account, segment, score on START, score on END)
    for account, segment, before, after in (
        (both, s1, 10, 30), (both, s2, 20, 25),  # best: 20 -> 30
        (one, s1, 5, 8),
        (one, s2, 0, 50),  # not a member of s2 now: not among its segments
    ):  # fmt: skip
        for day, value in ((START, before), (END, after)):
            EngagementSnapshotFactory.create(account=account, segment=segment, day=day,
                                             model_version=1, score=value)  # fmt: skip
    anywhere = CampaignFactory.create(segment=None, starts_on=START, ends_on=END)
    in_s2 = CampaignFactory.create(segment=s2, starts_on=START, ends_on=END)
    for campaign in (anywhere, in_s2):
        for account in (both, one, none):
            CampaignTarget.objects.create(campaign=campaign, account=account)
    targets = measurement_load(start=START, end=END).targets
    assert targets[anywhere.pk] == {
        both.pk: (False, 30 - 20),
        one.pk: (False, 8 - 5),
        none.pk: (False, None),
    }
    assert targets[in_s2.pk][both.pk] == (False, 25 - 20)
    assert targets[in_s2.pk][none.pk] == (False, None)
