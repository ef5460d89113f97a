from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from bench.server import server_environment
from config.web_connections import WEB_PARALLEL_SETUP_COST

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.services
@pytest.mark.django_db
def test_postgresql_connections_carry_the_statement_timeout(postgresql: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (value,) = cursor.fetchone()
    assert value == f"{settings.STATEMENT_TIMEOUT_MS}ms" or value == (
        f"{settings.STATEMENT_TIMEOUT_MS // 1000}s"
    )


def test_postgresql_connections_are_health_checked_before_reuse() -> None:
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


@pytest.mark.services
@pytest.mark.django_db
def test_postgresql_connections_run_without_jit(postgresql: None) -> None:
    # docs/benchmarks.md "JIT": compiling cost more than it saved on every
    # page and on the recompute.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        (value,) = cursor.fetchone()
    assert value == "off"


# What a process that loaded the WSGI application (gunicorn's workers,
# runserver) reads on a connection it opens.
SHOW_FROM_A_WEB_PROCESS = """
import config.wsgi
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SHOW parallel_setup_cost")
    print(cursor.fetchone()[0])
"""


@pytest.mark.services
@pytest.mark.django_db
def test_web_processes_start_parallel_workers_only_for_large_reads(postgresql: None) -> None:
    # docs/benchmarks.md "Parallel workers for small reads": at 10M the
    # planner ran a page's small reads in workers whose start cost more
    # than the read.
    served = subprocess.run(
        [sys.executable, "-c", SHOW_FROM_A_WEB_PROCESS],
        cwd=PROJECT,
        env=server_environment(connection.settings_dict),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert served.returncode == 0, served.stderr
    assert float(served.stdout.strip()) == WEB_PARALLEL_SETUP_COST == 10_000


@pytest.mark.services
@pytest.mark.django_db
def test_workers_and_commands_keep_postgresqls_parallel_setup_cost(postgresql: None) -> None:
    # The same setting on the recompute's and the rollup's connections cost
    # them 40% at 10M: only the web's connections carry it.
    with connection.cursor() as cursor:
        cursor.execute("SHOW parallel_setup_cost")
        (value,) = cursor.fetchone()
        cursor.execute("SELECT boot_val FROM pg_settings WHERE name = 'parallel_setup_cost'")
        (default,) = cursor.fetchone()
    assert float(value) == float(default) == 1000
