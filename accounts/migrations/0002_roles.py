"""The Marketer, Sales and Executive groups, with their rights on accounts."""

from functools import partial

from django.db import migrations

from accounts.roles import (
    ALL,
    EXECUTIVE,
    MARKETER,
    SALES,
    VIEW,
    role_permissions_grant,
    role_permissions_revoke,
)

GRANTS = {
    MARKETER: {
        "account": ALL,
        "contact": ALL,
        "icpsegment": ALL,
        "segmentmembership": VIEW,
        "opportunity": VIEW,
    },
    # Sales owns the deals and keeps buying teams current.
    SALES: {
        "account": ("view", "change"),
        "contact": ("view", "add", "change"),
        "icpsegment": VIEW,
        "segmentmembership": VIEW,
        "opportunity": ALL,
    },
    EXECUTIVE: {
        "account": VIEW,
        "contact": VIEW,
        "icpsegment": VIEW,
        "segmentmembership": VIEW,
        "opportunity": VIEW,
    },
}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(
            partial(role_permissions_grant, app_label="accounts", grants=GRANTS),
            partial(role_permissions_revoke, app_label="accounts", grants=GRANTS),
        ),
    ]
