"""Backups (issue 18, proof 6): the demo's database dumped with pg_dump as
docs/operations.md says, restored into a new database with pg_restore, holds
the same rows in every table and the same scores, and its migrations are
complete. Runs on a database of its own (made, seeded, dropped here), never
on the test database or the machine's others."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from django.conf import settings

from tests.proof_figures import record

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]


def _server() -> dict[str, Any]:
    db = settings.DATABASES["default"]
    return {
        "host": db.get("HOST") or "127.0.0.1",
        "port": str(db.get("PORT") or 5432),
        "user": db.get("USER") or "postgres",
        "password": db.get("PASSWORD") or "",
    }


def _url(name: str) -> str:
    s = _server()
    credentials = s["user"] + (f":{s['password']}" if s["password"] else "")
    return f"postgres://{credentials}@{s['host']}:{s['port']}/{name}"


def _admin(sql: str) -> None:
    conn = psycopg2.connect(dbname="postgres", **_server())
    try:
        conn.autocommit = True  # CREATE and DROP DATABASE refuse a transaction
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


def _tool_env() -> dict[str, str]:
    s = _server()
    return {**os.environ, "PGPASSWORD": s["password"]}


@pytest.fixture
def databases(postgresql: None) -> Iterator[tuple[str, str]]:
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (Debian: postgresql-client)")
    tag = f"{os.getpid()}"
    source, restored = f"engage_backup_source_{tag}", f"engage_backup_restored_{tag}"
    for name in (source, restored):
        _admin(f'DROP DATABASE IF EXISTS "{name}"')
        _admin(f'CREATE DATABASE "{name}"')
    try:
        yield source, restored
    finally:
        for name in (source, restored):
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(database: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": _url(database), "SECRET_KEY": "backup-test", "DEBUG": "0"}
    env.pop("CELERY_BROKER_URL", None)  # the demo's work runs in this process
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
        capture_output=True, timeout=600,
    )  # fmt: skip


def _snapshot(database: str) -> tuple[dict[str, int], str]:
    """Every table's row count, and a checksum of every stored score."""
    conn = psycopg2.connect(dbname=database, **_server())
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - names from the catalog
            counts[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT md5(string_agg(account_id || ':' || segment_id || ':' || score || ':' "
            "|| raw_score, ',' ORDER BY account_id, segment_id)) FROM engagement_accountengagement"
        )
        scores = cursor.fetchone()[0]
    conn.close()
    return counts, scores


def test_a_dump_restored_into_a_new_database_has_every_row_and_score(
    databases: tuple[str, str], tmp_path: Path
) -> None:
    source, restored = databases
    _manage(source, "migrate", "--noinput")
    _manage(source, "seed_demo", "--accounts", "10")
    dump = tmp_path / "engage.dump"
    s = _server()
    connection = ["--host", s["host"], "--port", s["port"], "--username", s["user"]]
    subprocess.run(
        ["pg_dump", *connection, "--format=custom", "--file", str(dump), source],
        check=True, env=_tool_env(), timeout=300,
    )  # fmt: skip
    subprocess.run(
        ["pg_restore", *connection, "--no-owner", "--dbname", restored, str(dump)],
        check=True, env=_tool_env(), timeout=300,
    )  # fmt: skip
    before, after = _snapshot(source), _snapshot(restored)
    counts, scores = before
    assert counts["accounts_account"] == 10 and counts["engagement_activity"] > 0
    assert counts["engagement_accountengagement"] > 0 and scores is not None
    assert after == before
    # The restored database needs no migration: it is the schema this code expects.
    _manage(restored, "migrate", "--check")
    record(
        "backup",
        f"dump of {len(counts)} tables, {sum(counts.values()):,} rows "
        f"({counts['engagement_activity']:,} activities, "
        f"{counts['engagement_accountengagement']:,} scores) restored: "
        f"0 tables differ, score checksum equal ({scores[:12]}), migrate --check clean",
    )
