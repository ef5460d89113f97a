"""A bounded rollup claim (SCORES_ROLLUP_MAX_BATCH, issue 20 part 5): at most
that many pending rows, the oldest first, the rest left pending; concurrent
claims on PostgreSQL take disjoint rows; a full batch has the next rollup
enqueued at once, and the cron command drains the backlog batch by batch."""

from __future__ import annotations

import datetime as dt
import threading
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from accounts.models import ICPSegment
from engagement.models import Activity, ActivityPending
from engagement.rollup import claims, incremental
from engagement.rollup.incremental import scores_rollup
from tests.factories import ContactFactory, ScoringModelFactory, SourceFactory
from tests.factories import segment_member as member

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def segment() -> ICPSegment:
    return ScoringModelFactory.create(segment__name="Bounded").segment


def _scored_with_pending(segment: ICPSegment, count: int) -> list[int]:
    """A scored segment (landmark set) and `count` pending activities; their ids."""
    account = member(segment)
    contact = ContactFactory.create(account=account)
    source = SourceFactory.create()

    def view(n: int) -> int:
        return int(
            Activity.objects.create(
                source=source, message_id=f"bounded-{n}", type="page_view",
                occurred_at=AT - dt.timedelta(hours=n + 2), account=account, contact=contact,
            ).pk
        )  # fmt: skip

    view(-1)
    scores_rollup(segment_id=segment.pk, at=AT)  # the first: the segment's recompute
    return sorted(view(n) for n in range(count))


@pytest.mark.django_db
def test_a_bounded_claim_takes_at_most_the_bound_oldest_first_and_leaves_the_rest_pending(
    segment: ICPSegment, settings: Any
) -> None:
    ids = _scored_with_pending(segment, 5)
    settings.SCORES_ROLLUP_MAX_BATCH = 2
    assert scores_rollup(segment_id=segment.pk, at=AT).activities == 2
    pending = sorted(ActivityPending.objects.values_list("activity_id", flat=True))
    assert pending == ids[2:]
    assert not ActivityPending.objects.exclude(batch__isnull=True).exists()
    assert scores_rollup(segment_id=segment.pk, at=AT).activities == 2
    assert scores_rollup(segment_id=segment.pk, at=AT).activities == 1
    assert not ActivityPending.objects.exists()


@pytest.mark.django_db
def test_without_a_bound_one_claim_takes_every_pending_row(segment: ICPSegment) -> None:
    _scored_with_pending(segment, 5)
    assert scores_rollup(segment_id=segment.pk, at=AT).activities == 5
    assert not ActivityPending.objects.exists()


@pytest.mark.django_db
def test_only_a_full_bounded_batch_calls_for_the_next_rollup(
    segment: ICPSegment, settings: Any
) -> None:
    _scored_with_pending(segment, 3)
    settings.SCORES_ROLLUP_MAX_BATCH = 2
    more = mock.Mock()
    assert scores_rollup(at=AT, on_full_batch=more).activities == 2
    assert more.call_count == 1
    assert scores_rollup(at=AT, on_full_batch=more).activities == 1
    assert more.call_count == 1


@pytest.mark.django_db
def test_the_next_rollup_is_enqueued_with_a_broker_and_never_run_inline_without_one(
    settings: Any,
) -> None:
    with mock.patch("engagement.tasks.scores_rollup_pending_task.apply_async") as enqueue:
        settings.CELERY_TASK_ALWAYS_EAGER = True
        incremental.rollup_continue()
        assert enqueue.call_count == 0
        settings.CELERY_TASK_ALWAYS_EAGER = False
        incremental.rollup_continue()
        assert enqueue.call_count == 1


@pytest.mark.django_db
def test_the_rollup_command_drains_a_backlog_in_bounded_batches(
    segment: ICPSegment, settings: Any
) -> None:
    _scored_with_pending(segment, 5)
    settings.SCORES_ROLLUP_MAX_BATCH = 2
    out = StringIO()
    call_command("scores_rollup", stdout=out)
    assert "5 activities rolled up" in out.getvalue()
    assert not ActivityPending.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_bounded_claims_on_postgresql_take_disjoint_rows(
    postgresql: None, segment: ICPSegment
) -> None:
    ids = _scored_with_pending(segment, 7)
    first_claimed = threading.Event()
    second_done = threading.Event()
    taken: dict[str, list[int]] = {}

    def claim(name: str, batch: int, hold: threading.Event | None) -> None:
        try:
            with transaction.atomic():
                claims._claim(batch, 3)
                taken[name] = sorted(
                    ActivityPending.objects.filter(batch=batch).values_list(
                        "activity_id", flat=True
                    )
                )
                if hold is not None:
                    first_claimed.set()
                    hold.wait(timeout=30)  # keep the claimed rows locked
                transaction.set_rollback(True)  # leave the rows pending
        finally:
            connection.close()

    first = threading.Thread(target=claim, args=("first", 1001, second_done))
    first.start()
    assert first_claimed.wait(timeout=30)
    second = threading.Thread(target=claim, args=("second", 1002, None))
    second.start()
    second.join(timeout=30)
    second_done.set()
    first.join(timeout=30)
    assert taken["first"] == ids[:3]  # the oldest
    assert taken["second"] == ids[3:6]  # skipped the rows the first held, not waited
