"""The three product roles and the permissions each app grants them.

Each app grants the permissions on its own models in a data migration of its
own (`role_permissions_grant`), so migrations, like imports, point one way:
campaigns -> engagement -> accounts.
"""

from __future__ import annotations

from typing import Any

MARKETER = "Marketer"
SALES = "Sales"
EXECUTIVE = "Executive"
ROLES = (MARKETER, SALES, EXECUTIVE)

ALL = ("add", "change", "delete", "view")
VIEW = ("view",)

# role -> model name -> actions
RoleGrants = dict[str, dict[str, tuple[str, ...]]]


def role_permissions_grant(
    apps: Any, schema_editor: Any, *, app_label: str, grants: RoleGrants
) -> None:
    """Create the role groups if needed and give them `grants` on `app_label`'s models."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; create this
    # app's now so that a fresh database gets its groups in one `migrate`.
    app_config = apps.get_app_config(app_label)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, models in grants.items():
        group, _ = group_model.objects.get_or_create(name=role)
        codenames = [f"{action}_{model}" for model, actions in models.items() for action in actions]
        permissions = permission_model.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Unknown permissions for {app_label}: {sorted(missing)}")
        group.permissions.add(*permissions)


def role_permissions_revoke(
    apps: Any, schema_editor: Any, *, app_label: str, grants: RoleGrants
) -> None:
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, models in grants.items():
        codenames = [f"{action}_{model}" for model, actions in models.items() for action in actions]
        for group in group_model.objects.filter(name=role):
            group.permissions.remove(
                *permission_model.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )
