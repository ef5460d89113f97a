"""The readiness feature list (pure) stays true to the models it names, and the
month ends it is built on."""

from __future__ import annotations

import datetime as dt

from accounts.models import Seniority
from campaigns.models import Channel
from engagement.models import ActivityType
from readiness.feature_names import (
    ACTIVITY_TYPES,
    FEATURE_NAMES,
    FEATURES,
    MISSING_INDICATORS,
    PROGRAM_CHANNELS,
    SENIORITIES,
)
from readiness.months import label_known, month_end, month_ends_between


def test_the_feature_list_names_every_activity_type_seniority_and_channel_of_the_models() -> None:
    assert list(ACTIVITY_TYPES) == list(ActivityType.values)
    assert list(SENIORITIES) == list(Seniority.values)
    assert list(PROGRAM_CHANNELS) == list(Channel.values)


def test_feature_names_are_unique_and_each_is_documented() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert all(feature.description and feature.window for feature in FEATURES)


def test_every_feature_that_may_be_missing_has_an_indicator_in_the_list() -> None:
    assert set(MISSING_INDICATORS) <= set(FEATURE_NAMES)
    assert set(MISSING_INDICATORS.values()) <= set(FEATURE_NAMES)


def test_current_state_features_are_marked_as_not_point_in_time() -> None:
    current = {feature.name for feature in FEATURES if not feature.point_in_time}
    assert {"fit_score", "tier_1", "tier_unknown", "contacts_vp_90d"} <= current
    assert "customer_as_of" not in current


def test_month_ends_cover_leap_februaries_and_year_ends() -> None:
    assert month_end(dt.date(2024, 2, 10)) == dt.date(2024, 2, 29)
    assert month_ends_between(dt.date(2023, 11, 15), dt.date(2024, 3, 30)) == [
        dt.date(2023, 11, 30),
        dt.date(2023, 12, 31),
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 29),
    ]


def test_a_label_is_known_only_once_its_whole_window_is_past() -> None:
    day = dt.date(2026, 1, 31)
    assert not label_known(day, today=dt.date(2026, 5, 1), horizon_days=90)
    assert label_known(day, today=dt.date(2026, 5, 2), horizon_days=90)
