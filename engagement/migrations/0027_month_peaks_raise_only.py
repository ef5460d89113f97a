"""The monthly peaks' insert trigger writes a peak only when it rises (issue 20).

0025's trigger updated every (account, segment, month) peak on every daily
snapshot, raised or not: an update writes a new row version whatever its
value, so the nightly snapshot left one dead row per account a night and one
index entry per row version. Measured in the pages benchmark at 1M activities
(a year of daily snapshots): 116,935 live peaks, 3,166,240 dead ones, 308 MB,
the month index 3.0 million entries; the year's reports read them at 0.53 s
instead of a few tens of ms until a VACUUM ran. Now a day that does not beat
its month's peak writes nothing, and the table leaves room on each page
(fillfactor 70: a raised peak is rewritten in its page, a HOT update that adds
no index entry; `top` is in no index). Only pages written from now on get the
room; VACUUM FULL gives it to the existing ones.
"""

from typing import Any

from django.db import migrations

_RAISE = """
    CREATE OR REPLACE FUNCTION engagement_month_peaks_raise() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO engagement_engagementmonthpeak (account_id, segment_id, month, model_version, top)
        SELECT account_id, segment_id, date_trunc('month', day)::date, model_version, max(score)
        FROM new_rows GROUP BY 1, 2, 3, 4
        ON CONFLICT (account_id, segment_id, month, model_version)
        DO UPDATE SET top = EXCLUDED.top
        WHERE EXCLUDED.top > engagement_engagementmonthpeak.top;
        RETURN NULL;
    END
    $$
"""
_RAISE_BEFORE = """
    CREATE OR REPLACE FUNCTION engagement_month_peaks_raise() RETURNS trigger
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
"""

_SQLITE_INSERT = """
    CREATE TRIGGER engagement_snapshot_peaks_insert AFTER INSERT ON engagement_engagementsnapshot
    BEGIN
        INSERT INTO engagement_engagementmonthpeak (account_id, segment_id, month, model_version, top)
        VALUES (NEW.account_id, NEW.segment_id, date(NEW.day, 'start of month'),
                NEW.model_version, NEW.score)
        ON CONFLICT (account_id, segment_id, month, model_version)
        DO UPDATE SET top = {update};
    END
"""


def _forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_RAISE)
        schema_editor.execute("ALTER TABLE engagement_engagementmonthpeak SET (fillfactor = 70)")
    else:
        schema_editor.execute("DROP TRIGGER engagement_snapshot_peaks_insert")
        schema_editor.execute(_SQLITE_INSERT.format(update="excluded.top WHERE excluded.top > top"))


def _backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_RAISE_BEFORE)
        schema_editor.execute("ALTER TABLE engagement_engagementmonthpeak RESET (fillfactor)")
    else:
        schema_editor.execute("DROP TRIGGER engagement_snapshot_peaks_insert")
        schema_editor.execute(_SQLITE_INSERT.format(update="max(top, excluded.top)"))


class Migration(migrations.Migration):
    dependencies = [("engagement", "0026_activity_retention")]

    operations = [migrations.RunPython(_forwards, _backwards)]
