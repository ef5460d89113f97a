"""Snapshots indexed by (day, segment) instead of (segment, day): the campaign
reports read every target's score on the period's first and last days across
segments (`day IN (start, end)`), which the old index could not serve (issue 20,
docs/benchmarks.md). Reads of one segment's days use the new index as well."""

from django.db import migrations, models

from core.migration_tools import statement_timeout_lifted


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_segment_readiness_alert"),
        ("engagement", "0023_activity_pending"),
    ]

    operations = [
        # Snapshots grow by one row per member account a day: building the
        # index can outlast the web requests' timeout.
        statement_timeout_lifted(),
        migrations.RemoveIndex(
            model_name="engagementsnapshot",
            name="snapshot_segment_day_idx",
        ),
        migrations.AddIndex(
            model_name="engagementsnapshot",
            index=models.Index(fields=["day", "segment"], name="snapshot_day_segment_idx"),
        ),
    ]
