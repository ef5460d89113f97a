"""Change baselines on the engagement rows (issue 20): each account's
snapshot scores 7 and 30 days before `baselines_for`, indexed with the
score so that the account list sorted by score change reads its page in
index order; and the triggers that keep them right between the nightly
runs that set them (engagement.rollup.baselines)."""

import django.db.models.expressions
from django.db import migrations, models

from core.migration_tools import statement_timeout_lifted, statements_per_vendor

_ENGAGEMENT = "engagement_accountengagement"
_SNAPSHOT = "engagement_engagementsnapshot"


def _baseline(row: str, days: int, *, day_of: str = "", sqlite: bool = False) -> str:
    """The snapshot score of `row`'s (account, segment) `days` before its
    baselines day (`day_of`, by default its baselines_for); null where no
    snapshot was taken that day."""
    base = day_of or f"{row}.baselines_for"
    day = f"date({base}, '-{days} days')" if sqlite else f"{base} - {days}"
    where = f"s.account_id = {row}.account_id AND s.segment_id = {row}.segment_id AND s.day = {day}"
    return f"(SELECT s.score FROM {_SNAPSHOT} s WHERE {where})"  # noqa: S608 - ours  # nosec B608


# PostgreSQL: statement-level triggers over transition tables, one statement
# per write whatever its number of rows.
#
# A new engagement row takes the day of its segment's baselines (the latest
# any row holds; none while the segment has none) and reads its snapshots
# of that day less 7 and 30: an account scored for the first time since the
# night keeps its segment current. Updates carry the columns over (the
# scores' upsert never names them).
#
# A snapshot inserted, changed or deleted re-reads the baselines of the rows
# whose day is 7 or 30 days after its own. Only the written rows of days
# some baselines can use are collected (between the written segments'
# earliest baselines day less 30 and their latest less 7), after a check of
# those bounds alone: the nightly snapshot of yesterday (90,029 rows at 10M
# activities) costs a few milliseconds, where collecting every written row
# first cost 0.9 s (docs/benchmarks.md, "Stored change baselines").
_TRIGGER_POSTGRESQL = [
    f"""
    CREATE FUNCTION engagement_change_baselines_inherit() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        WITH segment_day AS (
            SELECT g.segment_id,
                   (SELECT max(x.baselines_for) FROM {_ENGAGEMENT} x
                    WHERE x.segment_id = g.segment_id) AS day
            FROM (SELECT DISTINCT segment_id FROM new_rows WHERE baselines_for IS NULL) g
        ), dated AS (
            SELECT n.id, d.day FROM new_rows n JOIN segment_day d USING (segment_id)
            WHERE n.baselines_for IS NULL AND d.day IS NOT NULL
        )
        UPDATE {_ENGAGEMENT} e SET baselines_for = dated.day,
            baseline_score_7d = {_baseline("e", 7, day_of="dated.day")},
            baseline_score_30d = {_baseline("e", 30, day_of="dated.day")}
        FROM dated WHERE e.id = dated.id;
        RETURN NULL;
    END
    $$
    """,  # noqa: S608 - the table names are ours  # nosec B608
    f"""
    CREATE FUNCTION engagement_change_baselines_reread() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        segments bigint[];
        earliest date;
        latest date;
        accounts bigint[];
        account_segments bigint[];
        days date[];
    BEGIN
        -- The segments written, and the snapshot days their baselines read:
        -- most writes (the nightly snapshot of yesterday, seeding before
        -- any baselines exist) stop here.
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(segment_id) INTO segments
            FROM (SELECT DISTINCT segment_id FROM new_rows) written;
        ELSIF TG_OP = 'UPDATE' THEN
            SELECT array_agg(segment_id) INTO segments
            FROM (SELECT segment_id FROM old_rows UNION SELECT segment_id FROM new_rows) written;
        ELSE
            SELECT array_agg(segment_id) INTO segments
            FROM (SELECT DISTINCT segment_id FROM old_rows) written;
        END IF;
        SELECT min(b.earliest) - 30, max(b.latest) - 7 INTO earliest, latest
        FROM unnest(segments) AS g(segment_id),
        LATERAL (SELECT min(x.baselines_for) AS earliest, max(x.baselines_for) AS latest
                 FROM {_ENGAGEMENT} x WHERE x.segment_id = g.segment_id) b;
        IF earliest IS NULL OR earliest > latest THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(account_id), array_agg(segment_id), array_agg(day)
            INTO accounts, account_segments, days
            FROM new_rows WHERE day BETWEEN earliest AND latest;
        ELSIF TG_OP = 'UPDATE' THEN
            SELECT array_agg(account_id), array_agg(segment_id), array_agg(day)
            INTO accounts, account_segments, days
            FROM (SELECT account_id, segment_id, day FROM old_rows
                  UNION SELECT account_id, segment_id, day FROM new_rows) changed
            WHERE day BETWEEN earliest AND latest;
        ELSE
            SELECT array_agg(account_id), array_agg(segment_id), array_agg(day)
            INTO accounts, account_segments, days
            FROM old_rows WHERE day BETWEEN earliest AND latest;
        END IF;
        IF accounts IS NULL THEN
            RETURN NULL;
        END IF;
        UPDATE {_ENGAGEMENT} e SET
            baseline_score_7d = {_baseline("e", 7)},
            baseline_score_30d = {_baseline("e", 30)}
        FROM (SELECT DISTINCT * FROM unnest(accounts, account_segments, days)
              AS k(account_id, segment_id, day)) u
        WHERE e.account_id = u.account_id AND e.segment_id = u.segment_id
          AND e.baselines_for IN (u.day + 7, u.day + 30);
        RETURN NULL;
    END
    $$
    """,  # noqa: S608 - the table names are ours  # nosec B608
    f"""
    CREATE TRIGGER engagement_score_baselines_insert AFTER INSERT ON {_ENGAGEMENT}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_change_baselines_inherit()
    """,
    f"""
    CREATE TRIGGER engagement_snapshot_baselines_insert AFTER INSERT ON {_SNAPSHOT}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_change_baselines_reread()
    """,
    f"""
    CREATE TRIGGER engagement_snapshot_baselines_update AFTER UPDATE ON {_SNAPSHOT}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_change_baselines_reread()
    """,
    f"""
    CREATE TRIGGER engagement_snapshot_baselines_delete AFTER DELETE ON {_SNAPSHOT}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_change_baselines_reread()
    """,
]
_TRIGGER_POSTGRESQL_DROP = [
    f"DROP TRIGGER engagement_score_baselines_insert ON {_ENGAGEMENT}",
    f"DROP TRIGGER engagement_snapshot_baselines_insert ON {_SNAPSHOT}",
    f"DROP TRIGGER engagement_snapshot_baselines_update ON {_SNAPSHOT}",
    f"DROP TRIGGER engagement_snapshot_baselines_delete ON {_SNAPSHOT}",
    "DROP FUNCTION engagement_change_baselines_inherit()",
    "DROP FUNCTION engagement_change_baselines_reread()",
]


