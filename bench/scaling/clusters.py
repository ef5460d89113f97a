"""A PostgreSQL primary and a streaming standby of the benchmark's own
(`bench.postgres`: a temporary directory, the postgres user, loopback and free
ports, stopped and removed at the end, on error too): the machine's cluster
allows no replication connection, and system configuration is not changed
for a benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bench import BenchmarkError
from bench.postgres import (
    DATABASE,
    PG_BIN,
    SUPERUSER,
    Cluster,
    cluster_init,
    clusters_directory,
    run_as_postgres,
)
from bench.server import HOST, free_port

PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup")
# wal_level replica and wal senders are the defaults of PostgreSQL 15; stated
# so that the primary's setup does not depend on them.
REPLICATION_SETTINGS = {"wal_level": "replica", "max_wal_senders": "4", "hot_standby": "on"}

__all__ = ["DATABASE", "PG_BIN", "Cluster", "primary_and_standby", "programs_missing"]


def programs_missing() -> list[str]:
    """The server programs the replica step needs and this machine lacks."""
    return [name for name in PROGRAMS if not (PG_BIN / name).exists()]


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
    with clusters_directory("wt-scaling-pg-") as (directory, started):
        primary = Cluster(
            "primary", directory / "primary", free_port(), settings=REPLICATION_SETTINGS
        )
        cluster_init(primary)
        with (primary.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"\n# bench scaling: the standby's stream\nhost replication {SUPERUSER} "
                      f"{HOST}/32 trust\n")  # fmt: skip
        started.append(primary)  # before it starts: see bench.postgres.private_cluster
        primary.start()
        primary.admin(f"CREATE DATABASE {DATABASE}")

        def make_standby() -> Cluster:
            standby = Cluster(
                "standby", directory / "standby", free_port(), settings=REPLICATION_SETTINGS
            )
            run_as_postgres([str(PG_BIN / "pg_basebackup"), "-h", HOST, "-p", str(primary.port),
                             "-U", SUPERUSER, "-D", str(standby.data), "-R", "-X", "stream", "-c",
                             "fast", "--no-sync"], what="pg_basebackup")  # fmt: skip
            started.append(standby)
            standby.start()
            return standby

        yield primary, make_standby
