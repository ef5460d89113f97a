"""DESIGN section 4, checked against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from engagement.models import default_activity_weights, default_seniority_multipliers
from engagement.scoring import (
    ScoringParameters,
    band,
    breadth,
    forward_term,
    needs_rebase,
    normalised_score,
    points_at,
    raw_score,
    rebased,
    stage,
)

PARAMS = ScoringParameters(
    activity_weights=default_activity_weights(),
    seniority_multipliers=default_seniority_multipliers(),
    required_roles=("decision_maker", "champion", "technical_evaluator"),
)
L = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def points(activity_type: str, seniority: str, days_ago: float, at: dt.datetime) -> float:
    occurred = at - dt.timedelta(days=days_ago)
    term = forward_term(
        weight=PARAMS.weight(activity_type),
        multiplier=PARAMS.multiplier(seniority),
        occurred_at=occurred,
        landmark=L,
        rate=PARAMS.decay_rate,
    )
    return points_at(decay_sum=term, landmark=L, at=at, rate=PARAMS.decay_rate)


def test_weight_times_seniority_at_the_moment_it_happened() -> None:
    # demo request 30 x VP 1.5 = 45
    assert points("demo_request", "vp", 0, L) == pytest.approx(45.0)
    # content download 10 x other 0.5 = 5; unknown seniority counts 1.0
    assert points("content_download", "other", 0, L) == pytest.approx(5.0)
    assert points("content_download", "unknown", 0, L) == pytest.approx(10.0)


def test_points_halve_after_exactly_one_half_life() -> None:
    at = L + 40 * DAY
    assert points("webinar_attended", "c_level", 30, at) == pytest.approx(15.0)  # 15 x 2 / 2
    assert points("webinar_attended", "c_level", 60, at) == pytest.approx(7.5)


def test_ignored_and_unknown_types_weigh_nothing() -> None:
    assert points("email_open", "c_level", 0, L) == 0.0
    assert points("ad_impression", "vp", 0, L) == 0.0
    assert points("other", "vp", 0, L) == 0.0


def test_the_per_contact_cap_and_negative_points() -> None:
    # one heavy reader at 90 points counts 40; an unsubscriber at -10 counts 0
    assert raw_score(contact_points=[90.0, -10.0, 12.5], anonymous_points=0.0, cap=40,
                     anonymous_factor=0.5) == pytest.approx(52.5)  # fmt: skip


def test_anonymous_points_count_with_their_factor() -> None:
    assert raw_score(contact_points=[10.0], anonymous_points=20.0, cap=40,
                     anonymous_factor=0.5) == pytest.approx(20.0)  # fmt: skip


@pytest.mark.parametrize(("raw", "score"), [(0, 0), (25, 39), (50, 63), (100, 86), (400, 100)])
def test_normalisation(raw: float, score: int) -> None:
    # 100 * (1 - e^-0.5) = 39.35; 100 * (1 - e^-1) = 63.21; 100 * (1 - e^-2) = 86.47
    assert normalised_score(raw, 50) == score


@pytest.mark.parametrize(
    ("score", "expected"), [(0, "aware"), (40, "aware"), (41, "engaged"), (60, "engaged"),
                            (61, "qualified"), (100, "qualified")],
)  # fmt: skip
def test_bands(score: int, expected: str) -> None:
    assert band(score, PARAMS) == expected


@pytest.mark.parametrize(
    ("days_since_activity", "won", "open_deal", "expected"),
    [
        (1, True, True, "customer"),
        (1, False, True, "opportunity"),
        (1, False, False, "qualified"),
        (366, False, False, "unaware"),
        (None, False, False, "unaware"),
    ],
)
def test_stages_take_the_highest_that_holds(
    days_since_activity: int | None, won: bool, open_deal: bool, expected: str
) -> None:
    now = L + 10 * DAY
    last = None if days_since_activity is None else now - days_since_activity * DAY
    assert stage(score=70, last_activity_at=last, at=now, has_won_opportunity=won,
                 has_open_opportunity=open_deal, params=PARAMS) == expected  # fmt: skip


def test_a_small_account_scored_by_hand() -> None:
    now = L + 90 * DAY
    cfo = points("webinar_attended", "c_level", 30, now)  # 15 x 2 x 1/2 = 15
    manager = points("page_view", "manager", 0, now) + points(
        "pricing_page_view", "manager", 60, now
    )
    assert manager == pytest.approx(2.25)  # 1 + 5 x 1/4
    anonymous = points("page_view", "unknown", 0, now)  # 1
    raw = raw_score(contact_points=[cfo, manager], anonymous_points=anonymous, cap=40,
                    anonymous_factor=0.5)  # fmt: skip
    assert raw == pytest.approx(17.75)  # 15 + 2.25 + 0.5
    # 100 * (1 - e^(-17.75/50)) = 100 * (1 - 0.70117) = 29.88
    assert normalised_score(raw, 50) == 30
    assert band(30, PARAMS) == "aware"


def test_forward_decay_sums_are_landmark_independent_and_rebase_exactly() -> None:
    rate = PARAMS.decay_rate
    times = [L + 3 * DAY, L + 41 * DAY, L + 200 * DAY]
    at = L + 220 * DAY
    direct = sum(10 * math.exp(-rate * (at - t).days) for t in times)
    sum_at_l = sum(forward_term(weight=10, multiplier=1, occurred_at=t, landmark=L, rate=rate)
                   for t in times)  # fmt: skip
    later = L + 180 * DAY
    moved = rebased(decay_sum=sum_at_l, landmark=L, new_landmark=later, rate=rate)
    assert points_at(decay_sum=sum_at_l, landmark=L, at=at, rate=rate) == pytest.approx(direct)
    assert points_at(decay_sum=moved, landmark=later, at=at, rate=rate) == pytest.approx(direct)


def test_the_landmark_is_rebased_before_exponents_overflow() -> None:
    rate = PARAMS.decay_rate  # ln2/30 per day: 500 is reached after about 21,640 days
    assert not needs_rebase(landmark=L, latest=L + 20_000 * DAY, rate=rate)
    assert needs_rebase(landmark=L, latest=L + 22_000 * DAY, rate=rate)


def test_breadth_counts_engaged_contacts_and_required_roles() -> None:
    engaged, covered, missing = breadth(
        points_by_contact={1: 12.0, 2: 0.4, 3: 1.0},
        roles_by_contact={1: "champion", 2: "decision_maker", 3: "user"},
        required_roles=PARAMS.required_roles,
    )
    assert engaged == 2  # contact 2 is below 1 point
    assert covered == ["champion"]
    assert missing == ["decision_maker", "technical_evaluator"]


def test_a_terms_exponent_is_bounded_by_hand() -> None:
    from engagement.scoring import MAX_EXPONENT, MIN_EXPONENT, forward_term

    landmark = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rate = math.log(2) / 30
    term = {
        year: forward_term(weight=2.0, multiplier=1.5, landmark=landmark, rate=rate,
                           occurred_at=dt.datetime(year, 1, 1, tzinfo=dt.UTC))
        for year in (1, 2025, 2150, 9999)
    }  # fmt: skip
    assert term[9999] == term[2150] == 3.0 * math.exp(MAX_EXPONENT)
    assert term[1] == 3.0 * math.exp(MIN_EXPONENT)
    assert term[2025] == pytest.approx(3.0 * math.exp(-rate * 365))
