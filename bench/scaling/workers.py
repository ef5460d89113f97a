"""Real Celery worker processes for the scaling benchmark: a private redis-server
as their broker (never the shared one), `celery -A config worker -Q rollup
--pool prefork --concurrency N` against the database this process uses, and
what the drain of a backlog costs in CPU (workers against PostgreSQL, from
/proc) and in lock waits (sampled from pg_stat_activity).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

from bench import BenchmarkError
from bench.cpu import cpu_by_process
from bench.server import HOST, database_url, free_port, process_serving


@contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of this run's own on a free port, nothing saved; its URL."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchmarkError("redis-server is not installed: the workers need a broker")
    port = free_port()

    def answers() -> bool:
        try:
            return bool(redis.Redis(host=HOST, port=port, socket_timeout=2).ping())
        except redis.ConnectionError:
            return False

    with process_serving(
        [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
        what="the private redis-server", ready=answers, startup_seconds=10, poll_seconds=0.05,
        stop_seconds=10,
    ):  # fmt: skip
        yield f"redis://{HOST}:{port}/0"


@dataclass(frozen=True)
class RunningWorker:
    pid: int
    log: Path


@contextmanager
def rollup_worker(*, broker: str, processes: int, max_batch: int | None) -> Iterator[RunningWorker]:
    """`celery worker -Q rollup --pool prefork --concurrency processes`, pointed at
    this process's database, with SCORES_ROLLUP_MAX_BATCH set; yields once the
    worker says it is ready, stops it at the end."""
    node = f"scaling-{uuid.uuid4().hex[:8]}@{HOST}"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_URL": broker,
        "SCORES_ROLLUP_MAX_BATCH": str(max_batch or 0),
        "SECRET_KEY": str(settings.SECRET_KEY),
        # Keep each process's connection for the whole drain: a backend that
        # exits mid-run takes its CPU time with it, out of the figures.
        "DB_CONN_MAX_AGE": "3600",
        "PYTHONUNBUFFERED": "1",
    }
    with tempfile.NamedTemporaryFile(prefix="scaling-worker-", suffix=".log", delete=False) as f:
        log = Path(f.name)
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "rollup",
        "--pool", "prefork", "--concurrency", str(processes), "--hostname", node,
        "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    try:
        with process_serving(
            command, what="the celery worker", environment=environment, startup_seconds=60,
            ready=lambda: f"{node} ready." in log.read_text(errors="replace"), stop_seconds=30,
            log=log,
        ) as process:  # fmt: skip
            yield RunningWorker(pid=process.pid, log=log)
    finally:
        log.unlink(missing_ok=True)


@dataclass
class DrainSamples:
    """What the drain's poll loop saw of the workers' database sessions, summed
    over polls: `active` running a statement, by what it waited for
    (`waits`: "CPU" when nothing, else pg_stat_activity's wait_event_type:
    Lock for a row another rollup holds, IO, LWLock ...), and `in_python` idle
    inside a transaction (the worker computing between two statements)."""

    polls: int = 0
    active: int = 0
    in_python: int = 0
    waits: dict[str, int] = field(default_factory=dict)

    def take(self, database: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT state, coalesce(wait_event_type, 'CPU'), count(*) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend' "
                "AND state IN ('active', 'idle in transaction') "
                "GROUP BY 1, 2",
                [database],
            )
            rows = cursor.fetchall()
        self.polls += 1
        for state, wait, count in rows:
            if state == "active":
                self.active += int(count)
                self.waits[str(wait)] = self.waits.get(str(wait), 0) + int(count)
            else:
                self.in_python += int(count)

    def shares(self) -> dict[str, float]:
        """Of every (poll, busy session): the share running, waiting on each kind,
        and in the worker's Python."""
        busy = max(1, self.active + self.in_python)
        shares = {f"db {wait}": round(n / busy, 3) for wait, n in sorted(self.waits.items())}
        return shares | {"worker between statements": round(self.in_python / busy, 3)}


@dataclass(frozen=True)
class CpuUse:
    wall: float
    workers: float | None
    postgres: float | None
    machine: float | None


def _machine_busy() -> float | None:
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class CpuTracker:
    """CPU seconds of the worker processes and of PostgreSQL (the database's
    backends and the shared background processes) over a drain, and of the
    whole machine. Sampled at every poll: a process first seen after the start
    counts from zero, one that exits keeps what it was last seen using (Celery
    closes a task's database connection, and the backend exits with its CPU
    time, right as the drain ends)."""

    def __init__(self, *, worker_pid: int, database: str) -> None:
        self.worker_pid, self.database = worker_pid, database
        self.started = time.perf_counter()
        self.machine = _machine_busy()
        self.first = cpu_by_process(root=worker_pid, database=database)
        self.last = dict(self.first)

    def sample(self) -> None:
        self.last.update(cpu_by_process(root=self.worker_pid, database=self.database))

    def used(self) -> CpuUse:
        self.sample()
        machine = _machine_busy()
        spent = {"workers": 0.0, "postgres": 0.0}
        for key, seconds in self.last.items():
            spent[key[0]] += seconds - self.first.get(key, 0.0)
        return CpuUse(
            wall=time.perf_counter() - self.started,
            workers=spent["workers"],
            postgres=spent["postgres"],
            machine=None if machine is None or self.machine is None else machine - self.machine,
        )
