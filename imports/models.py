"""The files people upload on the import pages, with what became of them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ImportFile(models.Model):
    """One uploaded CSV file: its bytes, kind and column map, and the outcome of
    its latest run (a dry run, or an import of all rows or of the valid ones).

    The bytes live in the database (at most imports.services.MAX_UPLOAD_BYTES,
    50 MB), so a Celery worker on another machine reads the same file as the
    page that took it. Counts are None until a run has produced them.
    """

    class Status(models.TextChoices):
        NEW = "new", "Not checked yet"
        CHECKING = "checking", "Dry run running"
        CHECKED = "checked", "Dry run done"
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"
        REJECTED = "rejected", "Nothing imported: rows failed"
        REFUSED = "refused", "File refused"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        DRY_RUN = "dry_run", "Dry run"
        ALL = "all", "Import all"
        VALID_ONLY = "valid_only", "Import only the valid rows"

    # The statuses of a file whose job is still at work.
    RUNNING = (Status.CHECKING, Status.IMPORTING)

    kind = models.CharField(max_length=20)  # a key of imports.services.IMPORT_KINDS
    file_name = models.CharField(max_length=255)
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    # The header row as uploaded, and the rows with content under it.
    headers = models.JSONField(default=list)
    row_count = models.PositiveIntegerField()
    # Header key -> field, only where a person changed what was recognised
    # ("" ignores the column): csv_import's column_map.
    column_map = models.JSONField(default=dict, blank=True)
    # The latest run's mode ("" before any).
    mode = models.CharField(max_length=12, choices=Mode.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    # The latest run's outcome in a sentence, or why the file was refused.
    message = models.TextField(blank=True)
    created = models.PositiveIntegerField(null=True, blank=True)
    updated = models.PositiveIntegerField(null=True, blank=True)
    unchanged = models.PositiveIntegerField(null=True, blank=True)
    rejected = models.PositiveIntegerField(null=True, blank=True)
    # Every row error of the latest run: [{row, column, value, reason}, ...].
    errors = models.JSONField(default=list, blank=True)
    # The rejected rows as uploaded: [{row, cells: [...], errors: "..."}, ...].
    rejects = models.JSONField(default=list, blank=True)
    job = models.ForeignKey(
        "core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The import list, newest first: ORDER BY created_at DESC (LIMIT a page).
            models.Index(fields=["-created_at"], name="imports_file_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.kind})"

    @property
    def status_shown(self) -> str:
        """The status a person reads: a run whose job failed is failed (the job
        records why), though the file's own row still says it was running."""
        job = self.job if self.job_id is not None else None
        if self.status in self.RUNNING and job is not None and job.status == "failed":
            return self.Status.FAILED
        return self.status

    @property
    def status_shown_label(self) -> str:
        return str(self.Status(self.status_shown).label)

    @property
    def running(self) -> bool:
        return self.status_shown in self.RUNNING
