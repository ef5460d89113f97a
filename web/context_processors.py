"""What the page shell (web/templates/web/base.html) shows on every page: the
signed-in user's roles, the navigation they may use, and the alert count."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from accounts.selectors import user_roles
from engagement.selectors import ALERT_INBOX_DEFAULT_DAYS, alert_inbox_count
from web.navigation import report_tabs, workspace_links


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: a page that does not render the shell (CSV, an htmx partial) pays nothing.
    return {
        "roles": SimpleLazyObject(lambda: user_roles(user_id=user.pk)),
        # New alerts: since the user last opened My accounts, or else the last
        # ALERT_INBOX_DEFAULT_DAYS days (engagement.selectors owns the rule).
        "alert_count": SimpleLazyObject(
            lambda: alert_inbox_count(user_id=user.pk, now=timezone.now())
        ),
        "alert_days": ALERT_INBOX_DEFAULT_DAYS,
        # The marketer's workspace rooms this user may open (web/navigation.py).
        "workspace_links": SimpleLazyObject(lambda: workspace_links(user)),
        # The executive reports' tabs (web/templates/web/reports/tabs.html), read
        # with the rooms above in the same query.
        "report_tabs": SimpleLazyObject(lambda: report_tabs(user)),
    }
