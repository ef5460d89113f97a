"""Alert delivery bookkeeping (attempts, last error, next try, the sweep's index)
and `view_all_alert`, which marketers get: other roles see their own alerts."""

from functools import partial

from django.db import migrations, models

from accounts.roles import MARKETER, role_permissions_grant, role_permissions_revoke

GRANTS = {MARKETER: {"alert": ("view_all",)}}


class Migration(migrations.Migration):
    dependencies = [
        ("engagement", "0016_activity_ingest_cheaper"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="alert",
            options={
                "ordering": ["-created_at"],
                "permissions": [("view_all_alert", "Can list every user's alerts")],
            },
        ),
        migrations.AddField(
            model_name="alert",
            name="delivery_attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="alert",
            name="last_error",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="alert",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(
                condition=models.Q(("next_attempt_at__isnull", False)),
                fields=["next_attempt_at"],
                name="alert_delivery_due_idx",
            ),
        ),
        migrations.RunPython(
            partial(role_permissions_grant, app_label="engagement", grants=GRANTS),
            partial(role_permissions_revoke, app_label="engagement", grants=GRANTS),
        ),
    ]
