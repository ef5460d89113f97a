"""The alert inbox: when a user last looked (AlertInboxVisit) and what is new
to them since. Counts are checked against the rows written here."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from engagement.models import Alert, AlertInboxVisit
from engagement.selectors import alert_inbox_count
from engagement.services.alert_inbox import alert_inbox_visit_record
from tests.factories import AlertFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_visit_is_recorded_once_per_user_and_never_moves_back() -> None:
    user = UserFactory.create()
    now = timezone.now()
    alert_inbox_visit_record(user_id=user.pk, at=now)
    alert_inbox_visit_record(user_id=user.pk, at=now - dt.timedelta(hours=1))  # an older tab
    assert list(AlertInboxVisit.objects.values_list("user_id", "seen_at")) == [(user.pk, now)]
    later = now + dt.timedelta(minutes=5)
    alert_inbox_visit_record(user_id=user.pk, at=later)
    assert list(AlertInboxVisit.objects.values_list("user_id", "seen_at")) == [(user.pk, later)]


def test_new_alerts_are_those_after_the_visit_or_else_of_the_last_7_days() -> None:
    user, other = UserFactory.create(), UserFactory.create()
    now = timezone.now()
    for days_ago, recipient in [(1, user), (3, user), (9, user), (1, other), (1, None)]:
        alert = AlertFactory.create(recipient=recipient)
        Alert.objects.filter(pk=alert.pk).update(created_at=now - dt.timedelta(days=days_ago))
    assert alert_inbox_count(user_id=user.pk, now=now) == 2  # 1 and 3 days ago
    alert_inbox_visit_record(user_id=user.pk, at=now - dt.timedelta(days=2))
    assert alert_inbox_count(user_id=user.pk, now=now) == 1  # 1 day ago
    alert_inbox_visit_record(user_id=user.pk, at=now)
    assert alert_inbox_count(user_id=user.pk, now=now) == 0
    assert alert_inbox_count(user_id=other.pk, now=now) == 1  # another's visit is not theirs
