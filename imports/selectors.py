"""Reads of the import pages: uploaded files without their bytes (fixed query counts)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from imports.models import ImportFile

# What the list shows of a file (its bytes, errors and rejected rows stay behind).
_LIST_FIELDS = (
    "kind", "file_name", "size", "row_count", "status", "mode", "created", "updated",
    "unchanged", "rejected", "created_at", "created_by__username", "created_by__first_name",
    "created_by__last_name", "job__status",
)  # fmt: skip


def import_files_recent(*, kinds: Sequence[str]) -> QuerySet[ImportFile]:
    """Files of `kinds`, newest first, with who uploaded them and their job's
    status joined (one query per page, whatever the number of files)."""
    return (
        ImportFile.objects.filter(kind__in=kinds)
        .select_related("created_by", "job")
        .only(*_LIST_FIELDS)
        .order_by("-created_at", "-pk")
    )


def import_file_for_page(*, import_file_id: int) -> ImportFile | None:
    """One file for its page: everything but the bytes and the rejected rows,
    with its uploader and job (one query)."""
    return (
        ImportFile.objects.select_related("created_by", "job")
        .defer("data", "rejects")
        .filter(pk=import_file_id)
        .first()
    )


def import_file_rejects(*, import_file_id: int) -> ImportFile | None:
    """A file's name, kind, header row and rejected rows (the rejects download)."""
    return (
        ImportFile.objects.only("kind", "file_name", "headers", "rejects")
        .filter(pk=import_file_id)
        .first()
    )
