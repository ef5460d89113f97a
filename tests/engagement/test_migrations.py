"""Migrations of the rollup's claims on a table that already holds activity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("engagement", "0008_alert_model_version")]
AFTER = [("engagement", "0009_rollup_claims")]


def _migrated_forward() -> None:
    """Back to the latest migrations, for the tests that follow."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _migrated_back_with_a_source(target: list[tuple[str, str]]) -> tuple[Any, Any]:
    """Migrate the database back to `target`; return that state's Activity model
    and a Source created in it."""
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    old = executor.loader.project_state(target).apps
    source = old.get_model("engagement", "Source").objects.create(
        name="Old", write_key_hash="h" * 64, write_key_prefix="h"
    )
    return old.get_model("engagement", "Activity"), source


@pytest.mark.django_db(transaction=True)
def test_stored_activity_counts_as_claimed_and_new_activity_as_pending() -> None:
    activity, source = _migrated_back_with_a_source(BEFORE)
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
        _migrated_forward()


PENDING_BEFORE = [("engagement", "0022_account_readiness_roles")]
PENDING_AFTER = [("engagement", "0023_activity_pending")]


@pytest.mark.django_db(transaction=True)
def test_activity_pending_moves_to_its_own_table_and_back() -> None:
    activity, source = _migrated_back_with_a_source(PENDING_BEFORE)
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for message_id, batch in (
        ("claimed", 5),
        ("history", 0),
        ("pending-1", None),
        ("pending-2", None),
    ):
        activity.objects.create(
            source=source, message_id=message_id, type="page_view", occurred_at=at,
            rollup_batch=batch,
        )  # fmt: skip
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(PENDING_AFTER)
        new = executor.loader.project_state(PENDING_AFTER).apps
        pending = new.get_model("engagement", "ActivityPending")
        new.get_model("engagement", "Activity").objects.create(
            source_id=source.pk, message_id="new", type="page_view", occurred_at=at
        )
        # The rows that were pending, and the one stored since (by the trigger).
        assert sorted(
            pending.objects.filter(batch=None).values_list("activity__message_id", flat=True)
        ) == ["new", "pending-1", "pending-2"]
        assert pending.objects.count() == 3

        executor = MigrationExecutor(connection)
        executor.migrate(PENDING_BEFORE)
        # Backwards: pending rows null again, the rest claimed (batch 0, as 0009 marks).
        assert dict(activity.objects.values_list("message_id", "rollup_batch")) == {
            "claimed": 0, "history": 0, "pending-1": None, "pending-2": None, "new": None,
        }  # fmt: skip
    finally:
        _migrated_forward()
