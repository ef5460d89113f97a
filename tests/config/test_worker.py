"""A real Celery worker process, on the real broker, writes to the real database."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.models import WorkerHeartbeat
from tests.real_services import PrivateRedis, brokers, worker_process


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("worker", brokers(), indirect=True)
def test_a_real_worker_runs_an_enqueued_task_that_writes_to_the_database(
    worker: tuple[str, str, str, Path],
) -> None:
    url, queue, node, log = worker
    assert not WorkerHeartbeat.objects.filter(hostname=node).exists()

    # An explicit connection: Celery's broker_url prefers the CELERY_BROKER_URL
    # environment variable over an app's own setting.
    client = Celery("test-client")
    with client.connection_for_write(url) as broker_connection:
        client.send_task(
            "config.worker_heartbeat_record", queue=queue, connection=broker_connection
        )

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(hostname=node).exists():
            break
        time.sleep(0.25)
    assert WorkerHeartbeat.objects.filter(hostname=node).exists(), (
        f"no heartbeat from worker {node} within 60 s via {url}; worker log:\n"
        + log.read_text()[-4000:]
    )


def test_without_a_broker_tasks_run_eagerly_in_process() -> None:
    assert settings.CELERY_TASK_ALWAYS_EAGER is (not settings.CELERY_BROKER_URL)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("worker", ["configured"], indirect=True)
def test_a_real_worker_rolls_up_engagement_scores(worker: tuple[str, str, str, Path]) -> None:
    from accounts.models import ICPSegment, SegmentMembership
    from engagement.models import AccountEngagement, Activity, ScoringModel
    from tests.factories import AccountFactory, ContactFactory, SourceFactory

    url, queue, _node, log = worker
    segment = ICPSegment.objects.create(name="Worker segment")
    ScoringModel.objects.create(segment=segment)
    account = AccountFactory.create()
    SegmentMembership.objects.create(segment=segment, account=account)
    Activity.objects.create(
        source=SourceFactory.create(), message_id="w-1", type="demo_request",
        occurred_at=timezone.now(), account=account,
        contact=ContactFactory.create(account=account, seniority="vp"),
    )  # fmt: skip

    client = Celery("test-client")
    with client.connection_for_write(url) as broker_connection:
        client.send_task("engagement.scores_rollup", args=[segment.pk], queue=queue,
                         connection=broker_connection)  # fmt: skip

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if AccountEngagement.objects.filter(account=account, segment=segment).exists():
            break
        time.sleep(0.25)
    row = AccountEngagement.objects.filter(account=account, segment=segment).first()
    assert row is not None, "no score from the worker; log:\n" + log.read_text()[-4000:]
    assert row.raw_score == pytest.approx(40.0)  # 30 x 1.5 = 45, capped at 40


@contextmanager
def table_locked(table: str) -> Iterator[None]:
    """Hold an exclusive lock on `table` from a connection of the test's own, so
    a task that reads it waits (with its message unacknowledged) until the block ends."""
    locker = connection.copy()
    try:
        locker.connect()
        locker.set_autocommit(False)
        with locker.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        locker.rollback()
        locker.close()


def wait_for(
    predicate: Callable[[], bool],
    seconds: float,
    what: str,
    log: Path,
    worker: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll until `predicate()`; fail at once if the worker is exiting."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if worker is not None:
            text = log.read_text()
            # An unrecoverable error starts a warm shutdown that waits for the
            # running task, so the process itself may linger a while.
            assert worker.poll() is None and "Unrecoverable error" not in text, (
                f"the worker is exiting while waiting for {what}; its log:\n" + text[-6000:]
            )
        assert time.monotonic() < deadline, (
            f"{what} not within {seconds} s; worker log:\n" + log.read_text()[-6000:]
        )
        time.sleep(0.1)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("pool", "concurrency"), [("prefork", 2), ("solo", 1)])
def test_a_real_worker_survives_a_broker_restart_while_it_holds_an_unacked_task(
    postgresql: None, private_redis: PrivateRedis, tmp_path: Path, pool: str, concurrency: int
) -> None:
    """Redis restarts while the worker runs an acks_late rollup (its message
    unacknowledged): the worker stays up, the rollup commits, the ack reaches the
    restarted broker (nothing is redelivered later), and work sent after the
    restart is consumed too.

    Prefork with a free process is what `make worker` runs on a machine with
    more than one core: the worker waits on the broker for more work (a BRPOP)
    while it holds the unacked message, the case celery 5.7.0 died of
    (docs/operations.md, "Broker restarts")."""
    from accounts.models import Account, ICPSegment, SegmentMembership
    from engagement.models import AccountEngagement, Activity, RollupCursor, ScoringModel
    from tests.factories import AccountFactory, ContactFactory, SourceFactory

    segment = ICPSegment.objects.create(name="Restart segment")
    ScoringModel.objects.create(segment=segment)
    source = SourceFactory.create()
    first, second = AccountFactory.create(), AccountFactory.create()
    for account in (first, second):
        SegmentMembership.objects.create(segment=segment, account=account)
    Activity.objects.create(
        source=source, message_id="restart-1", type="demo_request", occurred_at=timezone.now(),
        account=first, contact=ContactFactory.create(account=first, seniority="vp"),
    )  # fmt: skip
    broker = private_redis.client()
    cursor_table = RollupCursor._meta.db_table

    def rollup_waits_on_the_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
                [cursor_table],
            )
            return bool(cursor.fetchone()[0])

    def scored(account: Account) -> bool:
        # Every member gets a row at the segment's first scoring; a score
        # above 0 is the account's own activity rolled up.
        return AccountEngagement.objects.filter(
            account=account, segment=segment, raw_score__gt=0
        ).exists()

    def send_rollup(url: str, queue: str) -> None:
        client = Celery("test-client")
        with client.connection_for_write(url) as broker_connection:
            client.send_task("engagement.scores_rollup", args=[segment.pk], queue=queue,
                             connection=broker_connection)  # fmt: skip

    log = tmp_path / "worker.log"
    started = worker_process(private_redis.url, log, pool=pool, concurrency=concurrency)
    with started as (url, queue, _node, _log, process):
        with table_locked(cursor_table):
            send_rollup(url, queue)
            wait_for(rollup_waits_on_the_lock, 20, "the rollup task to wait on the lock", log,
                     process)  # fmt: skip
            assert broker.hlen("unacked") == 1, "the running task's message is not unacked"

            private_redis.stop()
            private_redis.start()
            assert broker.hlen("unacked") == 1, "the restart lost the unacked message"
            if pool == "prefork":
                # The worker's event loop sees the broker go and reconnects
                # while the task is still running.
                wait_for(lambda: log.read_text().count("Connected to redis") >= 2, 20,
                         "a reconnect to the restarted broker", log, process)  # fmt: skip
        # The lock is released: the held task finishes and commits.
        wait_for(
            lambda: scored(first), 20, "the held rollup's score", log, process,
        )  # fmt: skip
        wait_for(lambda: broker.hlen("unacked") == 0, 20, "the held task's ack", log, process)

        # Work sent after the restart is consumed: the worker is not only
        # alive but still listening.
        Activity.objects.create(
            source=source, message_id="restart-2", type="demo_request",
            occurred_at=timezone.now(), account=second,
            contact=ContactFactory.create(account=second, seniority="vp"),
        )  # fmt: skip
        send_rollup(url, queue)
        wait_for(
            lambda: scored(second), 20, "the rollup sent after the restart", log, process,
        )  # fmt: skip
        assert process.poll() is None, "the worker exited:\n" + log.read_text()[-6000:]
        assert "Unrecoverable error" not in log.read_text(), log.read_text()[-6000:]

    scores = dict(
        AccountEngagement.objects.filter(segment=segment).values_list("account_id", "raw_score")
    )
    # One VP demo request each: 30 x 1.5 = 45, capped at 40 (DESIGN 4).
    assert scores == {first.pk: pytest.approx(40.0), second.pk: pytest.approx(40.0)}
