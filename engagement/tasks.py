"""Celery tasks of the engagement app: thin wrappers, ids in, one service call each.

Every task is idempotent: a rollup claims only pending activity and adds it in
the same transaction, so a crashed one leaves its rows pending for the next; a
recompute resumes from its last committed account range.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.jobs import job_running
from engagement.alerts import alert_deliver, alerts_deliver_due
from engagement.rollup import baselines, incremental, recompute, scoring_models, snapshots
from engagement.services.junk import junk_rules_apply
from engagement.services.partitions import (
    activity_default_partition_vacuum,
    activity_partitions_ensure,
    activity_statistics_refresh,
)
from engagement.services.retention import activity_retention_apply


@shared_task(name="engagement.scores_rollup", acks_late=True, ignore_result=True)
def scores_rollup_task(segment_id: int) -> None:
    """Claim pending activity into every scored segment (this one recomputed if it
    was never scored)."""
    incremental.scores_rollup(segment_id=segment_id)


@shared_task(name="engagement.scores_rollup_pending", acks_late=True, ignore_result=True)
def scores_rollup_pending_task() -> None:
    """Enqueued after ingest commits, debounced (incremental.scores_rollup_schedule)."""
    incremental.scores_rollup_pending()


@shared_task(name="engagement.scores_rollup_all", acks_late=True, ignore_result=True)
def scores_rollup_all_task() -> None:
    """The sweep beat runs every minute: new activity reaches the scores even if
    an ingest-triggered task was lost, segments never scored get their first
    recompute, and a recompute that crashed is resumed."""
    for segment_id in recompute.segments_to_recompute():
        recompute.scores_recompute(segment_id=segment_id)
    incremental.scores_rollup(on_full_batch=incremental.rollup_continue)


@shared_task(name="engagement.scores_refresh_all", acks_late=True, ignore_result=True)
def scores_refresh_all_task() -> None:
    """Daily, after midnight UTC: snapshot yesterday's scores, then rebuild today's
    from all claimed activity (scores decay and stages move with time even
    without new activity). Rollups never miss an activity (claims), but they
    never revisit one either: the nightly recompute is what brings changes to
    old activity's worth into the scores within a day (a junk flag set or
    reversed, a visitor identified, a seniority edited, an account that joined
    the segment with a history). Chunked and resumable, so it cannot hold the
    segment for long. Last, each segment's change baselines for today, which
    the account list sorted by score change reads (rollup/baselines.py)."""
    today = timezone.now().date()
    yesterday = today - dt.timedelta(days=1)
    for segment_id in scoring_models.segments_scored():
        snapshots.snapshots_take(segment_id=segment_id, day=yesterday)
        recompute.scores_recompute(segment_id=segment_id)
        # Last: the account list by score change reads them from now on.
        baselines.change_baselines_set(segment_id=segment_id, today=today)


@shared_task(name="engagement.scores_recompute", acks_late=True, ignore_result=True)
def scores_recompute_task(segment_id: int) -> None:
    recompute.scores_recompute(segment_id=segment_id)


@shared_task(name="engagement.scores_recompute_job", acks_late=True, ignore_result=True)
def scores_recompute_job_task(job_id: int, segment_id: int) -> None:
    """A segment's full recompute started from a page (a scoring model saved):
    its progress and outcome are core Job `job_id`'s."""
    with job_running(job_id) as progress:
        recompute.scores_recompute_reported(segment_id=segment_id, progress=progress)


@shared_task(name="engagement.alert_deliver", acks_late=True, ignore_result=True)
def alert_deliver_task(alert_id: int) -> None:
    """Enqueued when the alert commits. A failure is recorded on the alert, not
    raised: the sweep below retries it (engagement/alerts.py has the policy)."""
    alert_deliver(alert_id=alert_id)


@shared_task(name="engagement.alerts_deliver_due", acks_late=True, ignore_result=True)
def alerts_deliver_due_task() -> None:
    """Beat, every minute: deliver the alerts whose next try has come."""
    alerts_deliver_due()


@shared_task(name="engagement.junk_rules_apply", acks_late=True, ignore_result=True)
def junk_rules_apply_task(job_id: int) -> None:
    """Started by the junk rules page after a save (a core Job): every contact
    no person reviewed is judged again by the saved lists."""
    with job_running(job_id) as progress:
        junk_rules_apply(progress=progress)


@shared_task(name="engagement.activity_retention", acks_late=True, ignore_result=True)
def activity_retention_task() -> None:
    """Nightly: fold and drop raw activity older than ACTIVITY_RETENTION_MONTHS
    whole months (nothing while the setting is unset). Idempotent: a run with
    nothing older does nothing."""
    if settings.ACTIVITY_RETENTION_MONTHS:
        activity_retention_apply(months=settings.ACTIVITY_RETENTION_MONTHS)


@shared_task(name="engagement.activity_partitions_ensure", acks_late=True, ignore_result=True)
def activity_partitions_ensure_task() -> None:
    """Nightly: the activity table's partitions of this month and the next two,
    and of the months waiting in its default partition, then a VACUUM of the
    default partition (the moved rows' dead copies, once the move committed)
    and the table's statistics as a whole, which autovacuum never takes
    (PostgreSQL; nothing on SQLite). Idempotent."""
    activity_partitions_ensure()
    activity_default_partition_vacuum()
    activity_statistics_refresh()
