"""`manage.py readiness_scores`: a line per segment with what it scored."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from engagement.models import AccountReadiness
from readiness.models import ReadinessModel
from tests.factories import ICPSegmentFactory, segment_member

pytestmark = pytest.mark.django_db


def test_each_segment_prints_its_scored_accounts_fallbacks_and_alerts() -> None:
    falling = ICPSegmentFactory.create(name="Falling")
    for index in range(2):
        segment_member(falling, name=f"Member {index}")
    ReadinessModel.objects.create(
        segment=falling, version=1, status="fallback", reason="too little history",
        trained_at=timezone.now(), as_of=dt.date(2026, 12, 1),
    )  # fmt: skip
    untrained = ICPSegmentFactory.create(name="Untrained")
    out = StringIO()
    call_command("readiness_scores", "--today", "2026-12-02", stdout=out)
    assert out.getvalue().splitlines() == [
        f"segment {falling.pk} (v1): 2 scored, 2 falling back, 0 alert(s)",
        f"segment {untrained.pk}: no model version yet, not scored",
        "Scored 2 segment(s)",
    ]
    assert AccountReadiness.objects.filter(segment=falling, probability=None).count() == 2


def test_an_unknown_segment_or_day_is_refused() -> None:
    with pytest.raises(CommandError, match="no active segment with id 999999"):
        call_command("readiness_scores", "--segment", "999999", stdout=StringIO())
    with pytest.raises(CommandError, match="is not a date"):
        call_command("readiness_scores", "--today", "2026-13-01", stdout=StringIO())
