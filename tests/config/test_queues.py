"""Celery queues by kind of work (issue 20, docs/scaling.md): every task goes
to its kind's queue, one worker without -Q runs them all, and a worker given
one queue leaves the others' messages where they are."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings

from config.celery import app
from core.models import WorkerHeartbeat
from tests.real_services import PrivateRedis, worker_process

# Written out here, not read from the settings: the routing is what this says.
EXPECTED = {
    "engagement.scores_rollup": "rollup",
    "engagement.scores_rollup_pending": "rollup",
    "engagement.scores_rollup_all": "rollup",
    "campaigns.touches_refresh": "rollup",
    "campaigns.touches_refresh_batch": "rollup",
    "campaigns.touches_sweep": "rollup",
    "engagement.scores_recompute": "recompute",
    "engagement.scores_recompute_job": "recompute",
    "engagement.scores_refresh_all": "recompute",
    "engagement.junk_rules_apply": "recompute",
    "engagement.activity_retention": "recompute",
    "engagement.activity_partitions_ensure": "recompute",
    "accounts.segment_refresh": "recompute",
    "accounts.segments_refresh_all": "recompute",
    "accounts.segment_refresh_job": "recompute",
    "campaigns.touches_recompute": "recompute",
    "campaigns.program_touches_recompute": "recompute",
    "readiness.models_train_scheduled": "recompute",
    "readiness.models_train_job": "recompute",
    "readiness.scores_refresh_all": "recompute",
    "imports.import_file_run": "imports",
    "campaigns.programs_rank_scheduled": "reports",
    "campaigns.ranking_run_job": "reports",
    "engagement.alert_deliver": "celery",
    "engagement.alerts_deliver_due": "celery",
    "config.worker_heartbeat_record": "celery",
}


def _queue_of(name: str) -> str:
    return str(app.amqp.router.route({}, name)["queue"].name)


def test_every_task_goes_to_the_queue_of_its_kind() -> None:
    app.loader.import_default_modules()
    # Celery's own tasks and those a test module defines (tests.core.count_to) aside.
    ours = {name for name in app.tasks if not name.startswith(("celery.", "tests."))}
    assert ours == set(EXPECTED), "a task was added or renamed: give it its queue here"
    assert {name: _queue_of(name) for name in sorted(ours)} == EXPECTED


def test_every_queue_is_declared_so_one_worker_without_q_consumes_them_all() -> None:
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert set(EXPECTED.values()) <= declared
    assert settings.CELERY_TASK_DEFAULT_QUEUE in declared


def _send(url: str, name: str) -> None:
    client = Celery("test-client")
    client.conf.task_routes = settings.CELERY_TASK_ROUTES
    client.conf.task_queues = settings.CELERY_TASK_QUEUES
    with client.connection_for_write(url) as broker_connection:
        client.send_task(name, connection=broker_connection)


def _ran(log: Path, name: str) -> bool:
    """Whether the worker's log shows `name` run to success (the start-up
    banner lists every task by name, so match the result line)."""
    return any(
        line.split("Task ", 1)[1].startswith(f"{name}[") and "succeeded" in line
        for line in log.read_text().splitlines()
        if "Task " in line
    )


def _wait(predicate: object, what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} within 60 s; worker log:\n{log.read_text()[-4000:]}")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_one_queue_leaves_the_rest_and_a_worker_without_q_runs_them(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    broker = private_redis.client()
    rollup_log, all_log = tmp_path / "rollup.log", tmp_path / "all.log"
    with worker_process(private_redis.url, rollup_log, queues=("rollup",)) as started:
        url = started[0]
        _send(url, "accounts.segments_refresh_all")  # recompute
        _send(url, "config.worker_heartbeat_record")  # the default queue
        _send(url, "engagement.scores_rollup_all")  # rollup
        _wait(
            lambda: (
                "engagement.scores_rollup_all" in rollup_log.read_text()
                and "succeeded" in rollup_log.read_text()
            ),
            "the rollup worker ran the rollup sweep",
            rollup_log,
        )
        # The other kinds wait in their own queues, untouched.
        assert (broker.llen("recompute"), broker.llen("celery"), broker.llen("rollup")) == (
            1, 1, 0,
        )  # fmt: skip
        assert "Task accounts.segments_refresh_all[" not in rollup_log.read_text()
    with worker_process(private_redis.url, all_log, queues=()):
        _wait(
            lambda: (
                WorkerHeartbeat.objects.exists()
                and "Task accounts.segments_refresh_all" in all_log.read_text()
                and all_log.read_text().count("succeeded") >= 2
            ),
            "the worker without -Q ran the recompute and default queues' tasks",
            all_log,
        )
        _wait(
            lambda: broker.llen("recompute") == 0 and broker.llen("celery") == 0,
            "both queues drained",
            all_log,
        )
