"""The activity table partitioned by month on PostgreSQL, its idempotency key
in a table of its own on both databases (issue 20): rows land in their month,
months are made ahead and moved out of the default partition, retention drops
whole months, and the message keys keep every ingest path exactly-once."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO
from typing import Any

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Account, ICPSegment
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityMessage,
    ActivityPending,
)
from engagement.partition_selectors import activity_partitions
from engagement.rollup.recompute import scores_recompute
from engagement.rollup.refresh import AccountScope
from engagement.rollup.sums import ActivityFilter
from engagement.services.activities import ActivityRow, activities_bulk_insert
from engagement.services.partitions import (
    activity_default_partition_vacuum,
    activity_partitions_ensure,
)
from engagement.services.retention import activity_retention_apply
from engagement.tasks import activity_partitions_ensure_task
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ScoringModelFactory,
    SourceFactory,
    segment_member,
)

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
MARCH = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)

# PostgreSQL only (the `postgresql` fixture): SQLite keeps one activity table.
postgresql_only = pytest.mark.usefixtures("postgresql")


def months_of(source_id: int) -> dict[str, str]:
    """message id -> the table its row is stored in, read from the catalogue."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT message_id, tableoid::regclass::text FROM engagement_activity "
                "WHERE source_id = %s",
                [source_id],
            )
        else:
            cursor.execute(
                "SELECT message_id, 'engagement_activity' FROM engagement_activity "
                "WHERE source_id = %s",
                [source_id],
            )
        return dict(cursor.fetchall())


def row(message_id: str, at: dt.datetime, **extra: Any) -> ActivityRow:
    return ActivityRow(message_id=message_id, type="page_view", occurred_at=at, **extra)


def partition_names() -> list[str]:
    return [p.name for p in activity_partitions()]


@pytest.mark.django_db
class TestMessageKeys:
    def test_a_message_is_stored_once_however_its_time_was_set_on_each_delivery(self) -> None:
        source = SourceFactory.create()
        first = activities_bulk_insert(source_id=source.pk, rows=[row("m-1", MARCH)])
        # A retry whose time was set on receipt: another time, even another month.
        again = activities_bulk_insert(
            source_id=source.pk,
            rows=[row("m-1", MARCH + dt.timedelta(days=40)), row("m-2", MARCH)],
        )
        assert (first, again) == (1, 1)
        assert sorted(Activity.objects.values_list("message_id", "occurred_at")) == [
            ("m-1", MARCH),
            ("m-2", MARCH),
        ]
        assert sorted(ActivityMessage.objects.values_list("message_id", "month")) == [
            ("m-1", dt.date(2026, 3, 1)),
            ("m-2", dt.date(2026, 3, 1)),
        ]
        # Pending once each: the skipped copy wrote no pending row.
        assert ActivityPending.objects.count() == 2

    def test_two_copies_in_one_statement_store_one_row(self) -> None:
        source = SourceFactory.create()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO engagement_activity (source_id, message_id, type, occurred_at,"
                " received_at, anonymous_id, tracking_key, event_name, properties,"
                " excluded_reason) VALUES"
                " (%s, 'dup', 'page_view', %s, %s, '', '', '', '{}', ''),"
                " (%s, 'dup', 'page_view', %s, %s, '', '', '', '{}', '')",
                [source.pk, MARCH, MARCH, source.pk, MARCH + dt.timedelta(hours=1), MARCH],
            )
            assert cursor.rowcount == 1
        assert list(Activity.objects.values_list("occurred_at", flat=True)) == [MARCH]

    def test_the_same_message_id_from_two_sources_is_two_activities(self) -> None:
        one, two = SourceFactory.create(), SourceFactory.create()
        for source in (one, two):
            assert activities_bulk_insert(source_id=source.pk, rows=[row("same", MARCH)]) == 1
        assert ActivityMessage.objects.filter(message_id="same").count() == 2


