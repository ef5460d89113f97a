from __future__ import annotations

from django.conf import settings
from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the heartbeat task; /healthz reports it."""

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()

    class Meta:
        # Created by config's first migration; the model moved here with its table.
        db_table = "config_workerheartbeat"

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class Job(models.Model):
    """A piece of long work a person started from a page (a membership refresh,
    a recompute, an import): what it is, who started it, and how far it got.

    The Celery task that does the work reports into it through core.jobs; the
    page polls core.jobs.job_state with htmx. Live counts go through the cache
    as well, because the work usually runs inside one transaction that other
    connections cannot see into until it commits.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    # A short code of the work ("segment_membership_refresh"); pages filter on it.
    kind = models.CharField(max_length=60)
    # What a person reads: "Refresh the members of Fintech".
    label = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    # Unknown until the work has counted its input.
    total = models.PositiveIntegerField(null=True, blank=True)
    unit = models.CharField(max_length=20, default="item")
    # The outcome in a sentence, or why it failed.
    message = models.TextField(blank=True)
    # What the work produced, for the page that started it (counts, ids).
    result = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # A page's "recent runs of this kind": WHERE kind = %s ORDER BY created_at DESC.
            models.Index(fields=["kind", "-created_at"], name="core_job_kind_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.status})"
