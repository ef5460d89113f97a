"""The scaling benchmark (`manage.py bench --only scaling`, issue 20 part 5,
docs/scaling.md): two measurements of running on more than one process or
server, on this machine.

1. Rollup throughput (`bench.scaling.throughput`): on the rollup benchmark's
   COPY dataset after the full recompute, a backlog of `backlog` pending
   activities drained by real Celery worker processes on the `rollup` queue
   (a private redis-server as broker): one process claiming it all at once
   (SCORES_ROLLUP_MAX_BATCH unset, the default), then one process and two
   processes claiming `max_batch` at a time, each from the same state.
   Activities per second, the two-to-one ratio, the CPU the workers and
   PostgreSQL used and how often a rollup waited for a lock; every score is
   checked against the hand-written reference after each drain.
2. Report queries on a streaming replica (`bench.scaling.replica`): a primary
   and a standby of its own (initdb, pg_basebackup -R), the pages dataset at
   `replica_activities`; p50/p95 of the campaign report, the executive
   overview and the account list on each, equal answers, replication lag.

Not in the default full run: the replica step starts PostgreSQL servers
(initdb, as the postgres user when run as root), and the first empties the
rollup benchmark's tables of the database it runs on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection

from bench import BenchmarkError
from bench.measure import load_average, machine_facts
from bench.options import DatasetOptions
from bench.rollup.dataset import AT, dataset_seed
from bench.rollup.reference import agreement_check, product_scores, reference_scores
from bench.scaling import replica, throughput
from bench.scaling.workers import private_redis
from engagement.rollup.recompute import scores_recompute

DATABASE_SETTINGS = ("server_version", "shared_buffers", "work_mem", "max_connections")


# The backlog the worker processes drain, in new activities (--new-activities).
BACKLOG_TIMES_NEW = 10


@dataclass(frozen=True, kw_only=True)
class ScalingOptions(DatasetOptions):
    new_activities: int = 10_000
    max_batch: int = 10_000
    replica_activities: int = 200_000
    replica_requests: int = 30

    @property
    def backlog(self) -> int:
        """Pending activities drained by each worker setup: ten incremental
        batches' worth, so that a drain lasts long enough to time."""
        return self.new_activities * BACKLOG_TIMES_NEW


@dataclass(frozen=True)
class ScalingResult:
    sizes: dict[str, int]
    at: str
    seed_seconds: float
    drains: list[dict[str, Any]]
    two_to_one: float  # activities per second, 2 processes / 1, both bounded
    replica: dict[str, Any]
    machine: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(options: ScalingOptions) -> ScalingResult:
    """Run both measurements on the default (PostgreSQL) database."""
    if connection.vendor != "postgresql":
        raise BenchmarkError(
            f"the scaling benchmark needs PostgreSQL; the database is {connection.vendor}"
        )
    load_at_start = load_average()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    try:
        return _run(options, load_at_start)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")


def _say(options: ScalingOptions, text: str) -> None:
    if options.progress:
        print(f"scaling: {text}", flush=True)


def _run(options: ScalingOptions, load_at_start: list[float]) -> ScalingResult:
    _say(options, f"seeding the rollup dataset, {options.activities:,} activities")
    seeded = dataset_seed(
        accounts=options.accounts, contacts=options.contacts, activities=options.activities,
        seed=options.seed, progress=options.progress,
    )  # fmt: skip
    scores_recompute(segment_id=seeded.segment_id, at=AT, alerts=False)
    agreement_check(
        reference=reference_scores(segment_id=seeded.segment_id, at=AT),
        product_side=product_scores(segment_id=seeded.segment_id),
        when="after the full recompute",
    )
    setups = (
        throughput.Setup(processes=1, max_batch=None),
        throughput.Setup(processes=1, max_batch=options.max_batch),
        throughput.Setup(processes=2, max_batch=options.max_batch),
    )
    drains: list[throughput.Drain] = []
    with private_redis() as broker:
        for setup in setups:
            _say(options, f"{setup.label()}: draining {options.backlog:,} activities")
            throughput.backlog_reset(seeded=seeded, count=options.backlog, seed=options.seed)
            drains.append(
                throughput.drain(seeded=seeded, setup=setup, backlog=options.backlog, broker=broker)
            )
    one, two = drains[1], drains[2]
    replicated = replica.run(
        accounts=max(1, options.accounts * options.replica_activities // options.activities),
        contacts=max(1, options.contacts * options.replica_activities // options.activities),
        activities=options.replica_activities, requests=options.replica_requests,
        seed=options.seed, say=lambda text: _say(options, text),
    )  # fmt: skip
    return ScalingResult(
        sizes={
            "accounts": options.accounts,
            "members": seeded.members,
            "contacts": options.contacts,
            "activities": options.activities,
            "backlog": options.backlog,
            "max_batch": options.max_batch,
            "replica_activities": options.replica_activities,
            "replica_requests": options.replica_requests,
        },
        at=AT.isoformat(),
        seed_seconds=round(seeded.seconds, 3),
        drains=[drain.as_dict() for drain in drains],
        two_to_one=round(two.activities_per_second / one.activities_per_second, 3),
        replica=replicated.as_dict(),
        machine=machine_facts(settings=DATABASE_SETTINGS, load_at_start=load_at_start),
    )
