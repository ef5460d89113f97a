"""Stored change baselines (issue 20): the snapshot scores 7 and 30 days
before a day, kept on the engagement rows by `change_baselines_set` and the
triggers of engagement migration 0029, and the account list sorted by score
change reading its pages from them. Every expectation is worked out from the
snapshot rows in Python, never from the code under test."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, ICPSegment
from engagement.list_selectors import (
    AccountListFilters,
    account_list_pages,
    account_list_scored,
    change_baselines_current,
)
from engagement.models import AccountEngagement, EngagementSnapshot
from engagement.rollup.baselines import change_baselines_set
from engagement.rollup.recompute import scores_recompute
from tests.db_triggers import triggers_on
from tests.factories import (
    AccountEngagementFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    ScoringModelFactory,
    segment_member,
)
from tests.index_plans import keys_plan

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)
WEEK_AGO, MONTH_AGO = TODAY - dt.timedelta(days=7), TODAY - dt.timedelta(days=30)


def stored(account: Account, segment: ICPSegment) -> tuple[Any, Any, Any]:
    row = AccountEngagement.objects.get(account=account, segment=segment)
    return row.baselines_for, row.baseline_score_7d, row.baseline_score_30d


def test_the_triggers_are_installed() -> None:
    assert triggers_on("engagement_accountengagement") == ["engagement_score_baselines_insert"]
    assert triggers_on("engagement_engagementsnapshot", like="%baselines%") == [
        "engagement_snapshot_baselines_delete",
        "engagement_snapshot_baselines_insert",
        "engagement_snapshot_baselines_update",
    ]


def test_setting_stores_the_scores_of_7_and_30_days_ago_and_none_where_no_snapshot() -> None:
    segment = ICPSegmentFactory.create()
    both, week_only, neither = (segment_member(segment) for _ in range(3))
    for account in (both, week_only, neither):
        AccountEngagementFactory.create(account=account, segment=segment, score=50)
    EngagementSnapshotFactory.create(account=both, segment=segment, day=WEEK_AGO, score=41)
    EngagementSnapshotFactory.create(account=both, segment=segment, day=MONTH_AGO, score=12)
    EngagementSnapshotFactory.create(account=week_only, segment=segment, day=WEEK_AGO, score=60)
    # Days either side of the baselines' days are not read.
    EngagementSnapshotFactory.create(account=neither, segment=segment,
                                     day=WEEK_AGO - dt.timedelta(days=1), score=9)  # fmt: skip
    other = ICPSegmentFactory.create()
    AccountEngagementFactory.create(account=both, segment=other, score=5)

    assert change_baselines_set(segment_id=segment.pk, today=TODAY) == 3

    assert stored(both, segment) == (TODAY, 41, 12)
    assert stored(week_only, segment) == (TODAY, 60, None)
    assert stored(neither, segment) == (TODAY, None, None)
    assert stored(both, other) == (None, None, None)  # another segment's rows untouched
    assert change_baselines_current(segment_id=segment.pk, today=TODAY)
    assert not change_baselines_current(segment_id=segment.pk, today=TODAY + dt.timedelta(1))
    assert not change_baselines_current(segment_id=other.pk, today=TODAY)


def test_a_new_engagement_row_takes_its_segments_day_and_reads_its_snapshots() -> None:
    segment = ICPSegmentFactory.create()
    first = segment_member(segment)
    AccountEngagementFactory.create(account=first, segment=segment, score=30)
    change_baselines_set(segment_id=segment.pk, today=TODAY)
    later = segment_member(segment)
    # Snapshots from before the account had a score row in the segment.
    EngagementSnapshotFactory.create(account=later, segment=segment, day=WEEK_AGO, score=22)
    EngagementSnapshotFactory.create(account=later, segment=segment, day=MONTH_AGO, score=3)

    AccountEngagementFactory.create(account=later, segment=segment, score=25)

    assert stored(later, segment) == (TODAY, 22, 3)
    assert change_baselines_current(segment_id=segment.pk, today=TODAY)


def test_a_new_row_in_a_segment_without_baselines_has_none() -> None:
    segment = ICPSegmentFactory.create()
    account = segment_member(segment)
    EngagementSnapshotFactory.create(account=account, segment=segment, day=WEEK_AGO, score=22)
    AccountEngagementFactory.create(account=account, segment=segment, score=25)
    assert stored(account, segment) == (None, None, None)
    assert not change_baselines_current(segment_id=segment.pk, today=TODAY)


def test_snapshots_written_changed_moved_or_deleted_are_read_again() -> None:
    segment = ICPSegmentFactory.create()
    account, neighbour = segment_member(segment), segment_member(segment)
    for member in (account, neighbour):
        AccountEngagementFactory.create(account=member, segment=segment, score=50)
    EngagementSnapshotFactory.create(account=neighbour, segment=segment, day=MONTH_AGO, score=8)
    change_baselines_set(segment_id=segment.pk, today=TODAY)
    assert stored(account, segment) == (TODAY, None, None)

    month = EngagementSnapshotFactory.create(
        account=account, segment=segment, day=MONTH_AGO, score=11
    )
    week = EngagementSnapshotFactory.create(
        account=account, segment=segment, day=WEEK_AGO, score=33
    )
    assert stored(account, segment) == (TODAY, 33, 11)

    EngagementSnapshot.objects.filter(pk=month.pk).update(score=14)
    assert stored(account, segment) == (TODAY, 33, 14)

    # Moved off its day: the baseline it left is gone, the one it reached is read.
    EngagementSnapshot.objects.filter(pk=week.pk).update(day=WEEK_AGO - dt.timedelta(days=1))
    assert stored(account, segment) == (TODAY, None, 14)
    EngagementSnapshot.objects.filter(pk=week.pk).update(day=WEEK_AGO)
    assert stored(account, segment) == (TODAY, 33, 14)

    EngagementSnapshot.objects.filter(pk=month.pk).delete()
    assert stored(account, segment) == (TODAY, 33, None)
    # A snapshot on a day no baseline reads, such as yesterday's nightly one,
    # changes nothing; the neighbour's baselines were never touched.
    EngagementSnapshotFactory.create(account=account, segment=segment,
                                     day=TODAY - dt.timedelta(days=1), score=99)  # fmt: skip
    assert stored(account, segment) == (TODAY, 33, None)
    assert stored(neighbour, segment) == (TODAY, None, 8)


def test_the_scores_upsert_keeps_the_baselines_and_gives_new_rows_theirs() -> None:
    segment = ICPSegmentFactory.create()
    ScoringModelFactory.create(segment=segment)
    kept = segment_member(segment)
    EngagementSnapshotFactory.create(account=kept, segment=segment, day=MONTH_AGO, score=7)
    scores_recompute(segment_id=segment.pk)
    change_baselines_set(segment_id=segment.pk, today=TODAY)
    joined = segment_member(segment)
    EngagementSnapshotFactory.create(account=joined, segment=segment, day=WEEK_AGO, score=4)

    scores_recompute(segment_id=segment.pk)  # updates `kept`, inserts `joined`

    assert stored(kept, segment) == (TODAY, None, 7)
    assert stored(joined, segment) == (TODAY, 4, None)


# --- The account list read from them --------------------------------------------------


def _list_scenario() -> ICPSegment:
    """A segment of 14 members: ties in change and in name, changes unknown
    (no snapshot that day), a member not scored at all."""
    segment = ICPSegmentFactory.create()
    rows = [  # name, score, score 7 days ago, score 30 days ago (None: no snapshot)
        ("Acme", 50, 40, 20), ("Acme", 50, 40, 20), ("Birch", 30, 30, 0),
        ("Cedar", 70, 90, 40), ("Delta", 10, None, 40), ("Elm", 55, 45, None),
        ("Fir", 0, 0, 0), ("Gale", 80, 70, 50), ("Hazel", 44, 50, 74),
        ("Iris", 20, None, None), ("Juno", 65, 60, 35), ("Kite", 5, 9, 1),
        ("Lark", 90, 80, 60),
    ]  # fmt: skip
    for name, score, week, month in rows:
        account = segment_member(segment, name=name)
        AccountEngagementFactory.create(account=account, segment=segment, score=score)
        for day, before in ((WEEK_AGO, week), (MONTH_AGO, month)):
            if before is not None:
                EngagementSnapshotFactory.create(
                    account=account, segment=segment, day=day, score=before
                )
    segment_member(segment, name="Zero")  # a member, never scored
    return segment


def _order_by_hand(segment: ICPSegment, ordering: str) -> list[int]:
    """The list's order from the rows: known changes by change (then name,
    id), unknown ones last by name, id."""
    days = 7 if "7d" in ordering else 30
    before = dict(
        EngagementSnapshot.objects.filter(
            segment=segment, day=TODAY - dt.timedelta(days=days)
        ).values_list("account_id", "score")
    )
    now = dict(AccountEngagement.objects.filter(segment=segment).values_list("account_id", "score"))
    members = Account.objects.filter(memberships__segment=segment).values_list("pk", "name")
    known = [(now[pk] - before[pk], name, pk) for pk, name in members if pk in now and pk in before]
    sign = -1 if ordering.startswith("-") else 1
    known.sort(key=lambda row: (sign * row[0], row[1], row[2]))
    unknown = sorted((name, pk) for pk, name in members if not (pk in now and pk in before))
    return [pk for _, _, pk in known] + [pk for _, pk in unknown]


@pytest.mark.parametrize("ordering", ["-change_30d", "change_30d", "-change_7d", "change_7d"])
def test_pages_by_change_from_the_baselines_follow_the_order_worked_out_by_hand(
    ordering: str,
) -> None:
    segment = _list_scenario()
    change_baselines_set(segment_id=segment.pk, today=TODAY)
    expected = _order_by_hand(segment, ordering)
    pages = account_list_pages(segment_id=segment.pk, today=TODAY, ordering=ordering)
    assert pages.head is not None  # read from the baselines, not the snapshots
    assert pages.count() == len(expected) == 14
    # Every cut: inside the head, across its end, past it, beyond the list.
    for size in (1, 3, 5, 14, 20):
        paged = [a.pk for start in range(0, 15, size) for a in pages[start : start + size]]
        assert paged == expected, (size, paged)
    assert pages[13].pk == expected[13]


def test_the_figures_from_the_baselines_equal_those_from_the_snapshots() -> None:
    segment = _list_scenario()
    change_baselines_set(segment_id=segment.pk, today=TODAY)
    columns = ("pk", "score", "score_change_7d", "score_change_30d", "stage", "fit_grade")

    def figures(baselines_stored: bool) -> list[tuple[Any, ...]]:
        return list(
            account_list_scored(
                segment_id=segment.pk, today=TODAY, ordering="name",
                baselines_stored=baselines_stored,
            ).values_list(*columns)
        )  # fmt: skip

    assert figures(True) == figures(False)
    lark = next(row for row in figures(True) if row[0] == Account.objects.get(name="Lark").pk)
    assert lark[1:4] == (90, 10, 30)  # 90 - 80, 90 - 60


def test_the_change_filter_reads_the_baselines() -> None:
    segment = _list_scenario()
    change_baselines_set(segment_id=segment.pk, today=TODAY)
    fell = account_list_pages(
        segment_id=segment.pk, today=TODAY, ordering="-change_30d",
        filters=AccountListFilters(score_change="fell_30d"),
    )  # fmt: skip
    # Changes over 30 days below zero: Hazel 44 - 74, Delta 10 - 40.
    rows: list[Any] = fell[0:10]
    assert [(a.name, a.score_change_30d) for a in rows] == [("Delta", -30), ("Hazel", -30)]
    assert fell.count() == 2  # a filtered list counts its rows, not the members


def test_an_unfiltered_segment_list_counts_its_members_without_the_accounts() -> None:
    segment = _list_scenario()
    other = ICPSegmentFactory.create()
    segment_member(other, name="Elsewhere")
    pages = account_list_pages(segment_id=segment.pk, today=TODAY, ordering="-score")
    with CaptureQueriesContext(connection) as captured:
        assert pages.count() == 14  # 13 scored members and Zero, by hand
    (count,) = captured.captured_queries
    assert "accounts_account" not in count["sql"], count["sql"]
    searched = account_list_pages(
        segment_id=segment.pk, today=TODAY, filters=AccountListFilters(search="acme")
    )
    assert searched.count() == 2


def test_baselines_of_another_day_fall_back_to_the_snapshots() -> None:
    segment = _list_scenario()
    change_baselines_set(segment_id=segment.pk, today=TODAY - dt.timedelta(days=1))
    expected = _order_by_hand(segment, "-change_30d")
    pages = account_list_pages(segment_id=segment.pk, today=TODAY, ordering="-change_30d")
    assert pages.head is None
    assert [a.pk for a in pages[0:14]] == expected
    # One row without (a new account in a segment whose rows were set by hand).
    change_baselines_set(segment_id=segment.pk, today=TODAY)
    AccountEngagement.objects.filter(segment=segment, account__name="Lark").update(
        baselines_for=None
    )
    assert not change_baselines_current(segment_id=segment.pk, today=TODAY)


@pytest.mark.parametrize(("start", "queries"), [(0, 2), (9, 3), (11, 4)])
def test_a_page_costs_a_fixed_number_of_queries_wherever_it_cuts(
    start: int, queries: int, django_assert_num_queries: Any
) -> None:
    """The head (11 known 30-day changes) alone: its keys and the rows; across
    its end: and the tail's keys; past it: and the head's length."""
    segment = _list_scenario()
    change_baselines_set(segment_id=segment.pk, today=TODAY)
    pages = account_list_pages(segment_id=segment.pk, today=TODAY, ordering="-change_30d")
    expected = _order_by_hand(segment, "-change_30d")
    with django_assert_num_queries(queries):
        rows = pages[start : start + 3]
    assert [a.pk for a in rows] == expected[start : start + 3]


def test_the_first_page_by_change_is_read_in_the_change_indexs_order(postgresql: None) -> None:
    segment = _list_scenario()
    change_baselines_set(segment_id=segment.pk, today=TODAY)
    pages = account_list_pages(segment_id=segment.pk, today=TODAY, ordering="-change_30d")
    plan = keys_plan(pages)
    assert "engagement_change_30d_idx" in plan, plan
    assert not any(line.strip().startswith("->  Sort") or line.startswith("Sort")
                   for line in plan.splitlines()), plan  # fmt: skip
