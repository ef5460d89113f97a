"""Reads of activity retention (engagement.services.retention): where stored
activity starts, and why history before it cannot be recomputed from activity.
"""

from __future__ import annotations

import datetime as dt

from engagement.models import ActivityRetentionRun


class HistoryDropped(ValueError):
    """A computation needs raw activity from before the retention cutoff."""


def retention_cutoff() -> dt.datetime | None:
    """The moment stored activity starts (activity before it was folded into the
    carried sums and deleted), or None while nothing was ever dropped."""
    return ActivityRetentionRun.objects.order_by("-cutoff").values_list("cutoff", flat=True).first()


def history_check(*, at: dt.datetime, what: str, cutoff: dt.datetime | None) -> None:
    """Refuse to compute `what` at `at` from activity when activity before `at`
    was partly dropped: the carried sums hold all dropped activity at once, so
    only a moment at or after the cutoff has all of its history."""
    if cutoff is not None and at < cutoff:
        raise HistoryDropped(
            f"{what} at {at:%Y-%m-%d %H:%M} needs activity from before "
            f"{cutoff:%Y-%m-%d}, which retention dropped (ACTIVITY_RETENTION_MONTHS); "
            "the daily snapshots kept the scores of those days"
        )
