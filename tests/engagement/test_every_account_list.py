"""The account list of every account by its best segment's score (the list as
it opens), read as a head (each account's best score row, in the order of the
score index) and a tail (accounts scored in no segment, by name). Every
expected order is worked out from the engagement rows in Python, never from
the code under test."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from accounts.models import Account
from engagement.list_selectors import AccountListFilters, account_list_pages
from engagement.models import AccountEngagement
from engagement.rollup.recompute import scores_recompute
from tests.factories import (
    AccountEngagementFactory,
    AccountFactory,
    ICPSegmentFactory,
    ScoringModelFactory,
    segment_member,
)
from tests.index_plans import keys_plan

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)


def _scenario() -> None:
    """Twelve accounts over three segments: an account scored in several
    (best in its second), equal best scores in two segments (one row in the
    list, not two), equal best scores across accounts (ties by name), a
    score of 0, and three accounts scored nowhere."""
    first, second, third = (ICPSegmentFactory.create() for _ in range(3))
    scores: dict[str, dict[Any, int]] = {  # name -> segment -> score
        "Acme": {first: 40, second: 75},
        "Birch": {first: 60},
        "Cedar": {second: 60, third: 60},  # equal in two segments
        "Delta": {third: 90},
        "Elm": {first: 0},
        "Fir": {first: 10, second: 5, third: 7},
        "Gale": {second: 60},
        "Hazel": {first: 75},
        "Iris": {third: 100},
    }
    for name, by_segment in scores.items():
        account = AccountFactory.create(name=name)
        for segment, score in by_segment.items():
            AccountEngagementFactory.create(account=account, segment=segment, score=score)
    for name in ("Zed", "Kite", "Juno"):
        AccountFactory.create(name=name)


def _order_by_hand(*, descending: bool) -> list[int]:
    """Scored accounts by their best score (ties by name, id), then the
    unscored by name, id: from the rows."""
    best: dict[int, int] = {}
    for account_id, score in AccountEngagement.objects.values_list("account_id", "score"):
        best[account_id] = max(score, best.get(account_id, score))
    names = dict(Account.objects.values_list("pk", "name"))
    sign = -1 if descending else 1
    scored = sorted(best, key=lambda pk: (sign * best[pk], names[pk], pk))
    unscored = sorted((pk for pk in names if pk not in best), key=lambda pk: (names[pk], pk))
    return scored + unscored


@pytest.mark.parametrize("ordering", ["-score", "score"])
def test_pages_follow_the_order_worked_out_by_hand_at_every_cut(ordering: str) -> None:
    _scenario()
    expected = _order_by_hand(descending=ordering.startswith("-"))
    pages = account_list_pages(segment_id=None, today=TODAY, ordering=ordering)
    assert pages.head is not None  # read from the score index, not sorted whole
    assert pages.count() == len(expected) == 12
    # Inside the head (9 scored accounts), across its end, past it, beyond.
    for size in (1, 2, 4, 9, 12, 20):
        paged = [a.pk for start in range(0, 13, size) for a in pages[start : start + size]]
        assert paged == expected, (size, paged)


def test_each_account_shows_its_best_segments_score_once() -> None:
    _scenario()
    pages = account_list_pages(segment_id=None, today=TODAY, ordering="-score")
    rows: list[Any] = pages[0:12]
    shown = [(a.name, a.score) for a in rows]
    assert shown == [
        ("Iris", 100), ("Delta", 90), ("Acme", 75), ("Hazel", 75), ("Birch", 60),
        ("Cedar", 60), ("Gale", 60), ("Fir", 10), ("Elm", 0),
        ("Juno", None), ("Kite", None), ("Zed", None),
    ]  # fmt: skip
    cedar = next(a for a in rows if a.name == "Cedar")
    # Equal in two segments: the one of the lower id, as the columns read it.
    assert cedar.scored_segment_id == min(
        AccountEngagement.objects.filter(account=cedar).values_list("segment_id", flat=True)
    )


def test_a_filtered_or_other_ordered_list_is_sorted_whole() -> None:
    _scenario()
    engaged = account_list_pages(
        segment_id=None, today=TODAY, ordering="-score", filters=AccountListFilters(stage="engaged")
    )
    assert engaged.head is None
    # Every stored score is "engaged" (the factory's): the scored accounts.
    assert [a.pk for a in engaged[0:20]] == _order_by_hand(descending=True)[:9]
    assert account_list_pages(segment_id=None, today=TODAY, ordering="name").head is None


@pytest.mark.parametrize(("start", "queries"), [(0, 2), (8, 3), (10, 4)])
def test_a_page_costs_a_fixed_number_of_queries_wherever_it_cuts(
    start: int, queries: int, django_assert_num_queries: Any
) -> None:
    """The head (9 scored accounts) alone: its keys and the rows; across its
    end: and the tail's keys; past it: and the head's length."""
    _scenario()
    expected = _order_by_hand(descending=True)
    pages = account_list_pages(segment_id=None, today=TODAY, ordering="-score")
    with django_assert_num_queries(queries):
        rows = pages[start : start + 2]
    assert [a.pk for a in rows] == expected[start : start + 2]


def test_the_first_page_is_read_in_the_score_indexs_order(postgresql: None) -> None:
    _scenario()
    pages = account_list_pages(segment_id=None, today=TODAY, ordering="-score")
    # The score index walked, only the accounts of one score sorted by name.
    plan = keys_plan(pages)
    limit, sort, *_ = plan.splitlines()
    assert limit.startswith("Limit") and "->  Incremental Sort" in sort, plan
    assert "Index Scan using account_engagement_best_idx on engagement_accountengagement " in plan


def test_a_recompute_leaves_the_score_table_analysed(postgresql: None) -> None:
    """Without statistics the list looked up each account's best segment by
    walking the score index (a page past the statement timeout at 100,000
    accounts): a recompute, which may have just filled the table, analyses it."""
    segment = ICPSegmentFactory.create()
    for _ in range(3):
        segment_member(segment)
    ScoringModelFactory.create(segment=segment)

    def statistics() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_statistic WHERE starelid = %s::regclass",
                [AccountEngagement._meta.db_table],
            )
            return int(cursor.fetchone()[0])

    with connection.cursor() as cursor:  # forgotten inside this test's transaction
        cursor.execute(
            "DELETE FROM pg_statistic WHERE starelid = %s::regclass",
            [AccountEngagement._meta.db_table],
        )
    assert statistics() == 0
    scores_recompute(segment_id=segment.pk)
    assert AccountEngagement.objects.filter(segment=segment).count() == 3
    assert statistics() > 0