def _sqlite_reread(row: str) -> str:
    """SQLite: the baselines that use `row`'s snapshot day, read again."""
    return f"""
        UPDATE {_ENGAGEMENT} SET
            baseline_score_7d = {_baseline(_ENGAGEMENT, 7, sqlite=True)},
            baseline_score_30d = {_baseline(_ENGAGEMENT, 30, sqlite=True)}
        WHERE account_id = {row}.account_id AND segment_id = {row}.segment_id
          AND baselines_for IN (date({row}.day, '+7 days'), date({row}.day, '+30 days'));
    """  # noqa: S608 - `row` is OLD or NEW, the table names ours  # nosec B608


# SQLite has row triggers only; dates are ISO text, which date() understands.
_TRIGGER_SQLITE = [
    f"""
    CREATE TRIGGER engagement_score_baselines_insert AFTER INSERT ON {_ENGAGEMENT}
    WHEN NEW.baselines_for IS NULL
    BEGIN
        UPDATE {_ENGAGEMENT} SET baselines_for = (
            SELECT max(x.baselines_for) FROM {_ENGAGEMENT} x WHERE x.segment_id = NEW.segment_id
        ) WHERE id = NEW.id;
        UPDATE {_ENGAGEMENT} SET
            baseline_score_7d = {_baseline(_ENGAGEMENT, 7, sqlite=True)},
            baseline_score_30d = {_baseline(_ENGAGEMENT, 30, sqlite=True)}
        WHERE id = NEW.id AND baselines_for IS NOT NULL;
    END
    """,  # noqa: S608 - the table names are ours  # nosec B608
    f"""
    CREATE TRIGGER engagement_snapshot_baselines_insert AFTER INSERT ON {_SNAPSHOT}
    BEGIN {_sqlite_reread("NEW")} END
    """,
    f"""
    CREATE TRIGGER engagement_snapshot_baselines_update AFTER UPDATE ON {_SNAPSHOT}
    BEGIN {_sqlite_reread("OLD")} {_sqlite_reread("NEW")} END
    """,
    f"""
    CREATE TRIGGER engagement_snapshot_baselines_delete AFTER DELETE ON {_SNAPSHOT}
    BEGIN {_sqlite_reread("OLD")} END
    """,
]
_TRIGGER_SQLITE_DROP = [
    "DROP TRIGGER engagement_score_baselines_insert",
    "DROP TRIGGER engagement_snapshot_baselines_insert",
    "DROP TRIGGER engagement_snapshot_baselines_update",
    "DROP TRIGGER engagement_snapshot_baselines_delete",
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_segment_readiness_alert"),
        ("engagement", "0028_activity_account_key_index"),
    ]

    operations = [
        # Two index builds over every engagement row.
        statement_timeout_lifted(),
        migrations.AddField(
            model_name="accountengagement",
            name="baseline_score_30d",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="accountengagement",
            name="baseline_score_7d",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="accountengagement",
            name="baselines_for",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="accountengagement",
            index=models.Index(
                models.F("segment"),
                models.F("baselines_for"),
                django.db.models.expressions.CombinedExpression(
                    models.F("score"), "-", models.F("baseline_score_7d")
                ),
                name="engagement_change_7d_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="accountengagement",
            index=models.Index(
                models.F("segment"),
                models.F("baselines_for"),
                django.db.models.expressions.CombinedExpression(
                    models.F("score"), "-", models.F("baseline_score_30d")
                ),
                name="engagement_change_30d_idx",
            ),
        ),
        # After the fields: SQLite remakes a table to add a column, which
        # drops its triggers. No baselines exist yet: the nightly run sets
        # them (until then the list reads the snapshots, as before).
        migrations.RunPython(
            statements_per_vendor(postgresql=_TRIGGER_POSTGRESQL, sqlite=_TRIGGER_SQLITE),
            statements_per_vendor(postgresql=_TRIGGER_POSTGRESQL_DROP, sqlite=_TRIGGER_SQLITE_DROP),
        ),
    ]
