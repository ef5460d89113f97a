"""The sign-in forms of the pages and the admin, refusing a throttled sign-in
before the password is checked (accounts/login_throttle.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts.login_throttle import login_refusal, request_address


def _throttle(form: Any) -> None:
    refusal = login_refusal(
        username=str(form.cleaned_data.get("username") or ""),
        address=request_address(form.request),
    )
    if refusal is not None:
        raise ValidationError(refusal, code="throttled")


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        _throttle(self)
        return super().clean()


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        _throttle(self)
        return super().clean()
