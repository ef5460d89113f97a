"""Readiness served on the API (issue 19, part 4): the account list's
readiness fields, ordering and filters (/api/accounts/), and an account's
readiness per segment (/api/accounts/<id>/readiness/), figures worked out by
hand (a hand-written model, as tests/readiness/hand_model.py, and rows
written by hand, tests/readiness/served_world.py)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from engagement.models import AccountEngagement
from readiness.models import ReadinessModelStatus
from readiness.services import readiness_scores_refresh
from tests.factories import ICPSegmentFactory, UserFactory
from tests.readiness.hand_model import TODAY, World, hand_model
from tests.readiness.served_world import FALLBACK_REASON, ServedWorld, served_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory.create(username="rep", groups=["Sales"]))
    return client


@pytest.fixture
def world() -> ServedWorld:
    return served_world()


def _names(answer: Any) -> list[str]:
    return [row["name"] for row in answer.json()["results"]]


# --- /api/accounts/ ------------------------------------------------------------------------


def test_each_account_comes_with_its_readiness_band_and_why_there_is_none(
    api: APIClient, world: ServedWorld
) -> None:
    answer = api.get(f"/api/accounts/?segment={world.segment.pk}")
    assert answer.status_code == 200
    rows = {row["name"]: row for row in answer.json()["results"]}
    fields = ("readiness", "readiness_band_low", "readiness_band_high", "readiness_status",
              "readiness_fallback_reason")  # fmt: skip
    assert {name: tuple(row[f] for f in fields) for name, row in rows.items()} == {
        "Alpha": (0.62, 0.50, 0.71, "scored", None),
        "Bravo": (0.30, 0.22, 0.37, "scored", None),
        "Charlie": (None, None, None, "fallback", FALLBACK_REASON),
        "Delta": (None, None, None, "not scored", None),
    }
    # Without a segment nothing is annotated: every readiness field is null.
    plain = api.get("/api/accounts/").json()["results"][0]
    assert [plain[f] for f in fields] == [None] * len(fields)


def test_ordering_by_readiness_puts_unknown_last_either_way(
    api: APIClient, world: ServedWorld
) -> None:
    segment = world.segment.pk
    down = api.get(f"/api/accounts/?segment={segment}&ordering=-readiness")
    up = api.get(f"/api/accounts/?segment={segment}&ordering=readiness")
    assert _names(down) == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert _names(up) == ["Bravo", "Alpha", "Charlie", "Delta"]


def test_readiness_filters_bound_the_probability_and_leave_out_the_unknown(
    api: APIClient, world: ServedWorld
) -> None:
    base = f"/api/accounts/?segment={world.segment.pk}&ordering=name"
    assert _names(api.get(f"{base}&readiness_min=0.5")) == ["Alpha"]
    # The bound is inclusive: 0.30 is at least 0.3.
    assert _names(api.get(f"{base}&readiness_min=0.3")) == ["Alpha", "Bravo"]
    assert _names(api.get(f"{base}&readiness_max=0.3")) == ["Bravo"]
    assert _names(api.get(f"{base}&readiness_min=0.31&readiness_max=0.7")) == ["Alpha"]
    assert _names(api.get(f"{base}&readiness_min=0")) == ["Alpha", "Bravo"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("readiness_min=1.5", "readiness_min"),
        ("readiness_min=-0.1", "readiness_min"),
        ("readiness_max=62", "readiness_max"),
        ("readiness_min=abc", "readiness_min"),
        ("readiness_max=NaN", "readiness_max"),
    ],
)
def test_a_bad_readiness_bound_is_a_400_naming_the_field(
    api: APIClient, world: ServedWorld, query: str, field: str
) -> None:
    answer = api.get(f"/api/accounts/?segment={world.segment.pk}&{query}")
    assert answer.status_code == 400
    assert list(answer.json()) == [field]


def test_readiness_filters_and_ordering_need_a_segment(api: APIClient, world: ServedWorld) -> None:
    answer = api.get("/api/accounts/?readiness_min=0.5")
    assert answer.status_code == 400
    assert answer.json() == {"readiness_min": "filtering by readiness needs ?segment=<id>"}
    answer = api.get("/api/accounts/?ordering=-readiness")
    assert answer.status_code == 400
    assert answer.json() == {"ordering": "ordering by readiness needs ?segment=<id>"}


def test_the_list_with_readiness_keeps_its_query_count(
    api: APIClient, world: ServedWorld, django_assert_num_queries: Any
) -> None:
    # whether the segment's change baselines are today's, count, page
    with django_assert_num_queries(3):
        answer = api.get(
            f"/api/accounts/?segment={world.segment.pk}&ordering=-readiness&readiness_min=0.1"
        )
    assert answer.status_code == 200


# --- /api/accounts/<id>/readiness/ ------------------------------------------------------------


def test_an_accounts_readiness_per_segment_worked_out_by_hand(api: APIClient) -> None:
    world = World()
    world.segment.name = "Fintech"
    world.segment.save()
    hand_model(world.segment)
    fallback = ICPSegmentFactory.create(name="Growth")
    hand_model(
        fallback, status=ReadinessModelStatus.FALLBACK, parameters={}, reason=FALLBACK_REASON
    )
    world.hot.memberships.create(segment=fallback, fit_score=10)
    unmodelled = ICPSegmentFactory.create(name="Startups")
    world.hot.memberships.create(segment=unmodelled, fit_score=10)
    readiness_scores_refresh(today=TODAY)

    answer = api.get(f"/api/accounts/{world.hot.pk}/readiness/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["account"] == {"id": world.hot.pk, "name": world.hot.name,
                               "domain": world.hot.domain}  # fmt: skip
    by_name = {segment["segment_name"]: segment for segment in body["segments"]}
    assert list(by_name) == ["Fintech", "Growth", "Startups"]

    scored = by_name["Fintech"]
    # z = -4 + 0.045 * 90 + 1.2 = 1.25; p = 1 / (1 + exp(-2 * 1.25 + 0.5)) = 1 / (1 + e^-2).
    assert scored["status"] == "scored" and scored["reason"] == ""
    assert scored["probability"] == pytest.approx(0.880797, abs=1e-6)
    # Nearest backtest decile predicted 0.80: 40 of 50 opened; Wilson 95%.
    assert (round(scored["band_low"], 4), round(scored["band_high"], 4)) == (0.6696, 0.8876)
    assert scored["band_count"] == 50
    # Terms of the calibrated log-odds (slope 2): score 2 * 0.045 * 90, demo 2 * 1.2.
    assert [(r["feature"], r["label"], r["value"], r["contribution"])
            for r in scored["reasons_up"]] == [
        ("score", "Engagement score", 90.0, pytest.approx(8.1)),
        ("demo_interest_30d", "Requested a demo in 30 days", 1.0, pytest.approx(2.4)),
    ]  # fmt: skip
    assert scored["reasons_down"] == []
    assert scored["features_as_of"] == "2026-11-30"
    assert scored["model_version"] == 1
    assert scored["backtest_auc"] == {"model": 0.81, "score": 0.74, "mql": 0.58}
    assert scored["scored_at"].endswith(("Z", "+00:00"))
    stored_score = AccountEngagement.objects.filter(
        account=world.hot, segment=world.segment
    ).values_list("score", flat=True)
    assert scored["engagement_score"] == (stored_score[0] if stored_score else None)

    assert (by_name["Growth"]["status"], by_name["Growth"]["reason"]) == (
        "fallback",
        FALLBACK_REASON,
    )
    assert by_name["Growth"]["probability"] is None
    assert by_name["Startups"]["status"] == "not scored"
    assert by_name["Startups"]["reason"] == (
        "no readiness model has been trained for this segment yet"
    )
    assert by_name["Startups"]["model_version"] is None


def test_an_unknown_account_is_a_json_404(api: APIClient) -> None:
    answer = api.get("/api/accounts/987654/readiness/")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "No Account matches the given query."}


def test_a_user_in_no_group_may_not_read_readiness(world: ServedWorld) -> None:
    client = APIClient()
    client.force_authenticate(UserFactory.create(username="nobody"))
    assert client.get(f"/api/accounts/{world.alpha.pk}/readiness/").status_code == 403
    assert APIClient().get(f"/api/accounts/{world.alpha.pk}/readiness/").status_code == 403


def test_an_accounts_readiness_reads_in_a_fixed_number_of_queries(
    api: APIClient, world: ServedWorld, django_assert_num_queries: Any
) -> None:
    for n in range(3):
        world.alpha.memberships.create(segment=ICPSegmentFactory.create(), fit_score=n)
    # The user's permissions (user's own and its groups', the first time),
    # the account, then readiness.selectors.account_readiness's three,
    # whatever the number of segments.
    with django_assert_num_queries(6):
        answer = api.get(f"/api/accounts/{world.alpha.pk}/readiness/")
    assert len(answer.json()["segments"]) == 4
