"""The real services some tests need beyond this process: skip (or, under
REQUIRE_SERVICES=1, fail) when one is missing, and run a real Celery worker
process on a broker. The fixtures built on these live in tests/conftest.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection
from kombu import Queue

PROJECT = Path(__file__).resolve().parents[1]


def require_service(reason: str) -> None:
    """Skip a test whose service is missing, or fail it under REQUIRE_SERVICES=1."""
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


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


@contextmanager
def worker_process(
    url: str,
    log: Path,
    *,
    pool: str = "solo",
    concurrency: int = 1,
    queues: tuple[str, ...] | None = None,
) -> Iterator[tuple[str, str, str, Path, subprocess.Popen[bytes]]]:
    """Run `celery worker` on a private queue of the broker at `url` (or on
    `queues`; () for no -Q, every declared queue, as `make worker` runs); yield
    (broker, queue, node name, log, process) once it is ready."""
    private = queues is None
    queue = f"test-{uuid.uuid4().hex[:12]}" if private else ",".join(queues or ())
    node = f"test-{uuid.uuid4().hex[:12]}@testhost"
    listen = ["--queues", queue] if queue else []
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_for_workers(),
        "CELERY_BROKER_URL": url,
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", f"--pool={pool}",
         f"--concurrency={concurrency}", *listen, "--hostname", node, "--loglevel=INFO",
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
        yield url, queue, node, log, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if private:
            with Celery("test-cleanup").connection_for_write(url) as broker_connection:
                Queue(queue, channel=broker_connection.default_channel).delete()


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test may
    stop and start again (never the shared one other sessions use). It keeps
    its data across a restart (append-only file), as a production broker does."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes", "--appendfsync", "always",
             "--dir", str(self.directory)],
            stdout=(self.directory / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
