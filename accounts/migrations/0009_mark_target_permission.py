"""Marking accounts as targets is the marketers' right (the account list's and
the account page's "Mark as target"); sales may change accounts, not the list
of targets."""

from functools import partial

from django.db import migrations

from accounts.roles import MARKETER, role_permissions_grant, role_permissions_revoke

GRANTS = {MARKETER: {"account": ("mark_target",)}}


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_opportunity_account_optional")]

    operations = [
        migrations.AlterModelOptions(
            name="account",
            options={
                "ordering": ["name", "id"],
                "permissions": [("mark_target_account", "Can mark accounts as targets or not")],
            },
        ),
        migrations.RunPython(
            partial(role_permissions_grant, app_label="accounts", grants=GRANTS),
            partial(role_permissions_revoke, app_label="accounts", grants=GRANTS),
        ),
    ]