@postgresql_only
@pytest.mark.django_db
class TestMonthlyPartitions:
    def test_rows_land_in_their_month_and_a_month_without_a_partition_waits_in_the_default(
        self,
    ) -> None:
        source = SourceFactory.create()
        made = activity_partitions_ensure(now=NOW, since=dt.date(2026, 3, 1))
        assert dt.date(2026, 3, 1) in made and dt.date(2026, 8, 1) in made
        activities_bulk_insert(
            source_id=source.pk,
            rows=[
                row("march", MARCH),
                # Bounds are UTC months: the last microsecond of March is March's.
                row("march-end", dt.datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)),
                row("april", dt.datetime(2026, 4, 1, tzinfo=dt.UTC)),
                row("old", dt.datetime(2019, 5, 5, tzinfo=dt.UTC)),
            ],
        )
        assert months_of(source.pk) == {
            "march": "engagement_activity_p2026_03",
            "march-end": "engagement_activity_p2026_03",
            "april": "engagement_activity_p2026_04",
            "old": "engagement_activity_default",
        }
        # One identity sequence over every partition.
        ids = sorted(Activity.objects.values_list("id", flat=True))
        assert len(set(ids)) == 4

    def test_ensure_moves_a_months_rows_out_of_the_default_partition_and_keeps_them_whole(
        self,
    ) -> None:
        source = SourceFactory.create()
        activities_bulk_insert(
            source_id=source.pk,
            rows=[row(f"old-{n}", dt.datetime(2019, 5, 1 + n, tzinfo=dt.UTC)) for n in range(3)],
        )
        before = sorted(Activity.objects.values_list("id", "message_id", "occurred_at"))
        pending = sorted(ActivityPending.objects.values_list("activity_id", flat=True))
        assert "engagement_activity_p2019_05" not in partition_names()

        made = activity_partitions_ensure(now=NOW)

        assert dt.date(2019, 5, 1) in made
        assert set(months_of(source.pk).values()) == {"engagement_activity_p2019_05"}
        assert sorted(Activity.objects.values_list("id", "message_id", "occurred_at")) == before
        assert sorted(ActivityPending.objects.values_list("activity_id", flat=True)) == pending
        # The moved partition has the parent's indexes and triggers: a replay is
        # still skipped, a new row of the month goes there.
        assert (
            activities_bulk_insert(
                source_id=source.pk,
                rows=[row("old-0", MARCH), row("old-9", dt.datetime(2019, 5, 9, tzinfo=dt.UTC))],
            )
            == 1
        )
        assert months_of(source.pk)["old-9"] == "engagement_activity_p2019_05"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_indexes WHERE tablename = 'engagement_activity_p2019_05'"
            )
            on_moved = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM pg_indexes WHERE tablename = 'engagement_activity_default'"
            )
            assert on_moved == cursor.fetchone()[0] == 7  # the key and six indexes
        assert activity_partitions_ensure(now=NOW) == []

    def test_a_stray_date_far_back_stays_in_the_default_partition(self) -> None:
        source = SourceFactory.create()
        activities_bulk_insert(
            source_id=source.pk, rows=[row("stray", dt.datetime(1971, 1, 1, tzinfo=dt.UTC))]
        )
        activity_partitions_ensure(now=NOW)
        assert months_of(source.pk) == {"stray": "engagement_activity_default"}
        assert "engagement_activity_p1971_01" not in partition_names()


