"""What the page shell (web/templates/web/base.html) shows on every page: the
signed-in user's roles, the navigation they may use, and the alert count."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from accounts.roles import ROLES
from engagement.selectors import ALERT_INBOX_DEFAULT_DAYS, alert_inbox_count

# The session key a page that shows the alerts sets when the user has seen them.
ALERTS_SEEN_AT = "alerts_seen_at"


def alerts_since(request: HttpRequest) -> dt.datetime:
    """Alerts newer than this are new to the user: since they last saw them, or
    else the last ALERT_INBOX_DEFAULT_DAYS days."""
    seen = request.session.get(ALERTS_SEEN_AT)
    if seen:
        return dt.datetime.fromisoformat(seen)
    return timezone.now() - dt.timedelta(days=ALERT_INBOX_DEFAULT_DAYS)


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: a page that does not render the shell (CSV, an htmx partial) pays nothing.
    return {
        "roles": SimpleLazyObject(lambda: [g.name for g in user.groups.all() if g.name in ROLES]),
        "alert_count": SimpleLazyObject(
            lambda: alert_inbox_count(user_id=user.pk, since=alerts_since(request))
        ),
        "alert_days": ALERT_INBOX_DEFAULT_DAYS,
    }
