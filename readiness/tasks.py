"""Celery tasks of readiness: thin, ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from core.jobs import job_running


@shared_task(name="readiness.models_train_scheduled", acks_late=True, ignore_result=True)
def models_train_scheduled_task() -> None:
    """Beat (django-celery-beat, default 04:00 UTC on the 2nd of each month):
    a new model version for every active segment. A duplicate delivery only
    adds a version."""
    from readiness.services import readiness_models_train

    readiness_models_train()


@shared_task(name="readiness.models_train_job", acks_late=True, ignore_result=True)
def models_train_job_task(*, job_id: int, segment_ids: list[int] | None = None) -> None:
    """A training run started from a page, as core Job `job_id`."""
    from readiness.services import readiness_models_train

    with job_running(job_id) as progress:
        readiness_models_train(segment_ids=segment_ids, progress=progress)


@shared_task(name="readiness.scores_refresh_all", acks_late=True, ignore_result=True)
def scores_refresh_all_task() -> None:
    """Beat (daily, after the scores' daily refresh and snapshots): every member
    of every active segment scored on yesterday's features."""
    from readiness.services import readiness_scores_refresh

    readiness_scores_refresh()
