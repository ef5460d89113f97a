"""Celery tasks of the accounts app: thin wrappers, ids in, one service call each."""

from __future__ import annotations

from celery import shared_task

from accounts.models import ICPSegment
from accounts.services import segment_memberships_refresh
from core.jobs import job_running


@shared_task(name="accounts.segment_refresh", acks_late=True, ignore_result=True)
def segment_refresh_task(segment_id: int) -> None:
    segment_memberships_refresh(segment_id=segment_id)


@shared_task(name="accounts.segments_refresh_all", acks_late=True, ignore_result=True)
def segments_refresh_all_task() -> None:
    """Beat, every 15 minutes: accounts changed by imports and tracking calls join
    and leave segments, and their fit follows."""
    for segment_id in ICPSegment.objects.values_list("pk", flat=True):
        segment_memberships_refresh(segment_id=segment_id)


@shared_task(name="accounts.segment_refresh_job", acks_late=True, ignore_result=True)
def segment_refresh_job_task(*, job_id: int, segment_id: int) -> None:
    """A refresh started from the segment pages, reporting into its core Job."""
    with job_running(job_id) as progress:
        segment_memberships_refresh(segment_id=segment_id, progress=progress)
