"""Reads of the demo: which demo logins exist in this database."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from demo.services import DemoLogin, demo_logins


def demo_logins_existing() -> tuple[DemoLogin, ...]:
    """The demo logins whose user exists (one query), in the catalogue's order."""
    logins = demo_logins()
    existing = set(
        get_user_model()
        ._default_manager.filter(username__in=[login.username for login in logins])
        .values_list("username", flat=True)
    )
    return tuple(login for login in logins if login.username in existing)
