"""The change baselines of a segment's engagement rows (issue 20): the
snapshot scores 7 and 30 days before a day, stored beside the score so that
the account list sorted by score change reads its page from an index
(engagement.list_selectors.account_list_pages).

Set for a whole segment each night, after yesterday's snapshot and the
recompute (engagement.tasks.scores_refresh_all_task); database triggers
(migration 0029) keep them right in between: a new engagement row takes its
segment's day, and a snapshot written, changed or deleted re-reads the
baselines that use its day."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import OuterRef, Subquery

from engagement.models import AccountEngagement, EngagementSnapshot
from engagement.rollup.recompute import segment_cursor_locked

# The periods of the account list's score change, in days.
CHANGE_PERIODS_DAYS = (7, 30)


@transaction.atomic
def change_baselines_set(*, segment_id: int, today: dt.date) -> int:
    """Store on every engagement row of the segment its snapshot scores 7 and
    30 days before `today` (null where no snapshot was taken that day) and
    `today` as their day, in one statement; returns the rows set. Holds the
    segment's rollup cursor, so no rollup inserts a row meanwhile with the
    day before."""
    segment_cursor_locked(segment_id)
    snapshots = EngagementSnapshot.objects.filter(
        account_id=OuterRef("account_id"), segment_id=segment_id
    )
    baselines = {
        f"baseline_score_{days}d": Subquery(
            snapshots.filter(day=today - dt.timedelta(days=days)).values("score")[:1]
        )
        for days in CHANGE_PERIODS_DAYS
    }
    return AccountEngagement.objects.filter(segment_id=segment_id).update(
        baselines_for=today, **baselines
    )
