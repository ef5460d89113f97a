"""PostgreSQL clusters of a benchmark's own, in a temporary directory: the
machine's cluster runs at whatever settings it was given (PostgreSQL's defaults
here, 128 MB of shared_buffers), and system configuration is not changed for a
benchmark.

`initdb` refuses to run as root, so as root every server program runs as the
postgres user (`runuser`); the directory is handed to that user. A cluster
listens on 127.0.0.1 and a free port, with its socket in the directory, trusts
loopback connections, and is stopped and removed when its block ends, on error
too. `bench.scaling.clusters` builds a primary and a streaming standby on it;
the pages benchmark runs on one cluster with `SETUPS`' settings.

Also here: `migrate` (the product's migrations applied to a cluster's
database, by `manage.py migrate` with its DATABASE_URL, as a deployment does)
and `default_database` (the default connection pointed at another database
for a block: what the seeds, the selectors and gunicorn's DATABASE_URL use).
"""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections
from django.db.utils import load_backend

from bench import BenchmarkError
from bench.server import HOST, database_url, free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"
DATABASE = "wt_scaling_replica"

# Settings for this machine (2 cores, 24 GB, an SSD), for a cluster that the
# benchmark has to itself. Each is a setting of the deployment
# (docs/operations.md); stated here once, with why.
TUNED: dict[str, str] = {
    # A quarter of the memory, the usual start: the 1M dataset (about 1.5 GB)
    # fits whole, and the 10M one's hot part (indexes, the year's snapshots).
    "shared_buffers": "6GB",
    # What the planner may count on being cached, shared_buffers and the OS
    # page cache together: two thirds of the memory.
    "effective_cache_size": "16GB",
    # Per sort or hash node: the reports' GROUP BY over the year's snapshots
    # spilled to disk at the default 4 MB.
    "work_mem": "64MB",
    # VACUUM, CREATE INDEX and ANALYZE after the seeding's COPY.
    "maintenance_work_mem": "1GB",
    # The seeding writes gigabytes: no checkpoint forced by WAL volume in the
    # middle of a timed step.
    "max_wal_size": "8GB",
    # Nor by time, during a run of about half an hour a size.
    "checkpoint_timeout": "30min",
    # An SSD: a random read costs little more than a sequential one.
    "random_page_cost": "1.1",
    # The product sets jit=off on its own connections anyway (its planner
    # costs at 1M crossed jit_above_cost for no gain); off here for the
    # benchmark's own statements too.
    "jit": "off",
}
# The pages benchmark's choices of PostgreSQL (`--postgres`): `machine` is the
# Django database (DATABASE_URL), on the machine's cluster as it is; `tuned` a
# cluster of its own with TUNED; `defaults` a cluster of its own with
# PostgreSQL's defaults, so that what memory costs is measured on the same
# footing as `tuned` (same fresh cluster, same disk, only the settings differ).
PRIVATE_SETUPS: dict[str, dict[str, str]] = {"tuned": TUNED, "defaults": {}}
SETUPS: tuple[str, ...] = ("machine", *PRIVATE_SETUPS)
# The settings reported with every result: TUNED's, whatever their values.
REPORTED_SETTINGS: tuple[str, ...] = ("server_version", *TUNED)


def programs_missing(programs: Sequence[str] = ("initdb", "pg_ctl")) -> list[str]:
    """The server programs named that this machine lacks."""
    return [name for name in programs if not (PG_BIN / name).exists()]


