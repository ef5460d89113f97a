"""The engagement API: accounts by score, explanations, segments, models, alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account, ICPSegment, SegmentMembership
from engagement.models import Activity, Alert, EngagementSnapshot, ScoringModel
from engagement.rollup.recompute import scores_recompute
from tests.factories import AccountFactory, ContactFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory.create(username="viewer", groups=["Executive"]))
    return client


@pytest.fixture
def segment() -> ICPSegment:
    segment = ICPSegment.objects.create(
        name="SaaS",
        criteria={"all": [{"field": "industry", "op": "in", "value": ["Software"], "weight": 3},
                          {"field": "employees", "op": "gte", "value": 1000}]},
    )  # fmt: skip
    ScoringModel.objects.create(segment=segment, required_roles=["champion", "decision_maker"])
    return segment


def scored_account(segment: ICPSegment, name: str, demo_requests: int, grade: str = "B") -> Any:
    account = AccountFactory.create(name=name, industry="Software", employees=500)
    SegmentMembership.objects.create(
        segment=segment, account=account, fit_score=75, fit_grade=grade
    )
    person = ContactFactory.create(account=account, seniority="manager", buying_role="champion")
    source = SourceFactory.create()
    for i in range(demo_requests):
        Activity.objects.create(
            source=source, message_id=f"{name}-{i}", type="demo_request",
            occurred_at=timezone.now(), account=account, contact=person,
        )  # fmt: skip
    return account


def test_accounts_of_a_segment_come_with_score_stage_fit_and_order_by_score(
    api: APIClient, segment: ICPSegment
) -> None:
    scored_account(segment, "Low", 0)
    scored_account(segment, "High", 2, grade="A")  # 60 points, capped 40: score 55
    scored_account(segment, "Mid", 1)  # 30 points: score 45
    AccountFactory.create(name="Not a member")
    scores_recompute(segment_id=segment.pk)
    body = api.get(f"/api/accounts/?segment={segment.pk}&ordering=-score").json()
    assert [(r["name"], r["score"], r["stage"]) for r in body["results"]] == [
        ("High", 55, "engaged"), ("Mid", 45, "engaged"), ("Low", 0, "unaware"),
    ]  # fmt: skip
    assert body["results"][0]["fit_grade"] == "A"
    only_a = api.get(f"/api/accounts/?segment={segment.pk}&fit_grade=A").json()
    assert [r["name"] for r in only_a["results"]] == ["High"]
    band = api.get(f"/api/accounts/?segment={segment.pk}&score_min=40&score_max=50").json()
    assert [r["name"] for r in band["results"]] == ["Mid"]
    unaware = api.get(f"/api/accounts/?segment={segment.pk}&stage=unaware").json()
    assert [r["name"] for r in unaware["results"]] == ["Low"]


@pytest.mark.parametrize("other", ["stage=unaware", "is_target=false", "country=US", "tier=1"])
def test_a_search_in_a_segment_combines_with_the_other_filters(
    api: APIClient, segment: ICPSegment, other: str
) -> None:
    # Found by fuzzing: `?segment=&q=&stage=` answered 500 ("KeyError: 'V2'")
    # where the search was two querysets OR-ed over the segment's joins.
    low = scored_account(segment, "Acme Low", 0)
    scored_account(segment, "Other", 0)
    AccountFactory.create(name="Acme, not a member")
    Account.objects.filter(pk=low.pk).update(domain="low.acme.test", country="US", tier=1)
    scores_recompute(segment_id=segment.pk)
    answer = api.get(f"/api/accounts/?segment={segment.pk}&q=acme&{other}")
    assert answer.status_code == 200, answer.content
    assert [r["name"] for r in answer.json()["results"]] == ["Acme Low"]
    by_domain = api.get(f"/api/accounts/?segment={segment.pk}&q=LOW.ACME&{other}")
    assert [r["name"] for r in by_domain.json()["results"]] == ["Acme Low"]


def test_score_filters_and_orderings_need_a_segment(api: APIClient) -> None:
    ordered = api.get("/api/accounts/?ordering=-score")
    assert ordered.status_code == 400
    assert ordered.json() == {"ordering": "ordering by score needs ?segment=<id>"}
    assert api.get("/api/accounts/?stage=engaged").status_code == 400


@pytest.mark.parametrize(
    "ordering", ["name,-score_change_30d", "-score,name", "name, score_change_7d"]
)
def test_a_combined_ordering_with_a_score_needs_a_segment_too(
    api: APIClient, ordering: str
) -> None:
    """Issue 18: a combination once answered 500 (the unscored list has no score)."""
    AccountFactory.create(name="Alpha")
    answer = api.get("/api/accounts/", {"ordering": ordering})
    assert answer.status_code == 400
    assert answer.json() == {"ordering": "ordering by score needs ?segment=<id>"}


def test_every_combination_of_the_documented_orderings_works_and_others_are_refused(
    api: APIClient, segment: ICPSegment
) -> None:
    scored_account(segment, "Bravo", 1)  # 30 points: score 45
    scored_account(segment, "Alpha", 1)
    scored_account(segment, "Charlie", 0)
    scores_recompute(segment_id=segment.pk)
    keys = ["name", "score", "score_change_7d", "score_change_30d"]
    for first in keys:
        for second in keys:
            for sign in ("", "-"):
                ordering = f"{sign}{first},{second}"
                answer = api.get(f"/api/accounts/?segment={segment.pk}&ordering={ordering}")
                assert answer.status_code == 200, (ordering, answer.content)
    # By score (highest first), then by name: Alpha and Bravo tie at 45.
    body = api.get(f"/api/accounts/?segment={segment.pk}&ordering=-score,name").json()
    assert [r["name"] for r in body["results"]] == ["Alpha", "Bravo", "Charlie"]
    for bad in ("bogus", "name,bogus", "-", "name;drop"):
        assert api.get(f"/api/accounts/?ordering={bad}").status_code == 400, bad


def test_score_change_over_7_and_30_days_comes_from_snapshots(
    api: APIClient, segment: ICPSegment
) -> None:
    account = scored_account(segment, "Rising", 1)
    scores_recompute(segment_id=segment.pk)
    today = timezone.now().date()
    for days, score in ((7, 20), (30, 50)):
        EngagementSnapshot.objects.create(
            account=account, segment=segment, day=today - dt.timedelta(days=days),
            model_version=1, score=score, raw_score=0, stage="aware",
        )  # fmt: skip
    row = api.get(f"/api/accounts/?segment={segment.pk}&ordering=-score_change_7d").json()[
        "results"
    ][0]
    assert (row["score"], row["score_change_7d"], row["score_change_30d"]) == (45, 25, -5)


def test_a_score_change_without_its_snapshot_is_unknown_and_listed_last(
    api: APIClient, segment: ICPSegment
) -> None:
    known = scored_account(segment, "Known", 1)
    scored_account(segment, "Joined this week", 2)  # scored now, no snapshot a week ago
    scores_recompute(segment_id=segment.pk)
    EngagementSnapshot.objects.create(
        account=known, segment=segment, day=timezone.now().date() - dt.timedelta(days=7),
        model_version=1, score=50, raw_score=0, stage="engaged",
    )  # fmt: skip
    for ordering in ("-score_change_7d", "score_change_7d"):
        rows = api.get(f"/api/accounts/?segment={segment.pk}&ordering={ordering}").json()["results"]
        assert [(r["name"], r["score_change_7d"]) for r in rows] == [
            ("Known", -5), ("Joined this week", None)
        ]  # fmt: skip
    assert all(r["score_change_30d"] is None for r in rows)


@pytest.mark.parametrize("accounts", [2, 25])
def test_the_account_list_costs_three_queries_whatever_its_length(
    api: APIClient, segment: ICPSegment, django_assert_num_queries: Any, accounts: int
) -> None:
    for i in range(accounts):
        scored_account(segment, f"A{i}", i % 3)
    scores_recompute(segment_id=segment.pk)
    # whether the segment's change baselines are today's, count, page
    with django_assert_num_queries(3):
        response = api.get(f"/api/accounts/?segment={segment.pk}&ordering=-score_change_30d")
    assert response.json()["count"] == accounts


def test_the_explanation_breaks_the_score_down(api: APIClient, segment: ICPSegment) -> None:
    account = scored_account(segment, "Northwind", 2)  # a manager's two demo requests: 60 points
    Activity.objects.create(source=SourceFactory.create(), message_id="anon", type="page_view",
                            occurred_at=timezone.now(), account=account)  # fmt: skip
    scores_recompute(segment_id=segment.pk)
    body = api.get(f"/api/accounts/{account.pk}/engagement/").json()
    explained = body["segments"][0]
    # raw 40 (60 capped) + 0.5 x 1 anonymous = 40.5: 100 * (1 - e^-0.81) = 55.5, rounds to 56
    assert (explained["score"], explained["raw_score"]) == (56, pytest.approx(40.5, rel=1e-4))
    assert (explained["segment"]["name"], explained["model_version"]) == ("SaaS", 1)
    assert explained["by_activity_type"]["demo_request"] == pytest.approx(60.0, rel=1e-4)
    people = {
        p["name"] or "": (round(p["points"], 2), round(p["counted"], 2))
        for p in explained["by_contact"]
    }
    assert people["anonymous visitors"] == (1.0, 0.5)
    assert sorted(people.values())[-1] == (60.0, 40.0)  # the cap at work
    assert explained["roles_covered"] == ["champion"]
    assert explained["roles_missing"] == ["decision_maker"]
    assert [(c["criterion"]["field"], c["matched"]) for c in explained["fit"]["criteria"]] == [
        ("industry", True), ("employees", False),
    ]  # fmt: skip
    assert [a["type"] for a in explained["top_activities"]] == [
        "demo_request",
        "demo_request",
        "page_view",
    ]
    assert api.get("/api/accounts/999999/engagement/").status_code == 404


def test_segments_models_and_alerts_are_listed(api: APIClient, segment: ICPSegment) -> None:
    scored_account(segment, "One", 0)
    assert api.get("/api/segments/").json()["results"][0]["member_count"] == 1
    models = api.get("/api/scoring-models/").json()["results"]
    assert [(m["segment"], m["version"], m["half_life_days"]) for m in models] == [
        ("SaaS", 1, 30.0)
    ]
    viewer = api.handler._force_user  # type: ignore[attr-defined]
    account = AccountFactory.create()
    Alert.objects.create(account=account, segment=segment, score=70, recipient=viewer)
    Alert.objects.create(account=account, segment=segment, score=71)
    assert [a["score"] for a in api.get("/api/alerts/").json()["results"]] == [70]


@pytest.mark.parametrize(
    ("role", "own", "everyone"),
    [
        ("Marketer", 200, 200),
        ("Sales", 200, 403),
        ("Executive", 200, 403),
        (None, 403, 403),  # anonymous
    ],
)
def test_alerts_are_visible_to_their_recipient_and_to_marketers(
    segment: ICPSegment, role: str | None, own: int, everyone: int
) -> None:

    account = AccountFactory.create()
    rep = UserFactory.create(username="rep")
    Alert.objects.create(account=account, segment=segment, score=80, recipient=rep)
    Alert.objects.create(account=account, segment=segment, score=81)  # nobody's
    client = APIClient()
    caller = None
    if role is not None:
        caller = UserFactory.create(username=f"as-{role.lower()}", groups=[role])
        client.force_authenticate(caller)
        Alert.objects.create(account=account, segment=segment, score=82, recipient=caller)
    mine = client.get("/api/alerts/")
    assert mine.status_code == own
    if caller is not None:
        assert [a["recipient"] for a in mine.json()["results"]] == [caller.username]
    listed = client.get("/api/alerts/?all=1")
    assert listed.status_code == everyone, listed.json()
    if everyone == 200:
        stored = [score for score in Alert.objects.values_list("score", flat=True) if score]
        assert sorted(a["score"] for a in listed.json()["results"]) == sorted(stored)
    elif caller is not None:
        assert "only marketers" in listed.json()["detail"]


def test_a_user_without_a_role_reads_no_segments_or_scoring_models(segment: ICPSegment) -> None:
    """As on the segments and scoring pages: reading needs view_icpsegment and
    view_scoringmodel (every role has them); a login alone is not enough."""
    client = APIClient()
    client.force_authenticate(UserFactory.create(username="no-role"))
    for url in ("/api/segments/", "/api/scoring-models/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "permission" in response.json()["detail"], url
    assert client.get("/api/accounts/").status_code == 200  # the account list is everyone's
