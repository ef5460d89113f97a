"""The account page's reads: standings, trend, what changed, buying team and
timeline, on one account whose every figure is worked out by hand below.

The model: half-life 10 days, weights webinar 10, pricing page 5, page view 1,
demo request 20; VPs count double; a person's points are capped at 40. Now is
2026-06-30 12:00 UTC, so an activity d days old is worth w x m x 2^(-d/10).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, Contact, SegmentMembership
from engagement.account_selectors import (
    SegmentStanding,
    TimelineFilter,
    account_buying_team,
    account_recent_facts,
    account_standings,
    account_timeline,
    account_trend,
)
from engagement.changes import what_changed
from engagement.models import (
    AccountEngagement,
    ActivityType,
    ContactEngagement,
    EngagementSnapshot,
    ScoringModel,
)
from tests.factories import AccountFactory, ActivityFactory, ContactFactory, ICPSegmentFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)


def _days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


@pytest.fixture
def account() -> Account:
    account: Account = AccountFactory.create(name="Acme", domain="acme.example")
    saas, fintech = ICPSegmentFactory.create(name="SaaS"), ICPSegmentFactory.create(name="Fintech")
    model = ScoringModel.objects.create(
        segment=saas,
        half_life_days=10,
        contact_cap=40,
        engaged_min=41,
        qualified_min=61,
        activity_weights={
            "webinar_attended": 10,
            "pricing_page_view": 5,
            "page_view": 1,
            "demo_request": 20,
        },
        seniority_multipliers={"vp": 2.0, "manager": 1.0},
        required_roles=["champion", "user"],
    )
    ScoringModel.objects.create(segment=fintech, engaged_min=30, qualified_min=70)
    SegmentMembership.objects.create(account=account, segment=saas, fit_score=80, fit_grade="A")
    SegmentMembership.objects.create(account=account, segment=fintech, fit_score=35, fit_grade="C")
    AccountEngagement.objects.create(
        account=account,
        segment=saas,
        scoring_model=model,
        landmark=NOW,
        raw_score=40.0,
        score=55,
        stage="engaged",
        engaged_contacts=2,
        roles_covered=["champion"],
        last_activity_at=_days_ago(1),
        computed_at=NOW,
    )
    EngagementSnapshot.objects.create(
        account=account,
        segment=saas,
        day=dt.date(2026, 6, 23),
        model_version=1,
        score=40,
        raw_score=25.0,
        stage="aware",
    )
    EngagementSnapshot.objects.create(
        account=account,
        segment=saas,
        day=dt.date(2026, 6, 29),
        model_version=1,
        score=50,
        raw_score=35.0,
        stage="engaged",
    )

    def person(first: str, seniority: str, **extra: object) -> Contact:
        contact: Contact = ContactFactory.create(
            account=account,
            first_name=first,
            last_name="Test",
            seniority=seniority,
            email=f"{first.lower()}@acme.example",
            **extra,
        )
        return contact

    ana = person("Ana", "vp", title="VP Marketing", buying_role="champion")
    ben = person("Ben", "manager", buying_role="user")
    cleo = person("Cleo", "manager", is_junk=True, junk_reason="role address")
    dan = person("Dan", "manager")
    person("Eve", "manager")  # no activity at all
    ActivityFactory.create(
        contact=ana, type=ActivityType.WEBINAR_ATTENDED, occurred_at=_days_ago(3)
    )
    ActivityFactory.create(contact=ben, type=ActivityType.PAGE_VIEW, occurred_at=_days_ago(60))
    ActivityFactory.create(
        contact=ben, type=ActivityType.PRICING_PAGE_VIEW, occurred_at=_days_ago(10)
    )
    ActivityFactory.create(
        contact=None,
        account=account,
        type=ActivityType.PRICING_PAGE_VIEW,
        occurred_at=_days_ago(1),
        anonymous_id="anon-1",
    )
    ActivityFactory.create(
        contact=cleo,
        type=ActivityType.DEMO_REQUEST,
        occurred_at=_days_ago(2),
        excluded_reason="junk contact: role address",
    )
    ActivityFactory.create(contact=dan, type=ActivityType.DEMO_REQUEST, occurred_at=_days_ago(5))
    # Ana's sum is worth 30 x 2^-1 = 15 now; Ben's 100 now, capped at 40.
    ContactEngagement.objects.create(
        contact=ana, account=account, segment=saas, landmark=_days_ago(10), decay_sum=30.0
    )
    ContactEngagement.objects.create(
        contact=ben, account=account, segment=saas, landmark=NOW, decay_sum=100.0
    )
    return account


def _standing(account: Account) -> SegmentStanding:
    return account_standings(account_id=account.pk, today=NOW.date())[0]


def test_standings_put_the_scored_segment_first_and_the_unscored_with_its_bands(
    account: Account,
) -> None:
    with CaptureQueriesContext(connection) as queries:
        saas, fintech = account_standings(account_id=account.pk, today=NOW.date())
    assert len(queries) == 4
    assert (saas.segment_name, saas.score, saas.stage) == ("SaaS", 55, "engaged")
    # 55 now against the snapshot of June 23 (40); Fintech is not scored: unknown.
    assert (saas.score_change_7d, fintech.score_change_7d) == (15, None)
    assert saas.fit_grade == "A"
    assert (saas.engaged_min, saas.qualified_min, saas.roles_missing) == (41, 61, ["user"])
    assert (fintech.segment_name, fintech.score, fintech.stage) == ("Fintech", None, None)
    assert (fintech.engaged_min, fintech.qualified_min, fintech.fit_grade) == (30, 70, "C")


def test_the_trend_has_every_day_and_a_gap_where_no_snapshot_was_taken(account: Account) -> None:
    saas = _standing(account)
    with CaptureQueriesContext(connection) as queries:
        trend = account_trend(
            account_id=account.pk,
            segment_ids=[saas.segment_id],
            until=dt.date(2026, 6, 30),
            days=10,
        )
    assert len(queries) == 1
    days = trend[saas.segment_id]
    assert [day for day, _ in days] == [dt.date(2026, 6, 21) + dt.timedelta(d) for d in range(10)]
    assert {day.day: score for day, score in days if score is not None} == {23: 40, 29: 50}
    assert sum(score is None for _, score in days) == 8


def test_what_changed_in_7_and_30_days(account: Account) -> None:
    saas = _standing(account)
    with CaptureQueriesContext(connection) as queries:
        week, month = account_recent_facts(account_id=account.pk, standing=saas, at=NOW)
    assert len(queries) == 3

    assert (week.score_now, week.score_then) == (55, 40)
    assert week.new_people == ["Ana Test (VP Marketing)", "Dan Test"]
    assert week.points_by_type == pytest.approx(
        {
            "webinar_attended": 10 * 2.0 * 2 ** (-3 / 10),
            "pricing_page_view": 5 * 2 ** (-1 / 10),  # anonymous: no seniority multiplier
            "demo_request": 20 * 2 ** (-5 / 10),  # Cleo's is junk, excluded
        }
    )
    assert (week.pricing_views, week.pricing_people) == (1, 1)
    assert week.demo_requests == [("Dan Test", dt.date(2026, 6, 25))]

    assert (month.score_now, month.score_then) == (55, None)  # no snapshot on May 31
    assert month.new_people == ["Ana Test (VP Marketing)", "Dan Test"]  # Ben began in May
    assert month.points_by_type["pricing_page_view"] == pytest.approx(
        5 * 2 ** (-1 / 10) + 5 * 2 ** (-10 / 10)
    )
    assert (month.pricing_views, month.pricing_people) == (2, 2)

    labels = dict(ActivityType.choices)
    assert what_changed(week, type_labels=labels) == [
        "Score up 15 (40 to 55).",
        "2 new people engaged: Ana Test (VP Marketing), Dan Test.",
        f"Most points from webinar attended ({20 * 2**-0.3:.1f}), "
        f"demo request ({20 * 2**-0.5:.1f}), pricing page view ({5 * 2**-0.1:.1f}).",
        "Pricing interest: 1 pricing page view by 1 person.",
        "Demo requested by Dan Test on 2026-06-25.",
    ]
    assert what_changed(month, type_labels=labels)[0] == (
        "Score 55; no score 30 days ago to compare with."
    )


def test_the_buying_team_by_points_counted_with_junk_apart(account: Account) -> None:
    saas = _standing(account)
    with CaptureQueriesContext(connection) as queries:
        team = account_buying_team(account_id=account.pk, standing=saas, at=NOW)
    assert len(queries) == 3
    assert [m.name for m in team] == ["Ben Test", "Ana Test", "Dan Test", "Eve Test", "Cleo Test"]
    ben, ana, dan, eve, cleo = team
    assert (ben.points, ben.points_counted) == (pytest.approx(100.0), 40.0)
    assert (ana.points, ana.points_counted) == (pytest.approx(15.0), pytest.approx(15.0))
    assert (dan.points, dan.last_activity_at) == (None, _days_ago(5))
    assert (eve.points, eve.last_activity_at) == (None, None)
    assert (cleo.is_junk, cleo.junk_reason) == (True, "role address")
    assert (ana.seniority, ana.buying_role, ana.title) == ("VP", "champion", "VP Marketing")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (TimelineFilter(), ["Anonymous", "Cleo", "Ana", "Dan", "Ben", "Ben"]),
        (TimelineFilter(anonymous_only=True), ["Anonymous"]),
        (TimelineFilter(activity_type="pricing_page_view"), ["Anonymous", "Ben"]),
        (
            TimelineFilter(since=dt.date(2026, 6, 25), until=dt.date(2026, 6, 28)),
            ["Cleo", "Ana", "Dan"],
        ),
    ],
)
def test_the_timeline_is_newest_first_and_filtered(
    account: Account, filters: TimelineFilter, expected: list[str]
) -> None:
    with CaptureQueriesContext(connection) as queries:
        rows = list(account_timeline(account_id=account.pk, filters=filters))
    assert len(queries) == 1
    assert [row.contact.first_name if row.contact else "Anonymous" for row in rows] == expected


def test_the_timeline_of_one_person(account: Account) -> None:
    ana = Contact.objects.get(first_name="Ana")
    rows = list(account_timeline(account_id=account.pk, filters=TimelineFilter(contact_id=ana.pk)))
    assert [(row.type, row.occurred_at) for row in rows] == [("webinar_attended", _days_ago(3))]
