"""The segment form's preview and the membership refresh are one computation:
what the preview counts is what the refresh writes; a refresh started from a
page reports its progress and the new counts."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import ICPSegment, SegmentMembership
from accounts.selectors import segment_list_graded, segment_preview
from accounts.services import segment_memberships_refresh
from tests.factories import AccountFactory, ICPSegmentFactory, SegmentMembershipFactory

pytestmark = pytest.mark.django_db

CRITERIA = {
    "all": [
        {"field": "industry", "op": "in", "value": ["Software"], "weight": 3, "required": True},
        {"field": "employees", "op": "gte", "value": 500, "weight": 1},
        {"field": "tier", "op": "eq", "value": 1, "weight": 1},
    ]
}


class Recorder:
    """A JobProgress stand-in that keeps what it was told."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0
        self.finished: tuple[str, dict[str, Any] | None] | None = None

    def set_total(self, total: int) -> None:
        self.total = total

    def advance(self, count: int = 1, *, message: str | None = None) -> None:
        self.done += count

    def finish(self, *, message: str, result: dict[str, Any] | None = None) -> None:
        self.finished = (message, result)


@pytest.fixture
def accounts() -> None:
    # Fit out of 5, by hand: industry 3 (required), 500+ people 1, tier 1 1.
    AccountFactory.create(name="Top", industry="Software", employees=900, tier=1)  # 5/5 100 A
    AccountFactory.create(name="Big", industry="Software", employees=900, tier=2)  # 4/5 80 A
    AccountFactory.create(name="Small", industry="Software", employees=50, tier=3)  # 3/5 60 B
    AccountFactory.create(name="Unknown", industry="Software", employees=None, tier=None)  # 60 B
    AccountFactory.create(name="Shop", industry="Retail", employees=900, tier=1)  # not required


def test_the_preview_counts_what_the_refresh_writes(accounts: None) -> None:
    preview = segment_preview(criteria=CRITERIA, sample_size=3)
    assert (preview.accounts_total, preview.members) == (5, 4)
    assert preview.grades == {"A": 2, "B": 2, "C": 0, "D": 0}
    assert [(a.name, a.fit_score, a.fit_grade) for a in preview.sample] == [
        ("Top", 100, "A"), ("Big", 80, "A"), ("Small", 60, "B"),
    ]  # fmt: skip
    segment = ICPSegment.objects.create(name="Software", criteria=CRITERIA)
    segment_memberships_refresh(segment_id=segment.pk)
    written = dict(
        SegmentMembership.objects.filter(segment=segment).values_list("account__name", "fit_score")
    )
    assert written == {"Top": 100, "Big": 80, "Small": 60, "Unknown": 60}


def test_a_refresh_reports_its_progress_and_the_new_counts(accounts: None) -> None:
    segment = ICPSegment.objects.create(name="Software", criteria=CRITERIA)
    progress = Recorder()
    result = segment_memberships_refresh(segment_id=segment.pk, progress=progress)
    assert (progress.total, progress.done) == (5, 5)
    assert progress.finished == (
        "Software now has 4 members: A 2, B 2, C 0, D 0. 4 joined, 0 left, 0 changed fit.",
        {"added": 4, "updated": 0, "removed": 0, "unchanged": 0, "members": 4,
         "grades": {"A": 2, "B": 2, "C": 0, "D": 0}},
    )  # fmt: skip
    assert result.added == 4


def test_the_list_counts_members_per_grade_in_one_query(django_assert_num_queries: Any) -> None:
    first, second = ICPSegmentFactory.create(name="B-seg"), ICPSegmentFactory.create(name="A-seg")
    for grade in "AACD":
        SegmentMembershipFactory.create(segment=first, fit_grade=grade)
    with django_assert_num_queries(1):
        rows = segment_list_graded()
    assert [r.name for r in rows] == ["A-seg", "B-seg"]
    counted: Any = rows[1]
    assert (counted.member_count, counted.grade_a, counted.grade_b) == (4, 2, 0)
    assert (counted.grade_c, counted.grade_d, rows[0].member_count) == (1, 1, 0)  # type: ignore[attr-defined]
    assert second.pk == rows[0].pk
