"""Celery tasks of the campaigns app: thin wrappers, ids in, one service call each.

Every touch task recomputes whole (program, account) pairs from all their
activity, so a retry or a duplicate delivery changes nothing.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from campaigns import ranking, touches
from campaigns.models import RankingTrigger
from core.jobs import job_running


@shared_task(name="campaigns.touches_refresh", acks_late=True, ignore_result=True)
def touches_refresh_task(activity_ids: list[int]) -> None:
    """The pairs of the given activities."""
    touches.touches_refresh(activity_ids=activity_ids)


@shared_task(name="campaigns.touches_refresh_batch", acks_late=True, ignore_result=True)
def touches_refresh_batch_task(batch_id: int) -> None:
    """After a score rollup claimed a batch of new activity: its touches."""
    touches.touches_refresh_batch(batch_id=batch_id)


def touches_refresh_batch_enqueue(sender: object, *, batch_id: int, **_: object) -> None:
    """Receiver of engagement's `activity_batch_claimed` (connected in apps.py)."""
    touches_refresh_batch_task.delay(batch_id)


@shared_task(name="campaigns.touches_sweep", acks_late=True, ignore_result=True)
def touches_sweep_task() -> None:
    """Beat, every five minutes: activity the hook did not announce (imports, lost
    tasks, late commits) reaches the touches within minutes."""
    touches.touches_sweep()


@shared_task(name="campaigns.touches_recompute", acks_late=True, ignore_result=True)
def touches_recompute_task() -> None:
    """Beat, daily: every touch from scratch; repairs whatever the sweep cannot."""
    touches.touches_recompute()


@shared_task(name="campaigns.program_touches_recompute", acks_late=True, ignore_result=True)
def program_touches_recompute_task(program_id: int) -> None:
    touches.program_touches_recompute(program_id=program_id)


@shared_task(name="campaigns.programs_rank_scheduled", acks_late=True, ignore_result=True)
def programs_rank_scheduled_task() -> None:
    """Beat (django-celery-beat, default 1 January and 1 July): rank the six months
    just ended. Each run is stored, so a duplicate delivery only adds a run."""
    from campaigns.services import ranking_run

    start, end = ranking.previous_half_year(timezone.now().date())
    ranking_run(start=start, end=end, trigger=RankingTrigger.SCHEDULE)


@shared_task(name="campaigns.ranking_run_job", acks_late=True, ignore_result=True)
def ranking_run_job_task(*, job_id: int, start: str, end: str, metric: str, user_id: int) -> None:
    """A run started from the ranking page, as core Job `job_id` (dates as ISO
    strings: task arguments travel as JSON)."""
    from campaigns.services import ranking_run

    with job_running(job_id) as progress:
        ranking_run(
            start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end), metric=metric,
            user_id=user_id, progress=progress,
        )  # fmt: skip