def run_as_postgres(command: Sequence[str], *, what: str) -> None:
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
    # Server settings on top of the listening ones (-c name=value at start).
    settings: Mapping[str, str] = field(default_factory=dict)

    def options(self) -> str:
        given = "".join(f" -c {name}={value}" for name, value in self.settings.items())
        return (
            f"-c port={self.port} -c listen_addresses={HOST} "
            f"-c unix_socket_directories={self.data.parent}{given}"
        )

    def start(self) -> None:
        run_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                         str(self.data.parent / f"{self.name}.log"), "-o", self.options(),
                         "-w", "-t", "120", "start"], what=f"starting the {self.name}")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            run_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                             "stop"], what=f"stopping the {self.name}")  # fmt: skip

    def settings_dict(self, base: Mapping[str, Any], *, database: str = DATABASE) -> dict[str, Any]:
        """Django connection settings for `database` on this cluster, from `base`
        (the default connection's: engine, options, time zone)."""
        # The clusters trust loopback connections (initdb -A trust): no password.
        return {**base, "HOST": HOST, "PORT": str(self.port), "NAME": database,
                "USER": SUPERUSER, "PASSWORD": "", "CONN_MAX_AGE": 0}  # fmt: skip  # nosec B105

    def connect(self, database: str = DATABASE) -> Any:
        link = psycopg2.connect(host=HOST, port=self.port, user=SUPERUSER, dbname=database)
        link.autocommit = True
        return link

    def admin(self, sql: str) -> None:
        """One statement in the `postgres` database (CREATE or DROP DATABASE)."""
        link = self.connect("postgres")
        try:
            with link.cursor() as cursor:
                cursor.execute(sql)
        finally:
            link.close()

    def shown(self, names: Sequence[str], *, database: str = "postgres") -> dict[str, str]:
        """SHOW of each named setting, as text."""
        link = self.connect(database)
        try:
            with link.cursor() as cursor:
                values = {}
                for name in names:
                    cursor.execute(f"SHOW {name}")
                    values[name] = str((cursor.fetchone() or [""])[0])
                return values
        finally:
            link.close()


def cluster_init(cluster: Cluster) -> None:
    run_as_postgres([str(PG_BIN / "initdb"), "-D", str(cluster.data), "-U", SUPERUSER, "-A",
                     "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                     "--no-instructions"], what="initdb")  # fmt: skip


@contextmanager
def clusters_directory(prefix: str) -> Iterator[tuple[Path, list[Cluster]]]:
    """A temporary directory the postgres user owns, and the list of clusters
    started in it: each is stopped (fast, else immediate) and the directory
    removed when the block ends, on error too."""
    missing = programs_missing()
    if missing:
        raise BenchmarkError(f"{', '.join(missing)} missing from {PG_BIN} (postgresql-15)")
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    started: list[Cluster] = []
    try:
        if os.geteuid() == 0:
            shutil.chown(directory, user=SUPERUSER, group=SUPERUSER)
        yield directory, started
    finally:
        for cluster in reversed(started):
            try:
                cluster.stop()
            except BenchmarkError:
                cluster.stop("immediate")  # a server left running would outlive its files
        # A server stopped while it was starting can still be removing its
        # socket and lock files as the tree goes: an empty directory was left.
        for _ in range(50):
            shutil.rmtree(directory, ignore_errors=True)
            if not directory.exists():
                break
            time.sleep(0.1)


@contextmanager
def private_cluster(name: str, *, server_settings: Mapping[str, str]) -> Iterator[Cluster]:
    """A running cluster of its own with `server_settings` (PostgreSQL's defaults for
    the rest); stopped and removed at the end."""
    with clusters_directory(f"wt-bench-pg-{name}-") as (directory, started):
        cluster = Cluster(name, directory / name, free_port(), settings=dict(server_settings))
        cluster_init(cluster)
        # Listed before it starts: a stop (SIGTERM) while it starts must stop it
        # too (`Cluster.stop` does nothing before the server wrote its pid file).
        started.append(cluster)
        cluster.start()
        yield cluster


def migrate(settings_dict: Mapping[str, Any]) -> None:
    """`manage.py migrate` on the database of `settings_dict`, as a deployment
    runs it (another process, its DATABASE_URL)."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DATABASE_URL": database_url(settings_dict),
        "SECRET_KEY": str(settings.SECRET_KEY),
    }
    done = subprocess.run(  # nosec B603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=900,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise BenchmarkError(f"migrate on {settings_dict['NAME']} failed:\n{done.stderr[-3000:]}")


@contextmanager
def default_database(settings_dict: Mapping[str, Any]) -> Iterator[None]:
    """Point the default connection at another database for the block (what
    seeds and selectors use is `django.db.connection`). ContentType caches ids
    per alias: emptied on both sides of the swap."""
    working = connections["default"]
    swapped = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(
        dict(settings_dict), alias="default"
    )
    ContentType.objects.clear_cache()
    connections["default"] = swapped
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
        yield
    finally:
        swapped.close()
        connections["default"] = working
        ContentType.objects.clear_cache()
