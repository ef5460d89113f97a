"""The user's alert inbox: when they last looked at their alerts."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from engagement.models import AlertInboxVisit


@transaction.atomic
def alert_inbox_visit_record(*, user_id: int, at: dt.datetime) -> None:
    """The user saw their alerts as they stood at `at`: later ones stay new.

    Pass the time the page read the alerts, not the time it finished, so an
    alert created in between is still new next time. Never moves back (an older
    tab reloaded after a newer one leaves the newer visit).
    """
    if AlertInboxVisit.objects.filter(user_id=user_id, seen_at__lt=at).update(seen_at=at):
        return
    AlertInboxVisit.objects.get_or_create(user_id=user_id, defaults={"seen_at": at})