@postgresql_only
@pytest.mark.django_db
def test_retention_drops_whole_months_keeps_a_month_with_pending_rows_and_the_scores(
) -> None:  # fmt: skip
    segment: ICPSegment = ScoringModelFactory.create(segment__name="Partitioned").segment
    source = SourceFactory.create()
    activity_partitions_ensure(now=NOW, since=dt.date(2025, 12, 1))
    account: Account = segment_member(segment, name="Acme")
    person = ContactFactory.create(account=account, seniority="vp")
    days = [dt.datetime(2025, 12, 5, tzinfo=dt.UTC) + dt.timedelta(days=9 * n) for n in range(20)]
    activities_bulk_insert(
        source_id=source.pk,
        rows=[
            row(f"m-{n}", at, account_id=account.pk, contact_id=person.pk)
            for n, at in enumerate(days)
        ],
    )
    scores_recompute(segment_id=segment.pk, at=NOW)  # claims and scores everything
    assert not ActivityPending.objects.exists()
    # One January activity arrives late and is still pending at the drop.
    late = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
    activities_bulk_insert(
        source_id=source.pk, rows=[row("late", late, account_id=account.pk, contact_id=person.pk)]
    )
    scored = list(AccountEngagement.objects.values_list("raw_score", "score"))
    before_cutoff = sum(1 for at in days if at < dt.datetime(2026, 3, 1, tzinfo=dt.UTC))

    result = activity_retention_apply(months=3, now=NOW)  # cutoff 1 March 2026

    assert result.cutoff == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    names = partition_names()
    # December and February dropped whole; January kept for its pending row.
    assert "engagement_activity_p2025_12" not in names
    assert "engagement_activity_p2026_02" not in names
    assert "engagement_activity_p2026_01" in names
    assert result.activities_dropped == before_cutoff
    assert sorted(Activity.objects.filter(occurred_at__lt=result.cutoff).values_list(
        "message_id", flat=True
    )) == ["late"]  # fmt: skip
    # Message keys: the dropped months' go, the kept row's stays (a replay of
    # it is still skipped), March's on are untouched.
    kept = set(ActivityMessage.objects.values_list("message_id", flat=True))
    assert kept == {"late"} | {f"m-{n}" for n, at in enumerate(days) if at >= result.cutoff}
    assert activities_bulk_insert(source_id=source.pk, rows=[row("late", late)]) == 0
    ActivityPending.objects.all().delete()
    scores_recompute(segment_id=segment.pk, at=NOW)
    after = list(AccountEngagement.objects.values_list("raw_score", "score"))
    # The late row was not in the scores before the drop; it is now.
    assert after[0][0] > scored[0][0]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_month_whose_drop_would_wait_for_a_reader_is_deleted_instead_and_dropped_next_run(
) -> None:  # fmt: skip
    """A report reading the activity table holds it; a partition's DROP needs
    the table to itself and, waiting, would hold ingest behind it. Past its
    wait the month's rows are deleted in the same transaction; the emptied
    partition goes in the next run, and the scores are the same throughout.
    Committed as it goes (transaction=True): the reader is another session,
    which must see the months' partitions to wait on them."""
    existing = set(partition_names())
    try:
        _drop_waits_for_a_reader()
    finally:
        with connection.cursor() as cursor:
            for name in sorted(set(partition_names()) - existing):
                cursor.execute(f"DROP TABLE IF EXISTS {name}")


def _drop_waits_for_a_reader() -> None:
    segment: ICPSegment = ScoringModelFactory.create(segment__name="Held").segment
    source = SourceFactory.create()
    activity_partitions_ensure(now=NOW, since=dt.date(2026, 2, 1))
    account: Account = segment_member(segment, name="Acme")
    person = ContactFactory.create(account=account, seniority="vp")
    days = [dt.datetime(2026, 2, 3, tzinfo=dt.UTC) + dt.timedelta(days=9 * n) for n in range(12)]
    activities_bulk_insert(
        source_id=source.pk,
        rows=[
            row(f"h-{n}", at, account_id=account.pk, contact_id=person.pk)
            for n, at in enumerate(days)
        ],
    )
    scores_recompute(segment_id=segment.pk, at=NOW)
    scored = list(AccountEngagement.objects.values_list("raw_score", flat=True))
    february = [at for at in days if at < dt.datetime(2026, 3, 1, tzinfo=dt.UTC)]
    assert len(february) == 3

    # Another session reads the table (as a report's SELECT does) and keeps it.
    database = connection.settings_dict
    reader = psycopg2.connect(
        dbname=database["NAME"], user=database["USER"], password=database["PASSWORD"],
        host=database["HOST"], port=database["PORT"],
    )  # fmt: skip
    try:
        with reader.cursor() as held:
            held.execute("SET lock_timeout = '5s'")
            held.execute("LOCK TABLE ONLY engagement_activity IN ACCESS SHARE MODE")
        with transaction.atomic():
            result = activity_retention_apply(months=3, now=NOW)  # cutoff 1 March 2026
            with connection.cursor() as cursor:
                # The wait was the DROP's own: the rest of the caller's
                # transaction runs with the lock_timeout it had.
                cursor.execute("SHOW lock_timeout")
                assert cursor.fetchone()[0] == "0"
        assert result.activities_dropped == 3
        assert "engagement_activity_p2026_02" in partition_names()
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM engagement_activity_p2026_02")
            assert cursor.fetchone()[0] == 0
        assert not Activity.objects.filter(occurred_at__lt=result.cutoff).exists()
    finally:
        reader.rollback()
        reader.close()

    again = activity_retention_apply(months=3, now=NOW)
    assert again.activities_dropped == 0
    assert "engagement_activity_p2026_02" not in partition_names()
    scores_recompute(segment_id=segment.pk, at=NOW)
    after = list(AccountEngagement.objects.values_list("raw_score", flat=True))
    assert after == pytest.approx(scored, rel=1e-9)


BEFORE = [("engagement", "0029_change_baselines")]
AFTER = [("engagement", "0030_activity_partitioned")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_partitions_a_table_that_holds_activity_and_back() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    source = old.get_model("engagement", "Source").objects.create(
        name="Old", write_key_hash="h" * 64, write_key_prefix="h"
    )
    activity = old.get_model("engagement", "Activity")
    times = {
        "nov": dt.datetime(2025, 11, 3, tzinfo=dt.UTC),
        "jan": dt.datetime(2026, 1, 31, 23, 0, tzinfo=dt.UTC),
        "feb": dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        "stray": dt.datetime(1980, 1, 1, tzinfo=dt.UTC),
    }
    for message_id, at in times.items():
        activity.objects.create(source=source, message_id=message_id, type="page_view",
                                occurred_at=at)  # fmt: skip
    stored = sorted(activity.objects.values_list("id", "message_id", "occurred_at"))
    pending = sorted(
        old.get_model("engagement", "ActivityPending").objects.values_list("activity_id", flat=True)
    )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        assert sorted(Activity.objects.values_list("id", "message_id", "occurred_at")) == stored
        assert sorted(ActivityPending.objects.values_list("activity_id", flat=True)) == pending
        assert sorted(ActivityMessage.objects.values_list("message_id", "month")) == sorted(
            (m, dt.date(at.year, at.month, 1)) for m, at in times.items()
        )
        if connection.vendor == "postgresql":
            assert months_of(source.pk) == {
                "nov": "engagement_activity_p2025_11",
                "jan": "engagement_activity_p2026_01",
                "feb": "engagement_activity_p2026_02",
                "stray": "engagement_activity_default",
            }
        # New rows take the next id; a stored message is skipped.
        inserted = activities_bulk_insert(
            source_id=source.pk, rows=[row("jan", MARCH), row("new", MARCH)]
        )
        assert inserted == 1
        assert Activity.objects.get(message_id="new").pk > max(s[0] for s in stored)

        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        back = executor.loader.project_state(BEFORE).apps.get_model("engagement", "Activity")
        assert back.objects.count() == 5
        assert partition_names() == []
        # The unique index holds again.
        with pytest.raises(IntegrityError), transaction.atomic():
            back.objects.create(source_id=source.pk, message_id="jan", type="page_view",
                                occurred_at=MARCH)  # fmt: skip
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@postgresql_only
@pytest.mark.django_db
def test_the_command_makes_months_from_since_and_lists_them() -> None:
    out = StringIO()
    call_command("activity_partitions", "--since", "2024-02", stdout=out)
    listed = out.getvalue().splitlines()
    assert "2024-02  engagement_activity_p2024_02" in listed
    assert listed[-1] == "default  engagement_activity_default"
    with pytest.raises(CommandError, match="--since '2024-13': give a month as YYYY-MM"):
        call_command("activity_partitions", "--since", "2024-13")


@postgresql_only
@pytest.mark.django_db
def test_a_claimed_batch_is_read_from_the_partitions_of_its_months_only() -> None:
    """The rollup's read of a claimed batch (ActivityFilter.batch) selects the
    batch's rows and probes only the partitions of the months its rows fall
    in: the others are pruned (their scans never run), whatever plan the
    planner picks for the rest (docs/scaling.md, "Measured at 10M")."""
    source = SourceFactory.create()
    activity_partitions_ensure(now=NOW, since=dt.date(2026, 1, 1))
    may = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.UTC)
    activities_bulk_insert(
        source_id=source.pk,
        rows=[row("january", dt.datetime(2026, 1, 5, tzinfo=dt.UTC)), row("march", MARCH)]
        + [row(f"may-{n}", may + dt.timedelta(hours=n)) for n in range(3)],
    )
    claimed = Activity.objects.filter(message_id__in=["may-0", "may-2"]).values("id")
    ActivityPending.objects.filter(activity_id__in=claimed).update(batch=77)
    which = ActivityFilter.batch(77)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.message_id FROM engagement_activity a WHERE {which.sql}",  # noqa: S608
            which.params,
        )
        assert sorted(message for (message,) in cursor.fetchall()) == ["may-0", "may-2"]
    read, planned, plan = partitions_read(
        f"SELECT a.message_id FROM engagement_activity a WHERE {which.sql}",  # noqa: S608
        which.params,
    )
    assert read == {"engagement_activity_p2026_05"}, plan
    assert len(planned) > 3, plan  # the other months: planned, then pruned


