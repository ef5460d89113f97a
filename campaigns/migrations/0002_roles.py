"""Rights of the three roles on campaigns, spend, rankings and plans."""

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
        "campaign": ALL,
        "campaigntarget": ALL,
        "program": ALL,
        "spend": ALL,
        "rankingrun": ("add", "view"),
        "rankingentry": ("change", "view"),
        "pipelineplan": ALL,
    },
    # Sales sees which campaigns and programs warmed its accounts.
    SALES: {
        "campaign": VIEW,
        "campaigntarget": VIEW,
        "program": VIEW,
    },
    # Executives read everything and own the revenue plan.
    EXECUTIVE: {
        "campaign": VIEW,
        "campaigntarget": VIEW,
        "program": VIEW,
        "spend": VIEW,
        "rankingrun": VIEW,
        "rankingentry": VIEW,
        "pipelineplan": ALL,
    },
}


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("engagement", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(
            partial(role_permissions_grant, app_label="campaigns", grants=GRANTS),
            partial(role_permissions_revoke, app_label="campaigns", grants=GRANTS),
        ),
    ]
