"""Monthly snapshot peaks (issue 20): the triggers of engagement migration 0025
keep engagement_engagementmonthpeak equal to a GROUP BY over the daily
snapshots after every kind of write, on both databases; `accounts_reaching_bands`
finds the accounts the daily rows give, for any period."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Account
from engagement.models import EngagementMonthPeak, EngagementSnapshot
from engagement.peak_selectors import (
    PartMonth,
    WholeMonths,
    accounts_reaching_bands,
    part_months,
    whole_months,
)
from engagement.rollup.snapshots import snapshots_take
from tests.db_triggers import triggers_on
from tests.factories import (
    AccountFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    ScoringModelFactory,
    segment_member,
)

pytestmark = pytest.mark.django_db

Key = tuple[int, int, dt.date, int]


def peaks_by_hand() -> dict[Key, int]:
    """(account, segment, month, version) -> highest score, from the daily rows."""
    best: dict[Key, int] = {}
    for account, segment, day, version, score in EngagementSnapshot.objects.values_list(
        "account_id", "segment_id", "day", "model_version", "score"
    ):
        key = (account, segment, day.replace(day=1), version)
        best[key] = max(score, best.get(key, score))
    return best


def peaks_stored() -> dict[Key, int]:
    return {
        (account, segment, month, version): top
        for account, segment, month, version, top in EngagementMonthPeak.objects.values_list(
            "account_id", "segment_id", "month", "model_version", "top"
        )
    }


def test_the_peak_triggers_are_installed() -> None:
    assert triggers_on("engagement_engagementsnapshot", like="%peaks%") == [
        "engagement_snapshot_peaks_delete",
        "engagement_snapshot_peaks_insert",
        "engagement_snapshot_peaks_update",
    ]


def test_inserts_raise_the_month_peak_and_never_lower_it() -> None:
    account = AccountFactory.create()
    segment = ICPSegmentFactory.create()

    def snap(day: dt.date, score: int, version: int = 1) -> None:
        EngagementSnapshotFactory.create(
            account=account, segment=segment, day=day, score=score, model_version=version
        )

    snap(dt.date(2026, 3, 5), 40)
    snap(dt.date(2026, 3, 9), 70)
    snap(dt.date(2026, 3, 31), 55)
    snap(dt.date(2026, 4, 1), 12)
    snap(dt.date(2026, 4, 2), 30, version=2)  # a new model mid-month: a peak of its own
    assert peaks_stored() == {
        (account.pk, segment.pk, dt.date(2026, 3, 1), 1): 70,
        (account.pk, segment.pk, dt.date(2026, 4, 1), 1): 12,
        (account.pk, segment.pk, dt.date(2026, 4, 1), 2): 30,
    }
    assert peaks_stored() == peaks_by_hand()


def _peak_version(account_id: int) -> str:
    """The peak row's version: PostgreSQL's xmin (the transaction that wrote
    it: it changes whenever the row is rewritten, value changed or not)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xmin::text FROM engagement_engagementmonthpeak WHERE account_id = %s",
            [account_id],
        )
        return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_day_below_its_month_peak_rewrites_nothing() -> None:
    """Migration 0027: the nightly snapshot rewrote every peak (a dead row a
    night each); now a day that does not beat the peak leaves the row as it
    was, and one that does raises it."""
    if connection.vendor != "postgresql":
        pytest.skip("row versions (xmin) are PostgreSQL's")
    account = AccountFactory.create()
    segment = ICPSegmentFactory.create()
    EngagementSnapshotFactory.create(account=account, segment=segment,
                                     day=dt.date(2026, 3, 9), score=70)  # fmt: skip
    written = _peak_version(account.pk)
    EngagementSnapshotFactory.create(account=account, segment=segment,
                                     day=dt.date(2026, 3, 10), score=70)  # fmt: skip
    EngagementSnapshotFactory.create(account=account, segment=segment,
                                     day=dt.date(2026, 3, 11), score=40)  # fmt: skip
    assert _peak_version(account.pk) == written
    EngagementSnapshotFactory.create(account=account, segment=segment,
                                     day=dt.date(2026, 3, 12), score=71)  # fmt: skip
    assert _peak_version(account.pk) != written
    assert peaks_stored() == {(account.pk, segment.pk, dt.date(2026, 3, 1), 1): 71}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE relname = 'engagement_engagementmonthpeak'"
        )
        assert cursor.fetchone()[0] == ["fillfactor=70"]


