"""A PostgreSQL primary and a streaming standby of the benchmark's own, in a
temporary directory (the machine's cluster allows no replication connection,
and system configuration is not changed for a benchmark).

`initdb` refuses to run as root, so as root every server program runs as the
postgres user (`runuser`); the directory is handed to that user. Both
clusters listen on 127.0.0.1 and free ports, with their sockets in the
directory, and are stopped and removed when the block ends, on error too.
"""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2

from bench import BenchmarkError
from bench.server import HOST, free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup")
SUPERUSER = "postgres"
DATABASE = "wt_scaling_replica"


def programs_missing() -> list[str]:
    """The server programs the replica step needs and this machine lacks."""
    return [name for name in PROGRAMS if not (PG_BIN / name).exists()]


def _run(command: Sequence[str], *, what: str) -> None:
    as_user = ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []
    done = subprocess.run(  # noqa: S603 - PostgreSQL's own programs, our arguments  # nosec B603
        [*as_user, *command], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise BenchmarkError(f"{what} failed ({done.returncode}):\n{done.stderr[-3000:]}")


@dataclass(frozen=True)
class Cluster:
    name: str
    data: Path
    port: int

    def options(self) -> str:
        # wal_level replica and wal senders are the defaults of PostgreSQL 15;
        # stated so that the primary's setup does not depend on them.
        return (
            f"-c port={self.port} -c listen_addresses={HOST} "
            f"-c unix_socket_directories={self.data.parent} -c wal_level=replica "
            "-c max_wal_senders=4 -c hot_standby=on"
        )

    def start(self) -> None:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.data.parent /
              f"{self.name}.log"), "-o", self.options(), "-w", "-t", "120", "start"],
             what=f"starting the {self.name}")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
                 what=f"stopping the {self.name}")  # fmt: skip

    def settings_dict(self, base: dict[str, Any]) -> dict[str, Any]:
        """Django connection settings for this cluster's database, from `base`
        (the default connection's: engine, options, time zone)."""
        # The clusters trust loopback connections (initdb -A trust): no password.
        return {**base, "HOST": HOST, "PORT": str(self.port), "NAME": DATABASE,
                "USER": SUPERUSER, "PASSWORD": "", "CONN_MAX_AGE": 0}  # fmt: skip  # nosec B105

    def connect(self, database: str = DATABASE) -> Any:
        link = psycopg2.connect(host=HOST, port=self.port, user=SUPERUSER, dbname=database)
        link.autocommit = True
        return link


def _scalar(cluster: Cluster, sql: str, params: Sequence[Any] = ()) -> Any:
    link = cluster.connect()
    try:
        with link.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return row[0] if row else None
    finally:
        link.close()


def replayed_wait(
    *, primary: Cluster, standby: Cluster, timeout: float = 300.0, poll: float = 0.001
) -> float:
    """Seconds until the standby has replayed everything the primary wrote so far."""
    target = _scalar(primary, "SELECT pg_current_wal_lsn()")
    started = time.perf_counter()
    link = standby.connect()
    try:
        with link.cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
                row = cursor.fetchone()
                if row and row[0]:
                    return time.perf_counter() - started
                if time.perf_counter() - started > timeout:
                    raise BenchmarkError(f"the standby did not replay {target} in {timeout:.0f}s")
                time.sleep(poll)
    finally:
        link.close()


@contextmanager
def primary_and_standby() -> Iterator[tuple[Cluster, Callable[[], Cluster]]]:
    """A running primary with DATABASE created; yields (primary, make_standby):
    call make_standby() once the primary holds its data to base-backup it with
    -R and start the standby. Both are stopped and removed at the end."""
    missing = programs_missing()
    if missing:
        raise BenchmarkError(
            f"{', '.join(missing)} missing from {PG_BIN}: the replica step needs them"
        )
    directory = Path(tempfile.mkdtemp(prefix="wt-scaling-pg-"))
    started: list[Cluster] = []
    try:
        if os.geteuid() == 0:
            shutil.chown(directory, user=SUPERUSER, group=SUPERUSER)
        primary = Cluster("primary", directory / "primary", free_port())
        _run([str(PG_BIN / "initdb"), "-D", str(primary.data), "-U", SUPERUSER, "-A", "trust",
              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
             what="initdb")  # fmt: skip
        with (primary.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"\n# bench scaling: the standby's stream\nhost replication {SUPERUSER} "
                      f"{HOST}/32 trust\n")  # fmt: skip
        primary.start()
        started.append(primary)
        _scalar_admin(primary, f"CREATE DATABASE {DATABASE}")

        def make_standby() -> Cluster:
            standby = Cluster("standby", directory / "standby", free_port())
            _run([str(PG_BIN / "pg_basebackup"), "-h", HOST, "-p", str(primary.port), "-U",
                  SUPERUSER, "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast",
                  "--no-sync"], what="pg_basebackup")  # fmt: skip
            standby.start()
            started.append(standby)
            return standby

        yield primary, make_standby
    finally:
        for cluster in reversed(started):
            try:
                cluster.stop()
            except BenchmarkError:
                cluster.stop("immediate")  # a server left running would outlive its files
        shutil.rmtree(directory, ignore_errors=True)


def _scalar_admin(cluster: Cluster, sql: str) -> None:
    link = cluster.connect("postgres")
    try:
        with link.cursor() as cursor:
            cursor.execute(sql)
    finally:
        link.close()
