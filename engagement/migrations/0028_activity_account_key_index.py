"""Keyed activity indexed by (account, tracking key): the program touches'
refresh after each rollup reads a batch's (key, account) pairs, which the
(tracking_key, occurred_at) index served by reading every activity of the key
(issue 20, docs/benchmarks.md). Partial: keyed activity on an account only."""

from django.db import migrations, models

from core.migration_tools import statement_timeout_lifted


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_segment_readiness_alert"),
        ("engagement", "0027_month_peaks_raise_only"),
    ]

    operations = [
        # The build reads the whole activity table: it can outlast the web
        # requests' timeout.
        statement_timeout_lifted(),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                condition=models.Q(("account__isnull", False), ~models.Q(tracking_key="")),
                fields=["account", "tracking_key"],
                name="activity_account_key_idx",
            ),
        ),
    ]
