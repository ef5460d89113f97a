"""Marketers train readiness models (a new version; nothing is edited or
deleted); sales and executives read the versions and their backtests."""

from functools import partial

from django.db import migrations

from accounts.roles import (
    EXECUTIVE,
    MARKETER,
    SALES,
    VIEW,
    role_permissions_grant,
    role_permissions_revoke,
)

GRANTS = {
    MARKETER: {"readinessmodel": ("add", "view")},
    SALES: {"readinessmodel": VIEW},
    EXECUTIVE: {"readinessmodel": VIEW},
}


class Migration(migrations.Migration):
    dependencies = [("readiness", "0002_training_schedule")]

    operations = [
        migrations.RunPython(
            partial(role_permissions_grant, app_label="readiness", grants=GRANTS),
            partial(role_permissions_revoke, app_label="readiness", grants=GRANTS),
        ),
    ]
