"""gunicorn on loopback, for benchmarks that drive the real HTTP stack.

The server runs `config.wsgi` as production does (DEBUG off), pointed at the
database this process uses, on 127.0.0.1 and a free port. Plain HTTP on
loopback, so the HTTPS redirect is turned off for it (HSTS is only ever sent on
HTTPS responses, and is off too).
"""

from __future__ import annotations

import os
import socket
import subprocess  # nosec B404
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings

from bench import BenchmarkError
from engagement.models import Source
from engagement.services.sources import IssuedSource, source_create

HOST = "127.0.0.1"


@dataclass(frozen=True)
class GunicornConfig:
    """Sync-style threaded workers (gthread): each thread serves one request at a
    time and idle keep-alive connections wait in the worker's poller."""

    workers: int
    threads: int
    keep_alive_seconds: int = 30

    def describe(self) -> str:
        return f"gunicorn gthread, {self.workers} workers x {self.threads} threads"

    def as_dict(self) -> dict[str, Any]:
        return {
            "worker_class": "gthread",
            "workers": self.workers,
            "threads": self.threads,
            "keep_alive_seconds": self.keep_alive_seconds,
        }


def database_url(database: Mapping[str, Any]) -> str:
    """A DATABASE_URL for the connection settings this process uses (in tests,
    the test database), so the server writes where the benchmark reads."""
    user = quote(str(database.get("USER") or ""), safe="")
    password = quote(str(database.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(str(database.get("HOST") or "localhost"), safe="")
    port = database.get("PORT") or "5432"
    name = quote(str(database["NAME"]), safe="")
    return f"postgres://{credentials}{host}:{port}/{name}"


def server_environment(database: Mapping[str, Any]) -> dict[str, str]:
    """This process's environment, in production mode, for loopback HTTP."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DEBUG": "0",
        "SECRET_KEY": str(settings.SECRET_KEY),
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_URL": database_url(database),
        "LOG_LEVEL": "WARNING",
        # Keep each worker's database connection for the whole run: a backend
        # that exits mid-run takes its CPU time with it, out of the figures.
        "DB_CONN_MAX_AGE": "3600",
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class RunningServer:
    port: int
    pid: int


def _tail(log: Any, limit: int = 4000) -> str:
    log.flush()
    log.seek(0)
    return bytes(log.read()).decode(errors="replace")[-limit:]


@contextmanager
def process_serving(
    command: Sequence[str],
    *,
    what: str,
    ready: Callable[[], bool],
    environment: Mapping[str, str] | None = None,
    startup_seconds: float = 60.0,
    poll_seconds: float = 0.1,
    stop_seconds: float = 20.0,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command` (its output to `log`, or a temporary file) and yield the process
    once `ready()` is true; stop it when the block ends, on error too (SIGTERM,
    then SIGKILL after `stop_seconds`). `ready` may raise OSError while the
    program is starting. The bench's servers, gunicorn, redis-server and Celery
    workers, all start this way."""
    with log.open("w+b") if log else tempfile.TemporaryFile() as output:
        process = subprocess.Popen(  # noqa: S603 - our own programs and arguments  # nosec B603
            list(command),
            cwd=settings.BASE_DIR,
            env=None if environment is None else dict(environment),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + startup_seconds
            while True:
                if process.poll() is not None:
                    raise BenchmarkError(
                        f"{what} exited with status {process.returncode}:\n{_tail(output)}"
                    )
                try:
                    if ready():
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise BenchmarkError(
                        f"{what} was not ready within {startup_seconds:.0f}s:\n{_tail(output)}"
                    )
                time.sleep(poll_seconds)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=stop_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def gunicorn_serving(
    config: GunicornConfig,
    *,
    environment: Mapping[str, str],
    ready: Callable[[str, int], bool],
    startup_seconds: float = 60.0,
) -> Iterator[RunningServer]:
    """Run gunicorn until the block ends; yields its port and pid once
    `ready(host, port)` is true. `ready` may raise OSError while it is starting."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(config.workers),
        "--threads",
        str(config.threads),
        "--keep-alive",
        str(config.keep_alive_seconds),
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--log-level",
        "warning",
        "--no-control-socket",
    ]
    with process_serving(
        command,
        what="gunicorn",
        ready=lambda: ready(HOST, port),
        environment=environment,
        startup_seconds=startup_seconds,
        poll_seconds=0.2,
    ) as process:
        yield RunningServer(port=port, pid=process.pid)


# The API's own per-source limit is kept in the path but set out of the way:
# a benchmark's series is many times any one source's default limit.
RATE_LIMIT_PER_SECOND = 1_000_000


def tracking_source_create(*, name: str) -> IssuedSource:
    """A source for a benchmark's tracking calls, its rate limit out of the way."""
    issued = source_create(name=name)
    Source.objects.filter(pk=issued.source.pk).update(rate_limit_per_second=RATE_LIMIT_PER_SECOND)
    return issued
