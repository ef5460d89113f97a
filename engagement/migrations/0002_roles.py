"""Rights of the three roles on sources, activity, scoring and alerts."""

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
        "source": ALL,
        "activity": VIEW,
        "scoringmodel": ALL,
        "contactengagement": VIEW,
        "accountengagement": VIEW,
        "engagementsnapshot": VIEW,
        "alert": VIEW,
    },
    SALES: {
        "activity": VIEW,
        "scoringmodel": VIEW,
        "accountengagement": VIEW,
        "engagementsnapshot": VIEW,
        "alert": VIEW,
    },
    EXECUTIVE: {
        "scoringmodel": VIEW,
        "accountengagement": VIEW,
        "engagementsnapshot": VIEW,
        "alert": VIEW,
    },
}


class Migration(migrations.Migration):
    dependencies = [
        ("engagement", "0001_initial"),
        ("accounts", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(
            partial(role_permissions_grant, app_label="engagement", grants=GRANTS),
            partial(role_permissions_revoke, app_label="engagement", grants=GRANTS),
        ),
    ]
