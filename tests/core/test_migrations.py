"""The worker heartbeat moved from config to core with its table and rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.models import WorkerHeartbeat

BEFORE = [("config", "0001_initial"), ("core", None)]
AFTER = [("config", "0002_workerheartbeat_to_core")]


@pytest.mark.django_db(transaction=True)
def test_heartbeat_rows_and_permissions_survive_the_move_to_core() -> None:
    seen = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state([("config", "0001_initial")]).apps
    old.get_model("config", "WorkerHeartbeat").objects.create(hostname="w1", seen_at=seen)
    ContentType.objects.filter(model="workerheartbeat").delete()
    old_type = ContentType.objects.create(app_label="config", model="workerheartbeat")
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        with pytest.raises(LookupError):
            new.get_model("config", "WorkerHeartbeat")
        assert new.get_model("core", "WorkerHeartbeat")._meta.db_table == "config_workerheartbeat"
        with connection.cursor() as cursor:
            cursor.execute("SELECT hostname, seen_at FROM config_workerheartbeat")
            rows = cursor.fetchall()
        assert [(hostname, _aware(at)) for hostname, at in rows] == [("w1", seen)]
        old_type.refresh_from_db()
        assert old_type.app_label == "core"
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
    assert list(WorkerHeartbeat.objects.values_list("hostname", flat=True)) == ["w1"]


def _aware(value: dt.datetime | str) -> dt.datetime:
    # SQLite hands back text, PostgreSQL an aware datetime.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
