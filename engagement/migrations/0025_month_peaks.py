"""Monthly peaks of the daily snapshots (engagement.models.EngagementMonthPeak,
issue 20), filled from the snapshots already stored and kept by triggers."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

from core.migration_tools import statement_timeout_lifted, statements_per_vendor

_PEAK = "engagement_engagementmonthpeak"
_SNAPSHOT = "engagement_engagementsnapshot"
_COLUMNS = "account_id, segment_id, month, model_version, top"

# PostgreSQL: statement-level triggers over transition tables, one statement
# per write whatever its number of rows. An insert raises each month's peak
# (ON CONFLICT ... GREATEST): a new daily row can only raise its month's
# highest. An update or delete may lower it: the (account, segment, month)
# keys it touched are recomputed from the daily rows (at most 31 per key).
# An INSERT ... ON CONFLICT DO UPDATE fires both: inserted rows reach the
# insert trigger, updated rows the update trigger.
_TRIGGER_POSTGRESQL = [
    """
    CREATE FUNCTION engagement_month_peaks_raise() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO engagement_engagementmonthpeak (account_id, segment_id, month, model_version, top)
        SELECT account_id, segment_id, date_trunc('month', day)::date, model_version, max(score)
        FROM new_rows GROUP BY 1, 2, 3, 4
        ON CONFLICT (account_id, segment_id, month, model_version)
        DO UPDATE SET top = GREATEST(engagement_engagementmonthpeak.top, EXCLUDED.top);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION engagement_month_peaks_recompute() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        accounts bigint[];
        segments bigint[];
        months date[];
    BEGIN
        IF TG_OP = 'DELETE' THEN
            SELECT array_agg(account_id), array_agg(segment_id), array_agg(month)
            INTO accounts, segments, months
            FROM (SELECT DISTINCT account_id, segment_id, date_trunc('month', day)::date AS month
                  FROM old_rows) changed;
        ELSE
            SELECT array_agg(account_id), array_agg(segment_id), array_agg(month)
            INTO accounts, segments, months
            FROM (SELECT account_id, segment_id, date_trunc('month', day)::date AS month
                  FROM old_rows
                  UNION
                  SELECT account_id, segment_id, date_trunc('month', day)::date
                  FROM new_rows) changed;
        END IF;
        DELETE FROM engagement_engagementmonthpeak p
        USING unnest(accounts, segments, months) AS k(account_id, segment_id, month)
        WHERE p.account_id = k.account_id AND p.segment_id = k.segment_id
          AND p.month = k.month;
        INSERT INTO engagement_engagementmonthpeak (account_id, segment_id, month, model_version, top)
        SELECT s.account_id, s.segment_id, k.month, s.model_version, max(s.score)
        FROM unnest(accounts, segments, months) AS k(account_id, segment_id, month)
        JOIN engagement_engagementsnapshot s ON s.account_id = k.account_id AND s.segment_id = k.segment_id
         AND s.day >= k.month AND s.day < (k.month + interval '1 month')::date
        GROUP BY 1, 2, 3, 4;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER engagement_snapshot_peaks_insert AFTER INSERT ON engagement_engagementsnapshot
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_month_peaks_raise()
    """,
    """
    CREATE TRIGGER engagement_snapshot_peaks_update AFTER UPDATE ON engagement_engagementsnapshot
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_month_peaks_recompute()
    """,
    """
    CREATE TRIGGER engagement_snapshot_peaks_delete AFTER DELETE ON engagement_engagementsnapshot
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_month_peaks_recompute()
    """,
]
_TRIGGER_POSTGRESQL_DROP = [
    "DROP TRIGGER engagement_snapshot_peaks_insert ON engagement_engagementsnapshot",
    "DROP TRIGGER engagement_snapshot_peaks_update ON engagement_engagementsnapshot",
    "DROP TRIGGER engagement_snapshot_peaks_delete ON engagement_engagementsnapshot",
    "DROP FUNCTION engagement_month_peaks_raise()",
    "DROP FUNCTION engagement_month_peaks_recompute()",
]


def _sqlite_recompute(row: str) -> str:
    """SQLite: the peaks of `row`'s (account, segment, month), again from its daily rows."""
    month = f"date({row}.day, 'start of month')"
    return f"""
        DELETE FROM {_PEAK} WHERE account_id = {row}.account_id
            AND segment_id = {row}.segment_id AND month = {month};
        INSERT INTO {_PEAK} ({_COLUMNS})
        SELECT account_id, segment_id, {month}, model_version, max(score) FROM {_SNAPSHOT}
        WHERE account_id = {row}.account_id AND segment_id = {row}.segment_id
            AND day >= {month} AND day < date({row}.day, 'start of month', '+1 month')
        GROUP BY account_id, segment_id, model_version;
    """  # noqa: S608 - `row` is OLD or NEW, the table names ours  # nosec B608


