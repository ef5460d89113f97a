"""Serving readiness (issue 19, part 4): every member scored with the segment's
latest version on yesterday's features, with its band and reasons; the
fallback's reason; the alert when a probability rises to the segment's
threshold. A hand-written model (three non-zero coefficients) makes every
figure checkable by hand."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from engagement.models import AccountReadiness, Alert, AlertKind
from readiness.feature_names import FEATURE_NAMES, feature_label
from readiness.models import ReadinessModelStatus
from readiness.selectors import FALLBACK, NOT_SCORED, SCORED, account_readiness
from readiness.services import readiness_scores_refresh
from tests.factories import (
    ICPSegmentFactory,
    segment_member,
)
from tests.readiness.hand_model import (
    TODAY,
    YESTERDAY,
    World,
    calibrated,
    hand_model,
    parameters,
)

pytestmark = pytest.mark.django_db


def _stored(account: Account) -> AccountReadiness:
    return AccountReadiness.objects.get(account=account)


def test_every_member_gets_the_probability_worked_out_by_hand() -> None:
    world = World()
    hand_model(world.segment)
    (scored,) = readiness_scores_refresh(today=TODAY)
    assert (scored.accounts, scored.model_version, scored.fallback) == (3, 1, False)
    expected = {
        world.warm: calibrated(-4 + 0.045 * 60 + 1.2 - 0.8),  # 0.0911
        world.hot: calibrated(-4 + 0.045 * 90 + 1.2),  # 0.8808
        world.unknown: calibrated(-4 + 0.045 * 50),  # 0.0180
    }
    for account, probability in expected.items():
        stored = _stored(account)
        assert stored.probability == pytest.approx(probability, abs=1e-12)
        assert stored.features_as_of == YESTERDAY and stored.model_version == 1
    assert _stored(world.hot).probability == pytest.approx(0.8808, abs=1e-4)


def test_the_band_is_the_wilson_interval_of_the_nearest_backtest_decile() -> None:
    world = World()
    hand_model(world.segment)
    readiness_scores_refresh(today=TODAY)
    # warm (0.091) and unknown (0.018) are nearest the decile predicting 0.05:
    # 12 of 100 opened; hot (0.881) the one predicting 0.80: 40 of 50.
    # Wilson 95% (z = 1.96): 12/100 -> 0.0700-0.1981; 40/50 -> 0.6696-0.8876.
    for account, (low, high, count) in (
        (world.warm, (0.0700, 0.1981, 100)),
        (world.unknown, (0.0700, 0.1981, 100)),
        (world.hot, (0.6696, 0.8876, 50)),
    ):
        stored = _stored(account)
        assert (round(stored.band_low or 0, 4), round(stored.band_high or 0, 4)) == (low, high)
        assert stored.band_count == count


def test_reasons_are_the_largest_terms_of_the_calibrated_log_odds_each_way() -> None:
    world = World()
    hand_model(world.segment)
    readiness_scores_refresh(today=TODAY)
    warm = _stored(world.warm)
    # Each term times the calibration's slope 2: score 2 * 0.045 * 60 = 5.4,
    # demo interest 2 * 1.2 = 2.4; tier unknown 2 * -0.8 = -1.6.
    assert [(r["feature"], r["value"], r["contribution"]) for r in warm.reasons_up] == [
        ("score", 60.0, 5.4),
        ("demo_interest_30d", 1.0, 2.4),
    ]
    assert [(r["feature"], r["contribution"]) for r in warm.reasons_down] == [
        ("tier_unknown", -1.6)
    ]
    assert warm.reasons_up[1]["label"] == "Requested a demo in 30 days"
    # No snapshot: the score's value is unknown (None), its imputed term still counts.
    unknown = _stored(world.unknown)
    assert unknown.reasons_up == [
        {"feature": "score", "label": "Engagement score", "value": None, "contribution": 4.5}
    ]
    assert unknown.reasons_down == []


def test_a_fallback_segment_stores_no_probability_and_says_why() -> None:
    world = World()
    reason = "too little history: 3 accounts opened an opportunity and 40 did not"
    hand_model(world.segment, status=ReadinessModelStatus.FALLBACK, parameters={}, reason=reason)
    (scored,) = readiness_scores_refresh(today=TODAY)
    assert scored.fallback
    stored = _stored(world.hot)
    assert stored.probability is None and stored.band_low is None
    assert stored.fallback_reason == reason
    served = {s.segment_id: s for s in account_readiness(account_id=world.hot.pk)}
    assert served[world.segment.pk].status == FALLBACK
    assert served[world.segment.pk].reason == reason


def test_the_latest_version_serves_and_former_members_lose_their_row() -> None:
    world = World()
    hand_model(world.segment, version=1)
    readiness_scores_refresh(today=TODAY)
    newer = parameters()
    newer["intercept"] = -5.0
    hand_model(world.segment, version=2, parameters=newer)
    world.unknown.memberships.all().delete()
    readiness_scores_refresh(today=TODAY)
    assert _stored(world.hot).model_version == 2
    assert _stored(world.hot).probability == pytest.approx(
        calibrated(-5 + 0.045 * 90 + 1.2), abs=1e-12
    )
    assert not AccountReadiness.objects.filter(account=world.unknown).exists()


def test_a_segment_without_a_model_scores_nobody_and_the_page_says_so() -> None:
    world = World()
    (scored,) = readiness_scores_refresh(today=TODAY)
    assert scored.model_version is None and not AccountReadiness.objects.exists()
    (served,) = account_readiness(account_id=world.warm.pk)
    assert served.status == NOT_SCORED
    assert served.reason == "no readiness model has been trained for this segment yet"


def test_an_alert_when_a_probability_rises_to_the_threshold_and_only_then() -> None:
    world = World()
    world.segment.readiness_alert_percent = 50
    world.segment.save()
    hand_model(world.segment)
    readiness_scores_refresh(today=TODAY)
    # A first probability has nothing to cross from: no alert, even at 0.88.
    assert not Alert.objects.exists()
    AccountReadiness.objects.filter(account=world.hot).update(probability=0.30)
    AccountReadiness.objects.filter(account=world.warm).update(probability=0.01)
    (scored,) = readiness_scores_refresh(today=TODAY)
    assert scored.alerts == 1  # hot: 0.30 -> 0.88 crosses 50%; warm: 0.01 -> 0.09 does not
    (alert,) = Alert.objects.all()
    assert (alert.account_id, alert.kind, alert.threshold_percent) == (
        world.hot.pk,
        AlertKind.READINESS,
        50,
    )
    assert alert.probability == pytest.approx(calibrated(-4 + 0.045 * 90 + 1.2), abs=1e-12)
    assert alert.score == 90 and alert.model_version == 1
    assert alert.recipient_id == world.hot.owner_id
    # Still above: no second alert.
    readiness_scores_refresh(today=TODAY)
    assert Alert.objects.count() == 1


def test_account_readiness_reads_in_three_queries(django_assert_num_queries: Any) -> None:
    world = World()
    hand_model(world.segment)
    readiness_scores_refresh(today=TODAY)
    other = ICPSegmentFactory.create()
    world.hot.memberships.create(segment=other, fit_score=10)
    with django_assert_num_queries(3):
        served = account_readiness(account_id=world.hot.pk)
    by_segment = {s.segment_id: s for s in served}
    mine = by_segment[world.segment.pk]
    assert mine.status == SCORED and mine.model_version == 1
    assert mine.probability == pytest.approx(0.8808, abs=1e-4)
    assert mine.backtest_auc == {"model": 0.81, "score": 0.74, "mql": 0.58}
    assert by_segment[other.pk].status == NOT_SCORED


def test_scoring_a_segment_takes_a_fixed_number_of_queries(
    django_assert_num_queries: Any,
) -> None:
    world = World()
    hand_model(world.segment)
    readiness_scores_refresh(today=TODAY)
    for _ in range(5):
        segment_member(world.segment)
    # The segments, the latest version, the five of the features, then in one
    # transaction (a savepoint inside the test's) the earlier probabilities,
    # the removal of former members' rows and the upsert: 12, whatever the size.
    with django_assert_num_queries(12):
        readiness_scores_refresh(segment_ids=[world.segment.pk], today=TODAY)


def test_every_feature_has_a_label_a_person_can_read() -> None:
    labels = [feature_label(name) for name in FEATURE_NAMES]
    assert len(set(labels)) == len(FEATURE_NAMES)
    assert feature_label("contacts_vp_90d") == "VP contacts active in 90 days"
    assert feature_label("channel_no_program_30d") == "Activities from no program in 30 days"
    assert feature_label("score_change_30d_missing") == "No score 30 days before"
