"""The activity table partitioned by month on PostgreSQL (issue 20), and its
idempotency key moved to a table of its own (engagement.models.ActivityMessage).

Works on a populated table, in the migration's one transaction (the table is
locked for the copy: about a minute per ten million rows on the benchmark
machine, docs/scaling.md):

1. the unique index on (source_id, message_id) goes; the keys are copied to
   engagement_activitymessage, which a BEFORE INSERT row trigger writes first
   from now on, skipping an activity whose key is there (as ON CONFLICT DO
   NOTHING did);
2. PostgreSQL: the table is renamed, a partitioned table takes its name (the
   same columns, collations and defaults), with a partition for every month
   that holds activity, this month and the next two (engagement.partitions),
   and a default partition; the rows are copied, the old table dropped, and
   the identity, the primary key (id, occurred_at), the indexes and foreign
   keys made again from the old table's own definitions, then the pending
   trigger (migration 0023), which now copies each activity's time to its
   pending row too (the rollup joins a claimed batch on (id, occurred_at),
   one partition per row). SQLite keeps one table.

Backwards, the same steps the other way: one plain table, the unique index.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from django.db import migrations, models

from core.migration_tools import statement_timeout_lifted
from engagement.partitions import (
    ACTIVITY_TABLE,
    DEFAULT_PARTITION,
    months_partitioned,
    partition_bounds_sql,
    partition_name,
)

_PENDING = importlib.import_module("engagement.migrations.0023_activity_pending")
_MESSAGE = "engagement_activitymessage"
_SET_ASIDE = f"{ACTIVITY_TABLE}_before_0030"

# The key of every stored activity, first (BEFORE INSERT, row by row: a second
# copy of one message in the same statement sees the first one's key).
_MESSAGE_TRIGGER_POSTGRESQL = [
    f"""
    CREATE FUNCTION engagement_activity_message_once() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {_MESSAGE} (source_id, message_id, month)
        VALUES (NEW.source_id, NEW.message_id,
                date_trunc('month', NEW.occurred_at AT TIME ZONE 'UTC')::date)
        ON CONFLICT (source_id, message_id) DO NOTHING;
        IF FOUND THEN
            RETURN NEW;
        END IF;
        RETURN NULL;  -- stored already: skip the row
    END
    $$
    """,  # noqa: S608 - table names are ours  # nosec B608
    f"""
    CREATE TRIGGER engagement_activity_message_once BEFORE INSERT ON {ACTIVITY_TABLE}
    FOR EACH ROW EXECUTE FUNCTION engagement_activity_message_once()
    """,
]
_MESSAGE_TRIGGER_POSTGRESQL_DROP = [
    f"DROP TRIGGER engagement_activity_message_once ON {ACTIVITY_TABLE}",
    "DROP FUNCTION engagement_activity_message_once()",
]
# SQLite: RAISE(IGNORE) skips the row (and its AFTER INSERT pending trigger).
# The month is the text date's first seven characters (Django stores UTC).
_MESSAGE_TRIGGER_SQLITE = [
    f"""
    CREATE TRIGGER engagement_activity_message_once BEFORE INSERT ON {ACTIVITY_TABLE}
    BEGIN
        SELECT RAISE(IGNORE) WHERE EXISTS (
            SELECT 1 FROM {_MESSAGE}
            WHERE source_id = NEW.source_id AND message_id = NEW.message_id
        );
        INSERT INTO {_MESSAGE} (source_id, message_id, month)
        VALUES (NEW.source_id, NEW.message_id, substr(NEW.occurred_at, 1, 7) || '-01');
    END
    """,  # noqa: S608 - table names are ours  # nosec B608
]
_MESSAGE_TRIGGER_SQLITE_DROP = ["DROP TRIGGER engagement_activity_message_once"]

# The pending trigger (migration 0023) copies the activity's time too, which
# the rollup joins on with the id (engagement.models.ActivityPending).
_PENDING_FUNCTION_POSTGRESQL = """
    CREATE OR REPLACE FUNCTION engagement_activity_pending_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO engagement_activitypending (activity_id, occurred_at)
        SELECT id, occurred_at FROM inserted;
        RETURN NULL;
    END
    $$
"""
_PENDING_FUNCTION_POSTGRESQL_BACK = _PENDING._TRIGGER_POSTGRESQL[0].replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
)
_PENDING_TRIGGER_SQLITE = [
    f"""
    CREATE TRIGGER engagement_activity_pending AFTER INSERT ON {ACTIVITY_TABLE}
    BEGIN
        INSERT INTO engagement_activitypending (activity_id, occurred_at)
        VALUES (NEW.id, NEW.occurred_at);
    END
    """,  # noqa: S608 - table names are ours  # nosec B608
]

_MESSAGES_COPY = (
    f"INSERT INTO {_MESSAGE} (source_id, message_id, month) "  # noqa: S608  # nosec B608
    "SELECT source_id, message_id, {month} FROM {table}"
)


def _postgresql(schema_editor: Any) -> bool:
    return bool(schema_editor.connection.vendor == "postgresql")


def _definitions(schema_editor: Any) -> list[str]:
    """The statements that make the activity table's indexes (but its primary
    and unique keys) and foreign keys again, read from the catalogue; a
    partitioned index reads `ON ONLY`, which a plain table does not take."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = %s::regclass AND NOT indisprimary AND NOT indisunique "
            "ORDER BY indexrelid",
            [ACTIVITY_TABLE],
        )
        indexes = [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [ACTIVITY_TABLE],
        )
        foreign_keys = [
            f'ALTER TABLE {ACTIVITY_TABLE} ADD CONSTRAINT "{name}" {definition}'
            for name, definition in cursor.fetchall()
        ]
    return indexes + foreign_keys


def _next_id(schema_editor: Any) -> int:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {_SET_ASIDE}")  # noqa: S608  # nosec B608
        return int(cursor.fetchone()[0])


def _rebuilt(schema_editor: Any, *, partitioned: bool) -> None:
    """The activity table made again as `partitioned` or not, holding the same
    rows, ids, indexes, foreign keys and pending trigger."""
    definitions = _definitions(schema_editor)
    run = schema_editor.execute
    run(f"ALTER TABLE {ACTIVITY_TABLE} RENAME TO {_SET_ASIDE}")
    like = f"(LIKE {_SET_ASIDE} INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION)"
    if partitioned:
        run(f"CREATE TABLE {ACTIVITY_TABLE} {like} PARTITION BY RANGE (occurred_at)")
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date "  # noqa: S608  # nosec B608
                f"FROM {_SET_ASIDE}"
            )
            months = {row[0] for row in cursor.fetchall()}
        for month in months_partitioned(months, dt.datetime.now(dt.UTC)):
            run(
                f"CREATE TABLE {partition_name(month)} PARTITION OF {ACTIVITY_TABLE} "
                f"{partition_bounds_sql(month)}"
            )
        run(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {ACTIVITY_TABLE} DEFAULT")
    else:
        run(f"CREATE TABLE {ACTIVITY_TABLE} {like}")
    # Rows first, indexes after: one sort per index instead of an insert per row.
    run(f"INSERT INTO {ACTIVITY_TABLE} SELECT * FROM {_SET_ASIDE}")  # noqa: S608  # nosec B608
    first_id = _next_id(schema_editor)
    # Drops the old table's indexes, keys, trigger and identity sequence.
    run(f"DROP TABLE {_SET_ASIDE}")
    run(
        f"ALTER TABLE {ACTIVITY_TABLE} ALTER COLUMN id "
        f"ADD GENERATED BY DEFAULT AS IDENTITY (START WITH {first_id})"
    )
    key = "id, occurred_at" if partitioned else "id"
    run(f"ALTER TABLE {ACTIVITY_TABLE} ADD CONSTRAINT {ACTIVITY_TABLE}_pkey PRIMARY KEY ({key})")
    for statement in definitions:
        run(statement)
    for statement in _PENDING._TRIGGER_POSTGRESQL[1:]:  # its function was kept
        run(statement)


def _messages_copy(schema_editor: Any) -> None:
    month = (
        "date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date"
        if _postgresql(schema_editor)
        else "substr(occurred_at, 1, 7) || '-01'"
    )
    schema_editor.execute(_MESSAGES_COPY.format(month=month, table=ACTIVITY_TABLE))


def _partition(apps: Any, schema_editor: Any) -> None:
    _messages_copy(schema_editor)
    if _postgresql(schema_editor):
        schema_editor.execute(_PENDING_FUNCTION_POSTGRESQL)
        _rebuilt(schema_editor, partitioned=True)
        for statement in _MESSAGE_TRIGGER_POSTGRESQL:
            schema_editor.execute(statement)
    else:
        # Its pending trigger was dropped first (_sqlite_pending_trigger_drop).
        for statement in _PENDING_TRIGGER_SQLITE + _MESSAGE_TRIGGER_SQLITE:
            schema_editor.execute(statement)


def _unpartition(apps: Any, schema_editor: Any) -> None:
    if _postgresql(schema_editor):
        for statement in _MESSAGE_TRIGGER_POSTGRESQL_DROP:
            schema_editor.execute(statement)
        schema_editor.execute(_PENDING_FUNCTION_POSTGRESQL_BACK)
        _rebuilt(schema_editor, partitioned=False)
    else:
        for statement in _MESSAGE_TRIGGER_SQLITE_DROP:
            schema_editor.execute(statement)


def _sqlite_pending_trigger_drop(apps: Any, schema_editor: Any) -> None:
    """SQLite, first: the pending table and the activity table are rebuilt
    below (AddField, RemoveConstraint), which a trigger naming the pending
    table refuses; _partition makes the new one."""
    if not _postgresql(schema_editor):
        for statement in _PENDING._TRIGGER_SQLITE_DROP:
            schema_editor.execute(statement)


def _sqlite_pending_trigger_create(apps: Any, schema_editor: Any) -> None:
    """Backwards, last: migration 0023's trigger again, the tables rebuilt."""
    if not _postgresql(schema_editor):
        for statement in _PENDING._TRIGGER_SQLITE:
            schema_editor.execute(statement)


def _pending_times_copy(apps: Any, schema_editor: Any) -> None:
    """Each pending row takes its activity's time (the one table, by its key)."""
    schema_editor.execute(
        "UPDATE engagement_activitypending SET occurred_at = COALESCE(("  # noqa: S608  # nosec B608
        f"SELECT a.occurred_at FROM {ACTIVITY_TABLE} a "
        "WHERE a.id = engagement_activitypending.activity_id), occurred_at)"
    )


def _message_byte_order(apps: Any, schema_editor: Any) -> None:
    # As the activity's own column (migration 0016): compared, never sorted for people.
    if _postgresql(schema_editor):
        schema_editor.execute(
            f'ALTER TABLE {_MESSAGE} ALTER COLUMN message_id TYPE varchar(200) COLLATE "C"'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("engagement", "0029_change_baselines"),
    ]

    operations = [
        statement_timeout_lifted(),
        migrations.RunPython(_sqlite_pending_trigger_drop, _sqlite_pending_trigger_create),
        migrations.CreateModel(
            name="ActivityMessage",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "source_id",
                        "message_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("source_id", models.BigIntegerField()),
                ("message_id", models.CharField(max_length=200)),
                ("month", models.DateField()),
            ],
        ),
        migrations.RunPython(_message_byte_order, migrations.RunPython.noop),
        migrations.AddField(
            model_name="activitypending",
            name="occurred_at",
            field=models.DateTimeField(default=dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
            preserve_default=False,
        ),
        migrations.RunPython(_pending_times_copy, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="activity",
            name="activity_message_once",
        ),
        migrations.RunPython(_partition, _unpartition),
    ]
