"""Marketers load CRM exports, deals included, so they may add and change opportunities."""

from functools import partial

from django.db import migrations

from accounts.roles import MARKETER, role_permissions_grant, role_permissions_revoke

GRANTS = {MARKETER: {"opportunity": ("add", "change")}}


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_junk_rules")]

    operations = [
        migrations.RunPython(
            partial(role_permissions_grant, app_label="accounts", grants=GRANTS),
            partial(role_permissions_revoke, app_label="accounts", grants=GRANTS),
        ),
    ]
