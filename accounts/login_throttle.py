"""Sign-in throttling (issue 18: 30 wrong passwords, then the right one, was
accepted at once). Failures are recorded (`LoginFailure`) and counted over the
last `WINDOW`, per account and per address: past either limit, the sign-in is
refused with how long to wait, even with the right password, so guessing a
password costs days, not seconds. An address limit above the account limit
lets a shared office keep working while one person is locked out.

The page's form asks `login_refusal` before it checks the password; Django's
`user_login_failed` signal records each failure (connected in
`AccountsConfig.ready`)."""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import LoginFailure

logger = logging.getLogger(__name__)

WINDOW = dt.timedelta(minutes=15)
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_ADDRESS = 20


def request_address(request: Any) -> str | None:
    """The client's address as the server saw it (behind a proxy, the proxy
    must pass the client's own: docs/operations.md)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _locked_until(failures: QuerySet[LoginFailure], limit: int) -> dt.datetime | None:
    """When the `limit`-th most recent failure of the window leaves it, or None
    when there are fewer failures than the limit."""
    times = list(failures.order_by("-at").values_list("at", flat=True)[:limit])
    return times[-1] + WINDOW if len(times) == limit else None


def login_refusal(
    *, username: str, address: str | None, now: dt.datetime | None = None
) -> str | None:
    """Why a sign-in must wait (and for how many minutes), or None. Two queries."""
    now = now or timezone.now()
    recent = LoginFailure.objects.filter(at__gt=now - WINDOW)
    until = _locked_until(recent.filter(username__iexact=username), FAILURES_PER_ACCOUNT)
    who = "this account"
    if until is None and address:
        until = _locked_until(recent.filter(address=address), FAILURES_PER_ADDRESS)
        who = "this address"
    if until is None or until <= now:
        return None
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return (
        f"Too many failed sign-ins for {who}: try again in {minutes} minute"
        f"{'s' if minutes != 1 else ''}."
    )


def login_failure_record(*, username: str, address: str | None) -> LoginFailure:
    failure = LoginFailure.objects.create(
        username=username[:150], address=address, at=timezone.now()
    )
    logger.warning("sign-in failed for %r from %s", username, address)
    return failure


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    """Django's `user_login_failed` receiver."""
    login_failure_record(
        username=str(credentials.get("username") or ""), address=request_address(request)
    )