def test_a_snapshot_taken_again_lower_lowers_the_peak() -> None:
    account = AccountFactory.create()
    segment = ICPSegmentFactory.create()
    first = EngagementSnapshotFactory.create(
        account=account, segment=segment, day=dt.date(2026, 3, 9), score=70
    )
    EngagementSnapshotFactory.create(
        account=account, segment=segment, day=dt.date(2026, 3, 10), score=50
    )
    EngagementSnapshot.objects.filter(pk=first.pk).update(score=20)
    assert peaks_stored() == {(account.pk, segment.pk, dt.date(2026, 3, 1), 1): 50}
    # A bulk update across months and accounts: one statement.
    other = EngagementSnapshotFactory.create(segment=segment, day=dt.date(2026, 5, 2), score=90)
    EngagementSnapshot.objects.update(score=33)
    assert peaks_stored() == {
        (account.pk, segment.pk, dt.date(2026, 3, 1), 1): 33,
        (other.account_id, segment.pk, dt.date(2026, 5, 1), 1): 33,
    }
    assert peaks_stored() == peaks_by_hand()


def test_deleting_snapshots_or_their_account_takes_their_peaks() -> None:
    segment = ICPSegmentFactory.create()
    kept, gone = AccountFactory.create_batch(2)
    for account in (kept, gone):
        for day, score in ((dt.date(2026, 3, 9), 80), (dt.date(2026, 3, 20), 45)):
            EngagementSnapshotFactory.create(account=account, segment=segment, day=day, score=score)
    EngagementSnapshot.objects.filter(account=kept, day=dt.date(2026, 3, 9)).delete()
    assert peaks_stored()[(kept.pk, segment.pk, dt.date(2026, 3, 1), 1)] == 45
    Account.objects.filter(pk=gone.pk).delete()
    assert peaks_stored() == {(kept.pk, segment.pk, dt.date(2026, 3, 1), 1): 45}
    EngagementSnapshot.objects.all().delete()
    assert peaks_stored() == {}


def test_the_nightly_snapshot_upsert_keeps_the_peaks() -> None:
    # snapshots_take writes with INSERT ... ON CONFLICT DO UPDATE: the day's
    # first take inserts (the insert trigger); taken again over a score
    # raised by hand, it updates it back (the update trigger).
    model = ScoringModelFactory.create()
    account = segment_member(model.segment)
    day = dt.date(2026, 3, 9)
    key = (account.pk, model.segment_id, dt.date(2026, 3, 1), model.version)
    snapshots_take(segment_id=model.segment_id, day=day)
    taken = EngagementSnapshot.objects.get().score
    assert peaks_stored() == {key: taken}
    EngagementSnapshot.objects.update(score=taken + 50)
    assert peaks_stored() == {key: taken + 50}
    snapshots_take(segment_id=model.segment_id, day=day)
    assert EngagementSnapshot.objects.get().score == taken
    assert peaks_stored() == {key: taken} == peaks_by_hand()


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # inside one month: none whole
        (dt.date(2026, 3, 5), dt.date(2026, 3, 20), (dt.date(2026, 4, 1), dt.date(2026, 4, 1))),
        # a whole month, first to last day
        (dt.date(2026, 3, 1), dt.date(2026, 3, 31), (dt.date(2026, 3, 1), dt.date(2026, 4, 1))),
        # a rolling year, as the pages benchmark asks for
        (dt.date(2025, 12, 4), dt.date(2026, 12, 3), (dt.date(2026, 1, 1), dt.date(2026, 12, 1))),
        # February of a leap year, and a period over a year's end
        (dt.date(2028, 2, 1), dt.date(2028, 2, 29), (dt.date(2028, 2, 1), dt.date(2028, 3, 1))),
        (dt.date(2025, 11, 30), dt.date(2026, 1, 31), (dt.date(2025, 12, 1), dt.date(2026, 2, 1))),
        # one day
        (dt.date(2026, 3, 1), dt.date(2026, 3, 1), (dt.date(2026, 3, 1), dt.date(2026, 3, 1))),
    ],
)
def test_whole_months_of_a_period(start: dt.date, end: dt.date, expected: tuple) -> None:
    assert whole_months(start, end) == WholeMonths(*expected)


def test_accounts_reaching_bands_in_any_period_are_those_the_daily_rows_give() -> None:
    """Engaged and qualified accounts of a period, worked out from the daily
    rows against each (segment, version)'s bands: version 1 of the first
    segment has bands of its own, every other (segment, version) has no model
    row stored and takes the defaults (41, 61)."""
    rng = random.Random(20)
    segments = ICPSegmentFactory.create_batch(2)
    ScoringModelFactory(segment=segments[0], version=1, engaged_min=30, qualified_min=50)
    accounts = AccountFactory.create_batch(6)
    # Each account's scores stay under its own ceiling, so that some reach
    # one band and not the other.
    ceilings = dict(zip(accounts, (35, 45, 55, 65, 75, 90), strict=True))
    first = dt.date(2025, 12, 20)
    rows = [
        EngagementSnapshot(
            account=account, segment=segment, day=first + dt.timedelta(days=n),
            model_version=1 if n < 60 else 2, score=rng.randrange(0, ceilings[account]),
            raw_score=0.0, stage="aware",
        )
        for account in accounts
        for segment in segments
        for n in range(0, 130, rng.choice((1, 2, 3)))
    ]  # fmt: skip
    EngagementSnapshot.objects.bulk_create(rows)
    assert peaks_stored() == peaks_by_hand()
    bands = {(segments[0].pk, 1): (30, 50)}

    def by_hand(start: dt.date, end: dt.date) -> tuple[set[int], set[int], bool]:
        engaged, qualified, measured = set(), set(), False
        for row in rows:
            if not start <= row.day <= end:
                continue
            measured = True
            engaged_min, qualified_min = bands.get((row.segment.pk, row.model_version), (41, 61))
            if row.score >= engaged_min:
                engaged.add(row.account.pk)
            if row.score >= qualified_min:
                qualified.add(row.account.pk)
        return engaged, qualified, measured

    periods = [(dt.date(2026, 1, 1), dt.date(2026, 3, 31)), (dt.date(2025, 12, 1), first)]
    periods += [(dt.date(2025, 11, 1), dt.date(2025, 12, 19))]  # before any snapshot
    periods += [
        (start, start + dt.timedelta(days=rng.randrange(0, 120)))
        for start in (first + dt.timedelta(days=rng.randrange(-15, 120)) for _ in range(25))
    ]
    some_not_all = 0
    for start, end in periods:
        expected = by_hand(start, end)
        assert tuple(accounts_reaching_bands(start=start, end=end)) == expected, (start, end)
        some_not_all += 0 < len(expected[1]) < len(expected[0]) < len(accounts)
    # The periods tell the bands apart: some have engaged accounts that are
    # not qualified, and accounts that are not engaged.
    assert some_not_all > 3
    assert by_hand(*periods[2]) == (set(), set(), False)


def test_a_period_whose_snapshots_are_all_under_the_bands_is_measured_with_none_engaged() -> None:
    account = AccountFactory.create()
    segment = ICPSegmentFactory.create()
    for day, score in ((dt.date(2026, 1, 30), 5), (dt.date(2026, 2, 10), 40),
                       (dt.date(2026, 3, 2), 40)):  # fmt: skip
        EngagementSnapshotFactory.create(account=account, segment=segment, day=day, score=score)
    # Whole February from its peak, the edge days from the daily rows: 40 is
    # one under the default engaged band.
    assert accounts_reaching_bands(start=dt.date(2026, 1, 30), end=dt.date(2026, 3, 5)) == (
        set(),
        set(),
        True,
    )
    EngagementSnapshotFactory.create(account=account, segment=segment, day=dt.date(2026, 3, 5),
                                     score=41)  # fmt: skip
    assert accounts_reaching_bands(start=dt.date(2026, 1, 30), end=dt.date(2026, 3, 5)) == (
        {account.pk},
        set(),
        True,
    )
    assert accounts_reaching_bands(start=dt.date(2026, 1, 30), end=dt.date(2026, 3, 4)) == (
        set(),
        set(),
        True,
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # a year from the 7th: the days before its whole months and after them
        (dt.date(2025, 12, 7), dt.date(2026, 12, 6),
         [(dt.date(2025, 12, 1), dt.date(2025, 12, 7), dt.date(2025, 12, 31)),
          (dt.date(2026, 12, 1), dt.date(2026, 12, 1), dt.date(2026, 12, 6))]),
        # whole months only
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31), []),
        # inside one month; from its first day; to its last
        (dt.date(2026, 2, 5), dt.date(2026, 2, 20),
         [(dt.date(2026, 2, 1), dt.date(2026, 2, 5), dt.date(2026, 2, 20))]),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 10),
         [(dt.date(2026, 3, 1), dt.date(2026, 3, 1), dt.date(2026, 3, 10))]),
        (dt.date(2026, 3, 10), dt.date(2026, 3, 31),
         [(dt.date(2026, 3, 1), dt.date(2026, 3, 10), dt.date(2026, 3, 31))]),
        # two part months with no whole month between
        (dt.date(2026, 1, 15), dt.date(2026, 2, 10),
         [(dt.date(2026, 1, 1), dt.date(2026, 1, 15), dt.date(2026, 1, 31)),
          (dt.date(2026, 2, 1), dt.date(2026, 2, 1), dt.date(2026, 2, 10))]),
    ],
)  # fmt: skip
def test_part_months_of_a_period(start: dt.date, end: dt.date, expected: list) -> None:
    assert part_months(start, end) == [PartMonth(*part) for part in expected]


def test_a_part_month_is_read_from_its_peak_only_when_no_snapshot_lies_outside_the_period() -> None:
    """The month's peak is the best of the period's days when the month has
    no snapshot outside them. A peak changed by hand (the triggers keep it
    equal to the days otherwise) shows which of the two was read."""
    account = AccountFactory.create()
    segment = ICPSegmentFactory.create()
    for day in range(1, 11):
        EngagementSnapshotFactory.create(account=account, segment=segment,
                                         day=dt.date(2026, 3, day), score=30)  # fmt: skip
    EngagementMonthPeak.objects.filter(month=dt.date(2026, 3, 1)).update(top=90)

    def engaged(start: dt.date, end: dt.date) -> set[int]:
        return accounts_reaching_bands(start=start, end=end).engaged

    # Every March snapshot inside the period: the peak.
    assert engaged(dt.date(2026, 3, 1), dt.date(2026, 3, 10)) == {account.pk}
    assert engaged(dt.date(2026, 2, 20), dt.date(2026, 3, 31)) == {account.pk}
    # A snapshot before or after the period in March: the days.
    assert engaged(dt.date(2026, 3, 2), dt.date(2026, 3, 10)) == set()
    assert engaged(dt.date(2026, 3, 1), dt.date(2026, 3, 9)) == set()
    assert engaged(dt.date(2026, 2, 20), dt.date(2026, 3, 5)) == set()


def test_accounts_reaching_bands_cost_one_query_whatever_the_history(
    django_assert_num_queries: object,
) -> None:
    EngagementSnapshotFactory.create(day=dt.date(2026, 2, 10))
    with django_assert_num_queries(1):  # type: ignore[operator]
        accounts_reaching_bands(start=dt.date(2026, 1, 5), end=dt.date(2026, 6, 3))
    with django_assert_num_queries(1):  # type: ignore[operator]
        accounts_reaching_bands(start=dt.date(2026, 2, 5), end=dt.date(2026, 2, 20))


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="before its start"):
        accounts_reaching_bands(start=dt.date(2026, 2, 5), end=dt.date(2026, 2, 4))


PEAKS_BEFORE = [("engagement", "0024_snapshot_day_segment_index")]
PEAKS_AFTER = [("engagement", "0025_month_peaks")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_peaks_of_stored_snapshots() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(PEAKS_BEFORE)
    old = executor.loader.project_state(PEAKS_BEFORE).apps
    account = old.get_model("accounts", "Account").objects.create(name="Old", domain="old.test")
    segment = old.get_model("accounts", "ICPSegment").objects.create(name="Old segment")
    snapshot = old.get_model("engagement", "EngagementSnapshot")
    for day, score in ((dt.date(2026, 3, 9), 61), (dt.date(2026, 3, 30), 20),
                       (dt.date(2026, 4, 2), 5)):  # fmt: skip
        snapshot.objects.create(
            account=account, segment=segment, day=day, model_version=1, score=score,
            raw_score=0.0, stage="aware",
        )  # fmt: skip
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(PEAKS_AFTER)
        assert peaks_stored() == {
            (account.pk, segment.pk, dt.date(2026, 3, 1), 1): 61,
            (account.pk, segment.pk, dt.date(2026, 4, 1), 1): 5,
        }
        executor = MigrationExecutor(connection)
        executor.migrate(PEAKS_BEFORE)  # and back: table and triggers dropped
        snapshot.objects.filter(score=5).delete()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