# SQLite has row triggers only; dates are ISO text, which date() understands.
_TRIGGER_SQLITE = [
    """
    CREATE TRIGGER engagement_snapshot_peaks_insert AFTER INSERT ON engagement_engagementsnapshot
    BEGIN
        INSERT INTO engagement_engagementmonthpeak (account_id, segment_id, month, model_version, top)
        VALUES (NEW.account_id, NEW.segment_id, date(NEW.day, 'start of month'),
                NEW.model_version, NEW.score)
        ON CONFLICT (account_id, segment_id, month, model_version)
        DO UPDATE SET top = max(top, excluded.top);
    END
    """,
    f"""
    CREATE TRIGGER engagement_snapshot_peaks_update AFTER UPDATE ON engagement_engagementsnapshot
    BEGIN {_sqlite_recompute("OLD")} {_sqlite_recompute("NEW")} END
    """,
    f"""
    CREATE TRIGGER engagement_snapshot_peaks_delete AFTER DELETE ON engagement_engagementsnapshot
    BEGIN {_sqlite_recompute("OLD")} END
    """,
]
_TRIGGER_SQLITE_DROP = [
    "DROP TRIGGER engagement_snapshot_peaks_insert",
    "DROP TRIGGER engagement_snapshot_peaks_update",
    "DROP TRIGGER engagement_snapshot_peaks_delete",
]


def _peaks_fill(apps: Any, schema_editor: Any) -> None:
    """The peaks of the snapshots already stored, in one statement."""
    month = (
        "date_trunc('month', day)::date"
        if schema_editor.connection.vendor == "postgresql"
        else "date(day, 'start of month')"
    )
    schema_editor.execute(
        f"INSERT INTO {_PEAK} ({_COLUMNS}) "  # noqa: S608 - our table names  # nosec B608
        f"SELECT account_id, segment_id, {month}, model_version, max(score) "
        f"FROM {_SNAPSHOT} GROUP BY account_id, segment_id, {month}, model_version"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_segment_readiness_alert"),
        ("engagement", "0024_snapshot_day_segment_index"),
    ]

    operations = [
        # One GROUP BY over every stored snapshot.
        statement_timeout_lifted(),
        migrations.CreateModel(
            name="EngagementMonthPeak",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField(help_text="The month's first day.")),
                ("model_version", models.PositiveIntegerField()),
                ("top", models.PositiveSmallIntegerField()),
                (
                    "account",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.account",
                    ),
                ),
                (
                    "segment",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.icpsegment",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["month"], name="month_peak_month_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "segment", "month", "model_version"),
                        name="month_peak_unique",
                    )
                ],
            },
        ),
        # Filled before the triggers exist: a snapshot written during the
        # migration waits for its lock on the table anyway.
        migrations.RunPython(_peaks_fill, migrations.RunPython.noop),
        migrations.RunPython(
            statements_per_vendor(postgresql=_TRIGGER_POSTGRESQL, sqlite=_TRIGGER_SQLITE),
            statements_per_vendor(postgresql=_TRIGGER_POSTGRESQL_DROP, sqlite=_TRIGGER_SQLITE_DROP),
        ),
    ]
