"""Every role reads accounts' readiness (issue 19); only the readiness
services write it."""

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

GRANTS = {role: {"accountreadiness": VIEW} for role in (MARKETER, SALES, EXECUTIVE)}


class Migration(migrations.Migration):
    dependencies = [("engagement", "0021_account_readiness")]

    operations = [
        migrations.RunPython(
            partial(role_permissions_grant, app_label="engagement", grants=GRANTS),
            partial(role_permissions_revoke, app_label="engagement", grants=GRANTS),
        ),
    ]
