"""The import pages' long work, run by Celery: thin, ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from core.jobs import job_running
from imports import services


@shared_task(name="imports.import_file_run", acks_late=True, ignore_result=True)
def import_file_run(*, job_id: int, import_file_id: int, mode: str) -> None:
    """A dry run or an import of an uploaded file, reported into job `job_id`."""
    with job_running(job_id) as progress:
        services.import_file_run(import_file_id=import_file_id, mode=mode, progress=progress)
