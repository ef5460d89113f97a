"""Celery tasks of the engagement app: thin wrappers, ids in, one service call each.

Every task is idempotent: a rollup re-run after a crash starts from the cursor
its transaction left, so it gives the same scores.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from engagement import rollup


@shared_task(name="engagement.scores_rollup", acks_late=True, ignore_result=True)
def scores_rollup_task(segment_id: int) -> None:
    rollup.scores_rollup(segment_id=segment_id)


@shared_task(name="engagement.scores_rollup_all", acks_late=True, ignore_result=True)
def scores_rollup_all_task() -> None:
    """The sweep beat runs every minute: new activity reaches the scores even if
    a rollup task was lost."""
    for segment_id in rollup.segments_scored():
        scores_rollup_task.delay(segment_id)


@shared_task(name="engagement.scores_refresh_all", acks_late=True, ignore_result=True)
def scores_refresh_all_task() -> None:
    """Daily, after midnight UTC: snapshot yesterday's scores, then re-score for
    today (scores decay and stages move with time even without new activity)."""
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    for segment_id in rollup.segments_scored():
        rollup.snapshots_take(segment_id=segment_id, day=yesterday)
        rollup.scores_refresh(segment_id=segment_id)


@shared_task(name="engagement.scores_recompute", acks_late=True, ignore_result=True)
def scores_recompute_task(segment_id: int) -> None:
    rollup.scores_recompute(segment_id=segment_id)
