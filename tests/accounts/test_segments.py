"""Segment membership and fit follow the criteria and the accounts' firmographics."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import ICPSegment, SegmentMembership
from accounts.services import segment_memberships_refresh
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

CRITERIA = {
    "all": [
        {"field": "country", "op": "in", "value": ["US"], "required": True},
        {"field": "industry", "op": "in", "value": ["Software"], "weight": 2},
        {"field": "employees", "op": "gte", "value": 200},
    ]
}


def members(segment: ICPSegment) -> dict[str, tuple[int, str]]:
    return {
        name: (score, grade)
        for name, score, grade in SegmentMembership.objects.filter(segment=segment).values_list(
            "account__name", "fit_score", "fit_grade"
        )
    }


def test_accounts_join_leave_and_refit_as_they_change() -> None:
    segment = ICPSegment.objects.create(name="US SaaS", criteria=CRITERIA)
    full = AccountFactory.create(name="Full", country="US", industry="Software", employees=900)
    AccountFactory.create(name="Abroad", country="DE", industry="Software", employees=900)
    half = AccountFactory.create(name="Half", country="US", industry="Retail", employees=50)
    result = segment_memberships_refresh(segment_id=segment.pk)
    # Full: 4/4 = 100 (A). Half: country 1 of 4 = 25, below the default min_fit of 50.
    assert members(segment) == {"Full": (100, "A")}
    assert (result.added, result.removed, result.updated, result.unchanged) == (1, 0, 0, 0)

    half.industry = "Software"  # 3 of 4: 75, B
    half.save()
    full.employees = 100  # 3 of 4
    full.save()
    result = segment_memberships_refresh(segment_id=segment.pk)
    assert members(segment) == {"Full": (75, "B"), "Half": (75, "B")}
    assert (result.added, result.updated) == (1, 1)

    full.country = "CA"  # fails the required criterion
    full.save()
    assert segment_memberships_refresh(segment_id=segment.pk).removed == 1
    assert members(segment) == {"Half": (75, "B")}
    assert segment_memberships_refresh(segment_id=segment.pk).unchanged == 1


def test_an_inactive_segment_has_no_members() -> None:
    segment = ICPSegment.objects.create(name="Paused", criteria=CRITERIA)
    AccountFactory.create(country="US", industry="Software", employees=900)
    segment_memberships_refresh(segment_id=segment.pk)
    segment.is_active = False
    segment.save()
    assert segment_memberships_refresh(segment_id=segment.pk).removed == 1
    assert not SegmentMembership.objects.exists()


@pytest.mark.parametrize("accounts", [3, 40])
def test_a_refresh_costs_a_fixed_number_of_queries(
    accounts: int, django_assert_num_queries: Any
) -> None:
    segment = ICPSegment.objects.create(name="US SaaS", criteria=CRITERIA)
    AccountFactory.create_batch(accounts, country="US", industry="Software", employees=900)
    # savepoint, segment, current members, accounts (one chunk), upsert, release
    with django_assert_num_queries(6):
        segment_memberships_refresh(segment_id=segment.pk)
    assert SegmentMembership.objects.count() == accounts


def test_the_command_reports_what_changed() -> None:
    ICPSegment.objects.create(name="US SaaS", criteria=CRITERIA)
    AccountFactory.create(country="US", industry="Software", employees=900)
    out = StringIO()
    call_command("segments_refresh", stdout=out)
    assert "US SaaS: 1 joined, 0 left, 0 fit changed, 0 unchanged" in out.getvalue()
