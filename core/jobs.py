"""Long work started from a page, run as a Celery task, with progress a page can poll.

The three steps, one owner each:

- the view calls `job_start(...)` with the task to run: it writes the Job row
  and sends the task once that row is committed (eager mode runs it there and
  then, so the page it redirects to already shows the outcome);
- the task wraps its one service call in `job_running(job_id)`, which marks the
  job running, hands the service a `JobProgress` to report into, and records
  the outcome (done with its message and result, or failed with the reason);
- the page renders `job_state(job_id)`, polled by web/templates/web/job_progress.html.

Live counts are written to the cache, not only to the row: the work usually
holds one transaction open until the end, so a row update made inside it is
invisible to the polling request until it commits. With the embedded
settings' local-memory cache the task runs in the web process (eager), so the
page that polls it shares the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from core.models import Job

logger = logging.getLogger(__name__)

# How long live counts stay in the cache after the last report (the row keeps
# the final figures for ever).
_LIVE_SECONDS = 24 * 3600
# At most one cache write per this many seconds from a busy loop.
_REPORT_EVERY = 0.25


class _Task(Protocol):
    def delay(self, *args: Any, **kwargs: Any) -> Any: ...


def _live_key(job_id: int) -> str:
    return f"core.job.{job_id}"


def job_start(
    *,
    kind: str,
    label: str,
    task: _Task,
    task_kwargs: dict[str, Any] | None = None,
    created_by_id: int | None,
    total: int | None = None,
    unit: str = "item",
) -> Job:
    """Record a job and queue `task(job_id=..., **task_kwargs)` once the row is
    committed (never before: a worker would not find it)."""
    job = Job.objects.create(
        kind=kind, label=label, created_by_id=created_by_id, total=total, unit=unit
    )
    kwargs = {"job_id": job.pk, **(task_kwargs or {})}
    transaction.on_commit(lambda: task.delay(**kwargs))
    return job


@dataclass
class JobProgress:
    """What a service reports while it works: `advance`, `set_total`, and at the
    end `finish` with the sentence and the result the page shows."""

    job_id: int
    done: int = 0
    total: int | None = None
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    _reported_at: float = 0.0

    def set_total(self, total: int) -> None:
        self.total = total
        self._report(force=True)

    def advance(self, count: int = 1, *, message: str | None = None) -> None:
        self.done += count
        if message is not None:
            self.message = message
        self._report()

    def finish(self, *, message: str, result: dict[str, Any] | None = None) -> None:
        self.message = message
        if result is not None:
            self.result = result
        if self.total is None:
            self.total = self.done
        self._report(force=True)

    def _report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._reported_at < _REPORT_EVERY:
            return
        self._reported_at = now
        live = {"done": self.done, "total": self.total, "message": self.message}
        cache.set(_live_key(self.job_id), live, _LIVE_SECONDS)
        if not connection.in_atomic_block:
            # Outside a transaction the row is visible at once; keep it current
            # too, for a deployment whose web and workers share no cache.
            Job.objects.filter(pk=self.job_id).update(done=self.done, total=self.total)


@contextmanager
def job_running(job_id: int) -> Iterator[JobProgress]:
    """Run the body as job `job_id`: running now; done (with what `finish`
    reported) when the body returns; failed, with the reason, when it raises.

    A failure is recorded and logged but not raised again: the job row is where
    a person reads it, and a retry of the same inputs would fail the same way.
    """
    Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, started_at=timezone.now())
    # The total may be known when the job is started (the rows of a file).
    total = Job.objects.filter(pk=job_id).values_list("total", flat=True).first()
    progress = JobProgress(job_id=job_id, total=total)
    try:
        yield progress
    except Exception as error:
        logger.exception("job %s failed", job_id)
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.FAILED,
            done=progress.done,
            total=progress.total,
            message=f"Failed: {error}"[:2000],
            finished_at=timezone.now(),
        )
        cache.delete(_live_key(job_id))
        return
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.DONE,
        done=progress.done,
        total=progress.total if progress.total is not None else progress.done,
        message=progress.message,
        result=progress.result,
        finished_at=timezone.now(),
    )
    cache.delete(_live_key(job_id))


@dataclass(frozen=True)
class JobState:
    """A job as a page shows it."""

    id: int
    kind: str
    label: str
    status: str
    done: int
    total: int | None
    unit: str
    message: str
    result: dict[str, Any]
    created_by_id: int | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def status_label(self) -> str:
        return str(Job.Status(self.status).label)

    @property
    def finished(self) -> bool:
        return self.status in (Job.Status.DONE, Job.Status.FAILED)

    @property
    def percent(self) -> int | None:
        """Whole per cent done, or None while the total is unknown."""
        if self.status == Job.Status.DONE:
            return 100
        if not self.total:
            return None
        return min(100, self.done * 100 // self.total)


def _state(job: Job) -> JobState:
    done, total, message = job.done, job.total, job.message
    if job.status in (Job.Status.QUEUED, Job.Status.RUNNING):
        live = cache.get(_live_key(job.pk))
        if live:
            done, total = live["done"], live["total"]
            message = live["message"] or message
    return JobState(
        id=job.pk,
        kind=job.kind,
        label=job.label,
        status=job.status,
        done=done,
        total=total,
        unit=job.unit,
        message=message,
        result=job.result,
        created_by_id=job.created_by_id,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def job_state(job_id: int) -> JobState | None:
    """The job with its live counts, or None if there is no such job."""
    job = Job.objects.filter(pk=job_id).first()
    return _state(job) if job else None


def jobs_recent(*, kind: str, limit: int = 10) -> list[JobState]:
    """The latest jobs of a kind, newest first (one query)."""
    return [_state(job) for job in Job.objects.filter(kind=kind).order_by("-created_at")[:limit]]
