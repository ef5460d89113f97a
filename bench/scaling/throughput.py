"""Rollup throughput with one worker process against two (issue 20, part 5).

On the rollup benchmark's COPY dataset after the full recompute, each setup
starts from the same state: the backlog of an earlier setup deleted, the
full recompute run again, and the same backlog (same seed, same rows) added
pending. Then real Celery workers (`bench.scaling.workers`) drain it with the
product's task: one `engagement.scores_rollup_pending` is enqueued, as ingest
does; with SCORES_ROLLUP_MAX_BATCH set, each full batch enqueues the next at
once, so a second process claims the next rows while the first adds its own.
The drain ends when no pending row is left (every claim committed).

The tasks score at the time they run, not at the benchmark's fixed moment;
the check re-scores every account at that moment from the sums the rollups
added (`scores_refresh`, which reads sums only, never activity) and compares
every score with the hand-written reference, so a row counted twice or lost
by concurrent claims would show.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from celery import Celery
from django.db import connection

from bench import BenchmarkError
from bench.rollup.dataset import AT, Seeded, activities_add
from bench.rollup.reference import agreement_check, product_scores, reference_scores
from bench.scaling.workers import CpuTracker, DrainSamples, rollup_worker
from engagement.models import Activity, ActivityMessage, ActivityPending
from engagement.rollup.recompute import scores_recompute, scores_refresh

ROLLUP_TASK = "engagement.scores_rollup_pending"
POLL_SECONDS = 0.05
DRAIN_TIMEOUT_SECONDS = 1800.0


@dataclass(frozen=True)
class Setup:
    processes: int
    max_batch: int | None

    def label(self) -> str:
        bound = f"batches of {self.max_batch:,}" if self.max_batch else "one claim (unbounded)"
        return f"{self.processes} process{'es' if self.processes > 1 else ''}, {bound}"


@dataclass(frozen=True)
class Drain:
    processes: int
    max_batch: int | None
    activities: int
    seconds: float
    activities_per_second: float
    cpu_seconds: dict[str, float | None]
    cores_busy: dict[str, float | None]  # CPU seconds / wall seconds
    lock_wait_share: float  # of polls x busy sessions: waiting for a row lock
    busy_sessions_mean: float  # rollup sessions in a transaction, per poll
    session_shares: dict[str, float]  # DrainSamples.shares
    checked_accounts: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pending() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {ActivityPending._meta.db_table}")  # noqa: S608  # nosec B608
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _any_pending() -> bool:
    """Polled every POLL_SECONDS while the workers run: EXISTS, not a count, to
    take as little of the two cores from them as it can."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {ActivityPending._meta.db_table})")  # noqa: S608  # nosec B608
        row = cursor.fetchone()
    return bool(row and row[0])


def backlog_reset(*, seeded: Seeded, count: int, seed: int) -> None:
    """The same starting state for every setup: no backlog, scores by the full
    recompute at AT, then `count` new pending activities (the same rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Activity._meta.db_table} WHERE source_id = %s AND message_id LIKE 'n%%'",  # noqa: S608  # nosec B608
            [seeded.source_id],
        )
        # Their message keys too, or the same rows added again would be skipped.
        cursor.execute(
            f"DELETE FROM {ActivityMessage._meta.db_table}"  # noqa: S608  # nosec B608
            " WHERE source_id = %s AND message_id LIKE 'n%%'",
            [seeded.source_id],
        )
        cursor.execute(f"DELETE FROM {ActivityPending._meta.db_table}")  # noqa: S608  # nosec B608
        cursor.execute(f"VACUUM (ANALYZE) {Activity._meta.db_table}")
    scores_recompute(segment_id=seeded.segment_id, at=AT, alerts=False)
    activities_add(seeded=seeded, count=count, seed=seed)
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    if _pending() != count:
        raise BenchmarkError(f"{_pending():,} activities pending, {count:,} expected")


def _rollup_enqueue(broker: str) -> None:
    """Enqueue one `engagement.scores_rollup_pending` on the workers' broker, as
    ingest's debounce does. On a connection of its own: this process may have
    eager tasks or another broker, and Celery prefers a CELERY_BROKER_URL in
    the environment to the app's own broker setting."""
    app = Celery("bench-scaling", broker=broker)
    try:
        with app.connection_for_write(broker) as link:
            app.send_task(ROLLUP_TASK, queue="rollup", routing_key="rollup", connection=link)
    finally:
        app.close()


def drain(*, seeded: Seeded, setup: Setup, backlog: int, broker: str) -> Drain:
    """Drain `backlog` pending activities with real workers; check every score."""
    database = str(connection.settings_dict["NAME"])
    samples = DrainSamples()
    with rollup_worker(broker=broker, processes=setup.processes, max_batch=setup.max_batch) as w:
        cpu = CpuTracker(worker_pid=w.pid, database=database)
        _rollup_enqueue(broker)
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        while _any_pending():
            samples.take(database)
            cpu.sample()
            if time.monotonic() > deadline:
                raise BenchmarkError(
                    f"the backlog was not drained in {DRAIN_TIMEOUT_SECONDS:.0f}s:\n"
                    + w.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(POLL_SECONDS)
        used = cpu.used()
    scores_refresh(segment_id=seeded.segment_id, at=AT)
    checked = agreement_check(
        reference=reference_scores(segment_id=seeded.segment_id, at=AT),
        product_side=product_scores(segment_id=seeded.segment_id),
        when=f"after {setup.label()} drained {backlog:,} activities",
    )
    cpu_seconds = {"workers": used.workers, "postgres": used.postgres, "machine": used.machine}
    return Drain(
        processes=setup.processes,
        max_batch=setup.max_batch,
        activities=backlog,
        seconds=round(used.wall, 3),
        activities_per_second=round(backlog / used.wall, 1),
        cpu_seconds={k: None if v is None else round(v, 2) for k, v in cpu_seconds.items()},
        cores_busy={
            k: None if v is None else round(v / used.wall, 2) for k, v in cpu_seconds.items()
        },
        lock_wait_share=samples.shares().get("db Lock", 0.0),
        busy_sessions_mean=round((samples.active + samples.in_python) / max(1, samples.polls), 2),
        session_shares=samples.shares(),
        checked_accounts=checked,
    )
