"""The services the fault check starts for itself and then breaks: a PostgreSQL
cluster (`initdb` into a temporary directory), a redis-server as the broker and
a `celery -A config worker`, each on a free loopback port, never the machine's
shared ones. Each can be stopped and started again; `stop` is safe to call
twice and is what the check's cleanup calls.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess  # nosec B404 - starts our own services and interpreter
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings

from bench import BenchmarkError
from bench.server import HOST, free_port

STOP_SECONDS = 20
# The worker's log lines (loglevel INFO) of a task received and finished.
RECEIVED = re.compile(r"Task ([\w.]+\[[\w-]+\]) received")
FINISHED = re.compile(r"Task ([\w.]+\[[\w-]+\]) (?:succeeded|failed|raised|retry)")
RAISED = re.compile(r"Task ([\w.]+\[[\w-]+\]) raised unexpected: (\w+)")


def postgres_bindir() -> Path | None:
    """Where initdb, pg_ctl and createdb are: next to the initdb on PATH (links
    followed), or Debian's newest /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("initdb")
    if on_path:
        bindir = Path(on_path).resolve().parent
        if all((bindir / program).exists() for program in ("pg_ctl", "createdb")):
            return bindir
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def missing_programs() -> list[str]:
    """What the check needs and this machine lacks (empty when it can run)."""
    missing = [] if postgres_bindir() else ["initdb and pg_ctl (PostgreSQL server binaries)"]
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    return missing


def _log_tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


def _wait_port(port: int, seconds: float, *, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise BenchmarkError(
                    f"{what} did not listen within {seconds:.0f}s:\n{_log_tail(log)}"
                ) from None
            time.sleep(0.1)


class PrivatePostgres:
    """A PostgreSQL cluster of the check's own. PostgreSQL refuses to run as
    root, so as root the cluster belongs to the `postgres` user and its
    programs run through `runuser`. Trust authentication, loopback only."""

    def __init__(self, directory: Path) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise BenchmarkError("PostgreSQL's initdb and pg_ctl were not found")
        self.bindir = bindir
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise BenchmarkError(
                    "running as root, PostgreSQL needs a `postgres` user to run as"
                ) from None
            os.chown(directory, owner.pw_uid, owner.pw_gid)
            # The temporary directory it sits in is root's (mode 700): let
            # postgres through it, not read it.
            directory.parent.chmod(0o711)
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/engage_faults"

    def _run(self, *arguments: str, timeout: float = 120) -> None:
        completed = subprocess.run(  # noqa: S603 - PostgreSQL's own programs, our arguments  # nosec B603
            [*self._as, *arguments],
            cwd=self.directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise BenchmarkError(
                f"{Path(arguments[0]).name} failed:\n{completed.stdout.decode(errors='replace')}"
                f"\n{_log_tail(self.log)}"
            )

    def create(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        self.start()
        self._run(
            str(self.bindir / "createdb"), "-h", HOST, "-p", str(self.port), "-U", "postgres",
            "engage_faults",
        )  # fmt: skip

    def _options(self) -> str:
        # fsync off: the machine does not crash here, only the server does, and
        # what a stopped server wrote stays in the page cache for the next one.
        return (
            f"-p {self.port} -c listen_addresses={HOST} -k {self.directory} "
            "-c fsync=off -c full_page_writes=off -c max_connections=100"
        )

    def start(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", self._options(),
            "-l", str(self.log), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        # Whenever a pid file is there: a start interrupted half-way (Ctrl-C
        # during pg_ctl) may have left a server running.
        if not (self.data / "postmaster.pid").exists():
            return
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"
        )


class PrivateRedis:
    """A redis-server of the check's own, as the broker (and the cache). It
    keeps its data across a restart (append-only file), as a production broker
    does; no RDB snapshots."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.log = directory / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self) -> None:
        redis_server = shutil.which("redis-server") or "redis-server"
        with self.log.open("a") as log:
            self.process = subprocess.Popen(  # noqa: S603 - redis-server, our arguments  # nosec B603
                [redis_server, "--port", str(self.port), "--bind", HOST, "--save", "",
                 "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no",
                 "--dir", str(self.directory)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        _wait_port(self.port, 20, what="redis-server", log=self.log)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: redis writes its append-only
        file and exits."""
        if self.process is None:
            return
        _terminate(self.process)
        self.process = None


class CeleryWorker:
    """`celery -A config worker` with prefork processes, as production runs it
    on this machine, in a process group of its own so that a SIGKILL takes the
    pool's children with it, as when a machine or container dies."""

    def __init__(
        self, directory: Path, environment: Mapping[str, str], *, concurrency: int
    ) -> None:
        self.environment = dict(environment)
        self.concurrency = concurrency
        self.log = directory / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.hostname = "faults@check"

    def start(self) -> None:
        self.starts += 1
        marker = f"--- start {self.starts} ---\n"
        with self.log.open("a") as log:
            log.write(marker)
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments  # nosec B603
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
                 f"--concurrency={self.concurrency}", "--hostname", self.hostname,
                 "--loglevel=INFO", "--without-gossip", "--without-mingle"],
                cwd=settings.BASE_DIR,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while (
            f"{self.hostname} ready." not in self.log.read_text(errors="replace").split(marker)[-1]
        ):
            if self.process.poll() is not None:
                raise BenchmarkError(f"the worker exited:\n{_log_tail(self.log)}")
            if time.monotonic() > deadline:
                raise BenchmarkError(f"the worker was not ready within 60s:\n{_log_tail(self.log)}")
            time.sleep(0.1)

    def unfinished_tasks(self) -> list[str]:
        """The tasks this start of the worker received and has not finished
        (by its log): running, or waiting for their countdown."""
        started = self.log.read_text(errors="replace").split(f"--- start {self.starts} ---\n")[-1]
        received = RECEIVED.findall(started)
        finished = set(FINISHED.findall(started))
        return [task for task in received if task not in finished]

    def task_outcomes(self) -> dict[str, int]:
        """Over every start, by the log: tasks received, succeeded, raised (by
        exception), and never finished (held when the worker was killed or its
        broker connection dropped: the broker gives them out again after its
        visibility timeout)."""
        text = self.log.read_text(errors="replace")
        received = set(RECEIVED.findall(text))
        finished = set(FINISHED.findall(text))
        outcomes = {
            "received": len(received),
            "succeeded": len(re.findall(r"\] succeeded in ", text)),
            "never_finished": len(received - finished),
        }
        for _task, exception in RAISED.findall(text):
            outcomes[f"raised {exception}"] = outcomes.get(f"raised {exception}", 0) + 1
        return outcomes

    def kill(self) -> None:
        """SIGKILL to the worker and its pool processes: no warm shutdown, the
        tasks it held unacknowledged stay with the broker."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        _terminate(self.process)
        self.process = None


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group, then SIGKILL if it has not exited in time."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
