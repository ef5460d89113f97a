"""A real Celery worker process, on the real broker, writes to the real database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Queue

from config.models import WorkerHeartbeat
from tests.conftest import require_service

PROJECT = Path(__file__).resolve().parents[2]


def brokers() -> list[str]:
    """The configured broker, plus any others CI asks to prove (RabbitMQ)."""
    extra = [url for url in os.environ.get("EXTRA_TEST_BROKER_URLS", "").split(",") if url]
    return ["configured", *extra]


def database_url_for_workers() -> str:
    """The test database, as a URL another process can connect to."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        require_service("a worker process cannot reach the in-memory SQLite test database")
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(
    request: pytest.FixtureRequest, broker_url: str, tmp_path: Path
) -> Iterator[tuple[str, str, str, Path]]:
    """Start `celery worker` on a private queue; yield (broker, queue, node name, log)."""
    url = broker_url if request.param == "configured" else request.param
    queue = f"test-{uuid.uuid4().hex[:12]}"
    node = f"{queue}@testhost"
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_for_workers(),
        "CELERY_BROKER_URL": url,
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--queues", queue, "--hostname", node, "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=PROJECT,
        env=environ,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        # On RabbitMQ a message sent before the worker declared its queue is
        # unroutable and dropped, so wait until the worker says it is ready.
        deadline = time.monotonic() + 60
        while f"{node} ready." not in log.read_text():
            assert process.poll() is None, "worker exited:\n" + log.read_text()[-4000:]
            assert time.monotonic() < deadline, "worker not ready:\n" + log.read_text()[-4000:]
            time.sleep(0.2)
        yield url, queue, node, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with Celery("test-cleanup").connection_for_write(url) as broker_connection:
            Queue(queue, channel=broker_connection.default_channel).delete()


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
