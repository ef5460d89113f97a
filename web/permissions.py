"""Who may open a page: everyone logged in reads; a write names the permission
it needs (the role groups hold them: accounts/roles.py and each app's roles
migration). Anonymous visitors go to the login page; a logged-in user without
the right gets the 403 page (web/templates/403.html), never a 500."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin


class ReadPage(LoginRequiredMixin):
    """A page every role may read."""


class WritePage(PermissionRequiredMixin):
    """A page or form that changes data: `permission_required` names the right.

    Django's mixin sends anonymous visitors to log in and raises PermissionDenied
    (the 403 page) for a logged-in user without the permission."""