def partitions_read(sql: str, params: list[Any]) -> tuple[set[str], set[str], list[str]]:
    """The activity partitions a statement read and those it planned, from
    EXPLAIN ANALYZE, and the plan. Each scan node is a line naming its
    partition (or the partition's index); a pruned one says "(never
    executed)" on that line."""
    with connection.cursor() as cursor:
        explain = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
        cursor.execute(explain + sql, params)
        plan = [line for (line,) in cursor.fetchall()]
    partition = re.compile(r"engagement_activity_(p\d{4}_\d{2}|default)\b")
    scans = [(found.group(0), line) for line in plan if (found := partition.search(line))]
    read = {name for name, line in scans if "never executed" not in line}
    return read, {name for name, _ in scans}, plan


@postgresql_only
@pytest.mark.django_db
def test_a_claimed_batchs_accounts_are_read_from_the_partitions_of_its_months_only() -> None:
    """The accounts a rollup re-scores (AccountScope.of_batch, in the
    per-account totals and the account refresh) come from the batch's rows
    as ActivityFilter.batch reads them: its months only. They were a join
    of the pending rows on (id, occurred_at), which the planner is free to
    run as a hash join over a scan of every partition."""
    source = SourceFactory.create()
    january, march, may_first, may_second = AccountFactory.create_batch(4)
    activity_partitions_ensure(now=NOW, since=dt.date(2026, 1, 1))
    may = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.UTC)
    activities_bulk_insert(
        source_id=source.pk,
        rows=[
            row("january", dt.datetime(2026, 1, 5, tzinfo=dt.UTC), account_id=january.pk),
            row("march", MARCH, account_id=march.pk),
            row("may-0", may, account_id=may_first.pk),
            row("may-1", may + dt.timedelta(hours=1), account_id=may_second.pk),
            row("may-2", may + dt.timedelta(hours=2), account_id=may_first.pk),
            row("may-anonymous", may),
        ],
    )
    claimed = Activity.objects.exclude(message_id__in=["january", "march"]).values("id")
    ActivityPending.objects.filter(activity_id__in=claimed).update(batch=78)
    ActivityPending.objects.filter(batch__isnull=True).update(batch=79)  # another batch
    in_batch, params = AccountScope.of_batch(78).sql("x.id")
    sql = f"SELECT x.id FROM accounts_account x WHERE {in_batch}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert sorted(pk for (pk,) in cursor.fetchall()) == sorted([may_first.pk, may_second.pk])
    with connection.cursor() as cursor:
        # The planner's choice over a table it knows holds many pending rows
        # of the batch: what made the join a scan of every partition.
        cursor.execute("SET LOCAL enable_nestloop = off")
        read, planned, plan = partitions_read(sql, params)
    assert read == {"engagement_activity_p2026_05"}, plan
    assert len(planned) > 3, plan


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_nightly_task_vacuums_the_rows_it_moved_out_of_the_default_partition() -> None:
    """The moved rows' dead copies are taken the same night: the default
    partition, emptied by the move, is back to no pages at all."""

    def default_pages() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_relation_size('engagement_activity_default') / 8192")
            return int(cursor.fetchone()[0])

    source = SourceFactory.create()
    activities_bulk_insert(
        source_id=source.pk,
        rows=[
            row(f"moved-{n}", dt.datetime(2018, 7, 1 + n % 30, n % 24, tzinfo=dt.UTC))
            for n in range(300)
        ],
    )
    try:
        assert default_pages() > 0
        activity_partitions_ensure_task()
        assert set(months_of(source.pk).values()) == {"engagement_activity_p2018_07"}
        assert default_pages() == 0
        with transaction.atomic(), pytest.raises(RuntimeError, match="inside a transaction"):
            activity_default_partition_vacuum()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS engagement_activity_p2018_07")
