"""Celery tasks of the engagement app: thin wrappers, ids in, one service call each.

Every task is idempotent: a rollup re-run after a crash starts from the cursor
its transaction left, so it gives the same scores.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from engagement import rollup
from engagement.alerts import WebhookFailed, alert_deliver


@shared_task(name="engagement.scores_rollup", acks_late=True, ignore_result=True)
def scores_rollup_task(segment_id: int) -> None:
    rollup.scores_rollup(segment_id=segment_id)


@shared_task(name="engagement.scores_rollup_all", acks_late=True, ignore_result=True)
def scores_rollup_all_task() -> None:
    """The sweep beat runs every minute: new activity reaches the scores even if
    a rollup task was lost."""
    # Inline, not one task per segment: segments are few, and each rollup locks
    # its own cursor, so a slow segment cannot be rolled up twice at once.
    for segment_id in rollup.segments_scored():
        rollup.scores_rollup(segment_id=segment_id)


@shared_task(name="engagement.scores_refresh_all", acks_late=True, ignore_result=True)
def scores_refresh_all_task() -> None:
    """Daily, after midnight UTC: snapshot yesterday's scores, then rebuild today's
    from all activity (scores decay and stages move with time even without new
    activity). The full recompute also repairs the one thing an incremental
    rollup can miss: an activity whose transaction committed after a rollup had
    already moved its cursor past that activity's id (docs/architecture.md)."""
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    for segment_id in rollup.segments_scored():
        rollup.snapshots_take(segment_id=segment_id, day=yesterday)
        rollup.scores_recompute(segment_id=segment_id)


@shared_task(name="engagement.scores_recompute", acks_late=True, ignore_result=True)
def scores_recompute_task(segment_id: int) -> None:
    rollup.scores_recompute(segment_id=segment_id)


@shared_task(
    name="engagement.alert_deliver",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(WebhookFailed,),
    retry_backoff=5,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=8,
)
def alert_deliver_task(alert_id: int) -> None:
    alert_deliver(alert_id=alert_id)
