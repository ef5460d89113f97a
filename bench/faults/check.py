"""The fault check: the Segment library sends a known set of message ids through
gunicorn while the worker is killed, PostgreSQL restarted and the broker
restarted; then every message must be stored exactly once, the worker alive,
nothing unscored and every score equal to a full recompute.

1. Start a PostgreSQL cluster and a redis-server of the check's own (temporary
   directory, free ports), migrate, seed one scored segment.
2. Start `celery -A config worker` (prefork) and gunicorn on them, in
   production settings; the broker's redis also holds the cache (the rollup's
   debounce, the rate limit), as a production deployment would.
3. Send `messages` track calls evenly over `seconds`, and inject the faults
   spread over the first 70% of that time, each `rounds` times.
4. Wait for the library to drain, for the rollups to claim everything and
   check the worker answers a ping and runs a task; then count and compare.

Every process and the directory are removed at the end, also on an error or
Ctrl-C.
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 - starts our own services and interpreter
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from django.conf import settings

from bench import BenchmarkError
from bench.faults import data
from bench.faults.services import CeleryWorker, PrivatePostgres, PrivateRedis
from bench.faults.traffic import Traffic
from bench.ingest.client import server_ready
from bench.server import HOST, GunicornConfig, gunicorn_serving, server_environment
from core.models import WorkerHeartbeat

FAULTS = ("worker killed", "postgresql restarted", "broker restarted")
# How long each service stays down before it is started again.
DOWN_SECONDS = 2.0
# After the traffic: how long the rollups get to claim everything.
SETTLE_SECONDS = 45.0
WORKER_TASK_SECONDS = 30.0


@dataclass(frozen=True)
class FaultOptions:
    messages: int = 20_000
    seconds: float = 90.0
    rounds: int = 3
    accounts: int = 20
    contacts_per_account: int = 5
    workers: int = 2
    threads: int = 4
    worker_concurrency: int = 2


@dataclass
class Fault:
    name: str
    at: float  # seconds after the traffic started
    outage: float  # seconds until the service was back (the worker: ready again)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"fault": self.name, "at_seconds": round(self.at, 1),
                "outage_seconds": round(self.outage, 1), "detail": self.detail}  # fmt: skip


@dataclass
class FaultReport:
    options: FaultOptions
    faults: list[Fault] = field(default_factory=list)
    sent: int = 0
    refused_by_client_queue: int = 0
    acknowledged: int = 0
    given_up: int = 0
    given_up_errors: list[str] = field(default_factory=list)
    stored: int = 0
    stored_rows: int = 0
    stored_mix: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    acknowledged_not_stored: int = 0
    duplicated: int = 0
    unexpected: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    resent_requests: int = 0
    drained: bool = False
    unscored_after_settle: int = -1
    swept: bool = False
    unscored: int = -1
    worker_ping: bool = False
    worker_task: bool = False
    worker_starts: int = 0
    worker_tasks: dict[str, int] = field(default_factory=dict)
    scores: data.ScoreComparison = field(default_factory=data.ScoreComparison)
    seconds: float = 0.0

    def failures(self) -> list[str]:
        checks = {
            "no message was sent": not self.sent,
            "the library's queue did not drain": not self.drained,
            f"{self.lost} messages lost (sent, not stored)": self.lost,
            f"{self.acknowledged_not_stored} acknowledged messages not stored":
                self.acknowledged_not_stored,
            f"{self.duplicated} messages stored more than once": self.duplicated,
            f"{self.unexpected} stored message ids never sent": self.unexpected,
            f"{self.refused_by_client_queue} messages refused by the library's queue":
                self.refused_by_client_queue,
            f"{self.unscored} activities left unscored": self.unscored != 0,
            "the worker did not answer a ping": not self.worker_ping,
            "the worker did not run a task": not self.worker_task,
            f"{self.scores.mismatches} scores differ from a full recompute": self.scores.mismatches,
            "no score was checked": not self.scores.accounts,
            f"{len(self.faults)} faults injected, {3 * self.options.rounds} planned":
                len(self.faults) != 3 * self.options.rounds,
        }  # fmt: skip
        return [message for message, failed in checks.items() if failed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "options": vars(self.options),
            "faults": [fault.as_dict() for fault in self.faults],
            "messages": {
                "sent": self.sent, "acknowledged": self.acknowledged, "given_up": self.given_up,
                "stored": self.stored, "stored_mix": self.stored_mix, "lost": self.lost,
                "acknowledged_not_stored": self.acknowledged_not_stored,
                "duplicated": self.duplicated, "unexpected": self.unexpected,
                "refused_by_client_queue": self.refused_by_client_queue,
            },
            "http": {"statuses": self.statuses, "resent_requests": self.resent_requests},
            "given_up_errors": self.given_up_errors,
            "unscored_after_settle": self.unscored_after_settle,
            "swept": self.swept,
            "unscored": self.unscored,
            "worker": {"ping": self.worker_ping, "task": self.worker_task,
                       "starts": self.worker_starts, "tasks": self.worker_tasks},
            "scores": self.scores.as_dict(),
            "seconds": round(self.seconds, 1),
            "failures": self.failures(),
        }  # fmt: skip

    def lines(self) -> list[str]:
        """The report as printed by the command and in the CI log."""
        http = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        out = ["Faults injected (seconds after the traffic started):"]
        out += [
            f"  {fault.at:6.1f} s  {fault.name:<22} back after {fault.outage:4.1f} s"
            + (f"  ({fault.detail})" if fault.detail else "")
            for fault in self.faults
        ]
        out += [
            f"Messages sent:            {self.sent}",
            f"Acknowledged (200):       {self.acknowledged}",
            f"Given up by the client:   {self.given_up}",
            *(f"  the library's error: {error}" for error in self.given_up_errors),
            f"Stored:                   {self.stored}"
            + (f" ({self.stored_mix.get('contact', 0)} of contacts, "
               f"{self.stored_mix.get('anonymous_account', 0)} anonymous of an account's "
               f"network, {self.stored_mix.get('unresolved', 0)} unresolved)"
               if self.stored_mix else ""),
            f"Lost:                     {self.lost}",
            f"Acknowledged, not stored: {self.acknowledged_not_stored}",
            f"Duplicated:               {self.duplicated}",
            f"HTTP answers:             {http} ({self.resent_requests} resending)",
            f"Unscored:                 {self.unscored}"
            + (f" (after the rollups alone: {self.unscored_after_settle}; then the sweep)"
               if self.swept else ""),
            f"Scores checked:           {self.scores.accounts} accounts, {self.scores.contacts} "
            f"contact sums ({self.scores.exact} values exact, {self.scores.within_tolerance} "
            f"within {data.RELATIVE_TOLERANCE:g} relative, "
            f"max {self.scores.max_relative_difference:.1e})",
            f"Mismatches:               {self.scores.mismatches}",
            f"Worker alive:             {'yes' if self.worker_ping and self.worker_task else 'NO'}"
            f" (ping {'answered' if self.worker_ping else 'unanswered'}, task "
            f"{'run' if self.worker_task else 'not run'}, started {self.worker_starts} times)",
            "Worker's tasks:           "
            + ", ".join(f"{count} {outcome.replace('_', ' ')}"
                        for outcome, count in self.worker_tasks.items()),
            f"Took:                     {self.seconds:.0f} s",
        ]  # fmt: skip
        failures = self.failures()
        out.append("Result: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
        return out


def _fault_times(options: FaultOptions) -> list[tuple[float, str]]:
    """When each fault starts: spread over 10%..70% of the traffic, in turn."""
    planned = [FAULTS[k % 3] for k in range(3 * options.rounds)]
    last = max(1, len(planned) - 1)
    return [(options.seconds * (0.1 + 0.6 * k / last), name) for k, name in enumerate(planned)]


def _migrate(environment: dict[str, str]) -> None:
    completed = subprocess.run(  # nosec B603 - our own interpreter and arguments
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR, env=environment, capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise BenchmarkError(
            "migrate failed:\n" + completed.stderr.decode(errors="replace")[-3000:]
        )


def _broker(url: str) -> Celery:
    return Celery("faults-check", broker=url, set_as_current=False)


def _worker_alive(url: str, worker: CeleryWorker, port: int, report: FaultReport) -> None:
    """A ping answered, and a task (the heartbeat) run: its row written."""
    app = _broker(url)
    with app.connection_for_write(url) as connection:
        report.worker_ping = any(
            worker.hostname in answer
            for answer in app.control.ping(
                destination=[worker.hostname], timeout=10.0, limit=1, connection=connection
            )
            or []
        )
        sent_at = time.time()
        app.send_task("config.worker_heartbeat_record", connection=connection)
    deadline = time.monotonic() + WORKER_TASK_SECONDS
    with data.private_database(port):
        while time.monotonic() < deadline:
            beat = WorkerHeartbeat.objects.filter(hostname=worker.hostname).first()
            if beat is not None and beat.seen_at.timestamp() >= sent_at - 1:
                report.worker_task = True
                break
            time.sleep(0.25)


def _settle(url: str, port: int, report: FaultReport, say: Callable[[str], None]) -> None:
    """Wait for the rollups the ingest scheduled to claim everything; if some
    activity is still pending, run the sweep the beat runs every minute."""
    deadline = time.monotonic() + SETTLE_SECONDS
    with data.private_database(port):
        while (pending := data.unscored()) and time.monotonic() < deadline:
            time.sleep(0.5)
    report.unscored_after_settle = pending
    if pending:
        say(f"{pending} activities still pending after {SETTLE_SECONDS:.0f}s: running the sweep")
        report.swept = True
        app = _broker(url)
        with app.connection_for_write(url) as connection:
            app.send_task("engagement.scores_rollup_all", connection=connection)
        deadline = time.monotonic() + SETTLE_SECONDS
        with data.private_database(port):
            while (pending := data.unscored()) and time.monotonic() < deadline:
                time.sleep(0.5)
    report.unscored = pending


def _count(report: FaultReport, traffic: Traffic, seeded: data.Seeded, port: int) -> None:
    log = traffic.log
    with data.private_database(port):
        stored = data.stored_message_ids(source_id=seeded.source_id)
        report.stored_mix = data.stored_mix(source_id=seeded.source_id)
        report.scores = data.scores_against_recompute(segment_id=seeded.segment_id)
    sent = log.enqueued
    report.sent = len(sent)
    report.refused_by_client_queue = len(log.refused_by_queue)
    report.acknowledged = len(log.acknowledged)
    report.given_up = len(log.given_up)
    report.given_up_errors = list(log.errors)
    report.stored = len(stored)
    report.stored_rows = sum(stored.values())
    report.duplicated = sum(count - 1 for count in stored.values())
    report.lost = len(sent - stored.keys())
    report.acknowledged_not_stored = len(log.acknowledged - stored.keys())
    report.unexpected = len(stored.keys() - sent)
    report.statuses = {str(status): count for status, count in sorted(log.statuses.items())}
    report.resent_requests = log.resent_requests


def run(
    options: FaultOptions,
    progress: Callable[[str], None] = lambda _line: None,
    *,
    logs: Path | None = None,
) -> FaultReport:
    """Run the check; the report says what passed. Raises BenchmarkError when a
    service cannot be started at all. `logs`: a directory to copy the worker's,
    PostgreSQL's and redis-server's logs to."""
    report = FaultReport(options=options)
    began = time.monotonic()

    def say(line: str) -> None:
        progress(f"[{time.monotonic() - began:5.1f}s] {line}")

    with tempfile.TemporaryDirectory(prefix="engage-faults-") as temporary, ExitStack() as stack:
        directory = Path(temporary)
        if logs is not None:
            # Registered first, so run last: after every process has stopped.
            stack.callback(_logs_copy, directory, logs)
        (directory / "postgres").mkdir()
        (directory / "redis").mkdir()
        postgres = PrivatePostgres(directory / "postgres")
        stack.callback(_quietly, postgres.stop)
        postgres.create()
        redis = PrivateRedis(directory / "redis")
        stack.callback(_quietly, redis.stop)
        redis.start()
        say(f"PostgreSQL on port {postgres.port}, redis-server on port {redis.port} ({directory})")

        broker = redis.url(0)
        environment = {
            **server_environment(
                {"NAME": "engage_faults", "USER": "postgres", "HOST": HOST, "PORT": postgres.port}
            ),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CELERY_BROKER_URL": broker,
            "CACHE_URL": redis.url(1),
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("EXTRA_TEST_BROKER_URLS", "REQUIRE_SERVICES"):
            environment.pop(name, None)
        _migrate(environment)
        with data.private_database(postgres.port):
            seeded = data.seed(
                accounts=options.accounts, contacts_per_account=options.contacts_per_account
            )
        say(f"migrated and seeded {options.accounts} accounts, {len(seeded.users)} contacts")

        worker = CeleryWorker(directory, environment, concurrency=options.worker_concurrency)
        stack.callback(_quietly, worker.stop)
        worker.start()
        server = stack.enter_context(
            gunicorn_serving(
                GunicornConfig(workers=options.workers, threads=options.threads),
                environment=environment,
                ready=lambda _host, port: server_ready(port, seeded.write_key),
            )
        )
        traffic = Traffic(
            host=f"http://{HOST}:{server.port}", write_key=seeded.write_key, users=seeded.users,
            addresses=seeded.addresses,
            messages=options.messages, seconds=options.seconds,
        )  # fmt: skip
        stack.callback(traffic.close)
        say(f"sending {options.messages} messages over {options.seconds:.0f}s")
        traffic.start()
        started = time.monotonic()
        for k, (at, name) in enumerate(_fault_times(options)):
            pause = started + at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            begin = time.monotonic()
            detail = ""
            if name == "worker killed":
                held = worker.unfinished_tasks()
                worker.kill()
                time.sleep(DOWN_SECONDS)
                worker.start()
                detail = (
                    f"SIGKILL to the worker and its pool, holding {len(held)} unfinished "
                    f"task{'s' if len(held) != 1 else ''}"
                    + (f": {', '.join(task.split('[')[0] for task in held)}" if held else "")
                )
            elif name == "postgresql restarted":
                mode = "fast" if (k // 3) % 2 == 0 else "immediate"
                postgres.stop(mode)
                time.sleep(DOWN_SECONDS)
                postgres.start()
                detail = f"pg_ctl stop -m {mode}, start"
            else:
                redis.stop()
                time.sleep(DOWN_SECONDS)
                redis.start()
                detail = "SIGTERM, start"
            fault = Fault(name=name, at=begin - started, outage=time.monotonic() - begin,
                          detail=detail)  # fmt: skip
            report.faults.append(fault)
            say(f"{fault.at:6.1f} s  {name}, back after {fault.outage:.1f} s")
        report.drained = traffic.finish(timeout=options.seconds + 600)
        say(f"traffic done after {time.monotonic() - started:.0f}s; waiting for the rollups")
        _settle(broker, postgres.port, report, say)
        _worker_alive(broker, worker, postgres.port, report)
        report.worker_starts = worker.starts
        report.worker_tasks = worker.task_outcomes()
        traffic.close()
        _count(report, traffic, seeded, postgres.port)
    report.seconds = time.monotonic() - began
    return report


def _quietly(stop: Callable[[], None]) -> None:
    """Cleanup goes on when one service's stop fails (it may be down already)."""
    try:
        stop()
    except (BenchmarkError, OSError, subprocess.SubprocessError) as problem:
        print(f"faults_check cleanup: {problem}", file=sys.stderr)


def _logs_copy(directory: Path, logs: Path) -> None:
    logs.mkdir(parents=True, exist_ok=True)
    for log in (directory / "worker.log", directory / "postgres" / "postgres.log",
                directory / "redis" / "redis.log"):  # fmt: skip
        if log.exists():
            shutil.copyfile(log, logs / log.name)
