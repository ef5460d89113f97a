"""The claims migration on a table that already holds activity."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("engagement", "0008_alert_model_version")]
AFTER = [("engagement", "0009_rollup_claims")]


@pytest.mark.django_db(transaction=True)
def test_stored_activity_counts_as_claimed_and_new_activity_as_pending() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    source = old.get_model("engagement", "Source").objects.create(
        name="Old", write_key_hash="h" * 64, write_key_prefix="h"
    )
    activity = old.get_model("engagement", "Activity")
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    activity.objects.create(source=source, message_id="old", type="page_view", occurred_at=at)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("engagement", "Activity")
        new.objects.create(source_id=source.pk, message_id="new", type="page_view", occurred_at=at)
        # Raw inserts that name no batch (the tracking path's) are pending too.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO engagement_activity (source_id, message_id, type, occurred_at,"
                " received_at, anonymous_id, tracking_key, event_name, properties,"
                " excluded_reason) VALUES (%s, 'raw', 'page_view', %s, %s, '', '', '', '{}', '')",
                [source.pk, at, at],
            )
        assert dict(new.objects.values_list("message_id", "rollup_batch")) == {
            "old": 0,
            "new": None,
            "raw": None,
        }
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
