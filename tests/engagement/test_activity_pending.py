"""The pending table (issue 20): every path that stores activity leaves its rows
pending (the insert trigger of engagement migration 0023, on both databases), a
claim leaves none pending, and it writes no activity row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import ICPSegment
from demo.services import demo_seed
from engagement.models import Activity, ActivityPending, RollupBatch
from engagement.rollup.claims import pending_roll
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute
from engagement.services.activities import ActivityRow, activities_bulk_insert
from engagement.services.sources import source_create
from imports.services import csv_import
from tests.db_triggers import triggers_on
from tests.factories import AccountFactory, ContactFactory, ScoringModelFactory, SourceFactory
from tests.factories import segment_member as member
from tests.tracking_client import post, track

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def segment() -> ICPSegment:
    """A scored segment with a landmark, so that a rollup claims."""
    segment = ScoringModelFactory.create(segment__name="Pending").segment
    scores_recompute(segment_id=segment.pk, at=AT)
    return segment


def pending() -> set[int]:
    return set(ActivityPending.objects.filter(batch=None).values_list("activity_id", flat=True))


def stored() -> set[int]:
    return set(Activity.objects.values_list("id", flat=True))


def claim_leaves_none_pending(count: int) -> None:
    result = scores_rollup(at=AT)
    assert result.activities == count
    assert not ActivityPending.objects.exists()
    assert result.batch_id is not None
    batch = RollupBatch.objects.get(pk=result.batch_id)
    ids = stored()
    assert (batch.first_activity_id, batch.last_activity_id) == (min(ids), max(ids))


def test_the_insert_trigger_is_installed() -> None:
    # A migration that makes SQLite rebuild engagement_activity drops it.
    assert triggers_on("engagement_activity") == [
        "engagement_activity_message_once",
        "engagement_activity_pending",
    ]


def test_tracking_batches_leave_their_activity_pending(segment: ICPSegment) -> None:
    ContactFactory.create(account=member(segment), external_id="u-1")
    issued = source_create(name="Site")
    client = Client()
    # Track calls only: on PostgreSQL the one-statement insert (tracking_postgresql).
    body = {"batch": [track("t-1"), track("t-2")]}
    assert post(client, "/v1/batch", body, issued.write_key).status_code == 200
    # With an identify call: the transaction path (the ORM's bulk_create on SQLite).
    identify = {"type": "identify", "messageId": "i-1", "userId": "u-2",
                "traits": {"email": "bo@example.com"}}  # fmt: skip
    body = {"batch": [identify, track("t-3", user_id="u-2")]}
    assert post(client, "/v1/batch", body, issued.write_key).status_code == 200
    # A single call, as the browser libraries send them.
    assert post(client, "/v1/track", track("t-4"), issued.write_key).status_code == 200
    # Delivered again: skipped by the insert, and by its trigger.
    assert post(client, "/v1/track", track("t-4"), issued.write_key).status_code == 200
    assert Activity.objects.count() == 4
    assert pending() == stored()
    claim_leaves_none_pending(4)


def test_the_bulk_insert_skips_stored_message_ids_and_their_pending_rows(
    segment: ICPSegment,
) -> None:
    # PostgreSQL: INSERT ... ON CONFLICT DO NOTHING (json_to_recordset); SQLite:
    # bulk_create(ignore_conflicts=True). A skipped row gets no second pending row.
    source = SourceFactory.create()
    rows = [ActivityRow(message_id=f"m-{n}", type="page_view", occurred_at=AT) for n in range(3)]
    assert activities_bulk_insert(source_id=source.pk, rows=rows, batch_size=2) == 3
    more = [*rows, ActivityRow(message_id="m-3", type="page_view", occurred_at=AT)]
    assert activities_bulk_insert(source_id=source.pk, rows=more) == 1
    assert len(pending()) == 4
    assert pending() == stored()
    claim_leaves_none_pending(4)


def test_a_csv_import_leaves_its_activity_pending(segment: ICPSegment) -> None:
    AccountFactory.create(domain="northwind.example")
    data = (
        "Timestamp,Event,Email,Company Domain,UTM Campaign\n"
        "2026-03-01T10:00:00Z,Webinar Attended,ana@northwind.example,,FS-Webinar\n"
        "2026-03-02,Meeting Held,,northwind.example,\n"
    )
    assert csv_import(kind="activities", data=data).created == 2
    assert len(pending()) == 2
    assert pending() == stored()
    claim_leaves_none_pending(2)


def test_orm_and_raw_inserts_leave_their_activity_pending(segment: ICPSegment) -> None:
    source = SourceFactory.create()
    Activity.objects.create(source=source, message_id="orm", type="page_view", occurred_at=AT)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO engagement_activity (source_id, message_id, type, occurred_at,"
            " received_at, anonymous_id, tracking_key, event_name, properties,"
            " excluded_reason) VALUES (%s, 'raw', 'page_view', %s, %s, '', '', '', '{}', '')",
            [source.pk, AT, AT],
        )
    assert len(pending()) == 2
    assert pending() == stored()
    claim_leaves_none_pending(2)


def test_the_demo_seed_stores_its_activity_pending_and_its_scores_claim_it() -> None:
    demo_seed(accounts=10, seed=3, today=timezone.now().date(), progress=False)
    # Every activity the seed stored was pending until its recompute claimed it,
    # as one batch: the batch's id range is the whole table's.
    assert not ActivityPending.objects.exists()
    claimed = RollupBatch.objects.filter(first_activity_id__isnull=False)
    ids = stored()
    assert [(b.first_activity_id, b.last_activity_id) for b in claimed] == [(min(ids), max(ids))]


def test_a_rolled_back_claim_leaves_its_rows_pending(segment: ICPSegment) -> None:
    source = SourceFactory.create()
    Activity.objects.create(source=source, message_id="a", type="page_view", occurred_at=AT)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert pending_roll(at=AT).activities == 1
        assert not pending()
        raise RuntimeError
    assert pending() == stored()


def test_a_claim_writes_the_pending_table_and_no_activity_row(
    postgresql: None, segment: ICPSegment
) -> None:
    # The counters of this transaction's own writes, per table (PostgreSQL's
    # pg_stat_get_xact_*): exact, not sampled.
    source = SourceFactory.create()
    rows = [ActivityRow(message_id=f"w-{n}", type="page_view", occurred_at=AT) for n in range(25)]
    activities_bulk_insert(source_id=source.pk, rows=rows)

    def writes() -> dict[str, tuple[int, int, int]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, pg_stat_get_xact_tuples_inserted(oid),"
                " pg_stat_get_xact_tuples_updated(oid), pg_stat_get_xact_tuples_deleted(oid)"
                " FROM pg_class WHERE relname IN"
                " ('engagement_activity', 'engagement_activitypending')"
            )
            return {name: (i, u, d) for name, i, u, d in cursor.fetchall()}

    before = writes()
    assert pending_roll(at=AT).activities == 25
    after = writes()
    change = {
        name: tuple(b - a for a, b in zip(before[name], after[name], strict=True)) for name in after
    }
    # (inserted, updated, deleted): the claim marks and deletes the narrow rows only.
    assert change == {"engagement_activity": (0, 0, 0), "engagement_activitypending": (0, 25, 25)}
