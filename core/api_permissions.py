"""The API's model permissions, shared by every app's endpoints."""

from __future__ import annotations

from rest_framework.permissions import DjangoModelPermissions


class ModelPermissionsWithView(DjangoModelPermissions):
    """The role grants of the `0002_roles` migrations: reading needs `view_<model>`,
    writing needs add/change/delete as in Django's model permissions."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }
