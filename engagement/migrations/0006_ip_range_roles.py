"""Marketers maintain the IP ranges that resolve anonymous visits; sales may read them."""

from functools import partial

from django.db import migrations

from accounts.roles import (
    ALL,
    MARKETER,
    SALES,
    VIEW,
    role_permissions_grant,
    role_permissions_revoke,
)

GRANTS = {MARKETER: {"iprange": ALL}, SALES: {"iprange": VIEW}}


class Migration(migrations.Migration):
    dependencies = [("engagement", "0005_ip_ranges")]

    operations = [
        migrations.RunPython(
            partial(role_permissions_grant, app_label="engagement", grants=GRANTS),
            partial(role_permissions_revoke, app_label="engagement", grants=GRANTS),
        ),
    ]
