"""core.paging.KeysFirst: a sorted list's page read as its keys, then its rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from core.paging import KeysFirst
from engagement.list_selectors import account_list_scored
from tests.factories import (
    AccountEngagementFactory,
    AccountFactory,
    ContactFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    SegmentMembershipFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 4)


def _segment_by_change() -> tuple[int, list[str]]:
    """Twelve members of a segment with 30-day changes by hand (two ties and
    two unknown), and the order the list must show them in: largest change
    first, ties by name, unknown changes last by name."""
    segment = ICPSegmentFactory.create()
    changes = {
        "Acme": 5, "Birch": 12, "Cobalt": -3, "Delta": 12, "Ember": 0, "Fjord": None,
        "Garnet": 7, "Harbor": -10, "Iris": None, "Jade": 1, "Kestrel": 7, "Lumen": 2,
    }  # fmt: skip
    for name, change in changes.items():
        account = AccountFactory.create(name=name)
        ContactFactory.create(account=account)
        SegmentMembershipFactory.create(segment=segment, account=account)
        AccountEngagementFactory.create(segment=segment, account=account, score=50)
        if change is not None:
            EngagementSnapshotFactory.create(
                segment=segment,
                account=account,
                day=TODAY - dt.timedelta(days=30),
                score=50 - change,
            )
    expected = ["Birch", "Delta", "Garnet", "Kestrel", "Acme", "Lumen", "Jade", "Ember",
                "Cobalt", "Harbor", "Fjord", "Iris"]  # fmt: skip
    return segment.pk, expected


def test_pages_hold_the_rows_of_the_full_order_with_every_column() -> None:
    segment_id, expected = _segment_by_change()
    accounts = account_list_scored(segment_id=segment_id, today=TODAY, ordering="-change_30d")
    paginator = Paginator(KeysFirst(accounts), 5)
    assert paginator.count == 12
    pages = [paginator.page(number).object_list for number in paginator.page_range]
    assert [[a.name for a in page] for page in pages] == [
        expected[0:5],
        expected[5:10],
        expected[10:12],
    ]
    # The rows carry the list's annotations, which the model type does not name.
    by_name: dict[str, Any] = {a.name: a for page in pages for a in page}
    # The wide columns come with the rows, as the one-query list gave them.
    assert (by_name["Birch"].score_change_30d, by_name["Fjord"].score_change_30d) == (12, None)
    assert {a.contact_count for a in by_name.values()} == {1}
    assert by_name["Harbor"].score == 50


def test_the_keys_are_read_alone_and_the_rows_by_key_in_two_queries() -> None:
    segment_id, expected = _segment_by_change()
    accounts = account_list_scored(segment_id=segment_id, today=TODAY, ordering="-change_30d")
    with CaptureQueriesContext(connection) as queries:
        rows = KeysFirst(accounts)[3:6]
    assert [a.name for a in rows] == expected[3:6]
    assert len(queries.captured_queries) == 2
    keys_sql = queries.captured_queries[0]["sql"]
    # Only the key is selected: the sort key and the filters are computed for
    # every member, the buying team count and the rest only for the page.
    assert keys_sql.startswith('SELECT "accounts_account"."id" AS "pk" FROM'), keys_sql
    assert "accounts_contact" not in keys_sql


def test_a_page_past_the_end_reads_nothing_more() -> None:
    AccountFactory.create(name="Solo")
    with CaptureQueriesContext(connection) as queries:
        assert KeysFirst(Account.objects.order_by("name"))[10:20] == []
    assert len(queries.captured_queries) == 1


def test_an_index_reads_one_row_and_past_the_end_raises() -> None:
    for name in ("Beta", "Alpha"):
        AccountFactory.create(name=name)
    rows = KeysFirst(Account.objects.order_by("name"))
    assert (len(rows), rows[1].name) == (2, "Beta")
    with pytest.raises(IndexError):
        rows[2]


def test_an_unsorted_queryset_is_refused() -> None:
    with pytest.raises(ValueError, match="has no order"):
        KeysFirst(Account.objects.order_by())
