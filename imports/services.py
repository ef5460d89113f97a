"""The CSV import registry: each kind's columns, its prepare and write
functions (owned by accounts, engagement and campaigns), and `csv_import`, the
one entry point the command and the API call.

The pages' uploaded files (imports.models.ImportFile) go through the
`import_file_*` services at the end: kept, mapped, dry-run and imported as jobs.

The imports app sits above accounts, engagement and campaigns; none of them
imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction
from tqdm import tqdm

from accounts import imports as account_imports
from accounts import services as account_services
from campaigns import imports as campaign_imports
from campaigns.services import Records, spend_import_write
from core import bulk, csvimport
from core.csvimport import Column, ParsedRow, RowError
from core.jobs import JobProgress, job_start
from core.models import Job
from engagement import imports as engagement_imports
from engagement.services import activities as engagement_activities
from engagement.services import junk as engagement_junk
from imports.models import ImportFile


def _prepare_opportunities(rows: Sequence[ParsedRow]) -> Records:
    return account_imports.prepare_opportunities(rows, stage_status=settings.CRM_STAGE_STATUS)


def _contacts_write(
    *, records: Records, write: bool = True, on_batch: bulk.OnBatch | None = None
) -> bulk.UpsertCounts:
    """Contacts whose junk flag an import changed take their activity with them."""
    upserted = account_services.contacts_import_write(
        records=records, write=write, on_batch=on_batch
    )
    if write and upserted.changed_ids:
        engagement_junk.activities_exclusion_sync(contact_ids=upserted.changed_ids)
    return upserted.counts


@dataclass(frozen=True)
class ImportKind:
    columns: tuple[Column, ...]
    prepare: Callable[[Sequence[ParsedRow]], Records]
    write: Callable[..., bulk.UpsertCounts]
    natural_key: str


IMPORT_KINDS: dict[str, ImportKind] = {
    "accounts": ImportKind(account_imports.ACCOUNT_COLUMNS, account_imports.prepare_accounts,
                           account_services.accounts_import_write, "domain, else name"),
    "contacts": ImportKind(account_imports.CONTACT_COLUMNS, account_imports.prepare_contacts,
                           _contacts_write, "email"),
    "opportunities": ImportKind(account_imports.OPPORTUNITY_COLUMNS, _prepare_opportunities,
                                account_services.opportunities_import_write, "external_id"),
    "spend": ImportKind(campaign_imports.SPEND_COLUMNS, campaign_imports.prepare_spend,
                        spend_import_write, "external_id"),
    "activities": ImportKind(engagement_imports.ACTIVITY_COLUMNS,
                             engagement_imports.prepare_activities,
                             engagement_activities.activities_import_write, "message_id"),
    "ip_ranges": ImportKind(engagement_imports.IP_RANGE_COLUMNS,
                            engagement_imports.prepare_ip_ranges,
                            engagement_activities.ip_ranges_import_write, "network"),
}  # fmt: skip


# The permission a user needs to import each kind (the API, the pages and the
# list of files a user may see all ask here).
IMPORT_PERMISSIONS: dict[str, str] = {
    "accounts": "accounts.add_account",
    "contacts": "accounts.add_contact",
    "opportunities": "accounts.add_opportunity",
    "spend": "campaigns.add_spend",
    "activities": "engagement.add_source",
    "ip_ranges": "engagement.add_iprange",
}
# Largest upload accepted from the API and the pages (the pages keep the file
# in the database); bigger exports go through `manage.py import_csv`.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class _User(Protocol):
    def has_perm(self, perm: str) -> bool: ...


def import_kinds_allowed(user: _User) -> list[str]:
    """The kinds `user` may import, in the registry's order."""
    return [kind for kind in IMPORT_KINDS if user.has_perm(IMPORT_PERMISSIONS[kind])]


class ImportProgress(Protocol):
    """Where csv_import reports how far it got (core.jobs.JobProgress is one)."""

    def set_total(self, total: int) -> None: ...

    def advance(self, count: int = 1, *, message: str | None = None) -> None: ...


@dataclass
class ImportResult:
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: list[ParsedRow]
    headers: list[str]
    ignored_columns: list[str]
    dry_run: bool

    @property
    def errors(self) -> list[RowError]:
        return [error for row in self.rejected for error in row.errors]

    def rejects_csv(self) -> str:
        return csvimport.rows_with_errors_csv(self.rejected, self.headers)


class ImportRejected(Exception):
    """The file has invalid rows and nothing was imported; `result.errors` lists them all."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__(f"{len(result.errors)} problem(s) in {len(result.rejected)} row(s)")
        self.result = result


def csv_import(
    *,
    kind: str,
    data: bytes | str,
    column_map: Mapping[str, str] | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: bool | ImportProgress = False,
) -> ImportResult:
    """Import a CSV export of `kind`, all or nothing.

    Every row is validated before anything is written. With any invalid row
    the import raises ImportRejected and changes nothing, unless skip_invalid,
    which imports the valid rows and returns the others in `result.rejected`.
    Rows are upserted by natural key, so importing a file twice changes
    nothing the second time. A dry run validates and counts, and writes nothing.
    Raises csvimport.FileRefused for a file that cannot be read at all.

    `progress`: True draws a bar on the terminal (the command); an
    ImportProgress (a job's) hears of every chunk of rows checked, with its
    total once the file is read, then of every batch written, in its message.
    """
    spec = IMPORT_KINDS.get(kind)
    if spec is None:
        raise csvimport.FileRefused(f"unknown kind {kind!r}; use one of {', '.join(IMPORT_KINDS)}")
    reporter = None if isinstance(progress, bool) else progress

    def rows_checked(count: int) -> None:
        if reporter is not None:
            reporter.advance(count, message="Checking rows")

    parsed = csvimport.read_rows(
        data, columns=spec.columns, column_map=column_map, on_rows=rows_checked
    )
    if reporter is not None:
        reporter.set_total(len(parsed.rows))
    with transaction.atomic():
        records = spec.prepare(parsed.rows)
        result = ImportResult(
            kind=kind, rows=len(parsed.rows), created=0, updated=0, unchanged=0,
            rejected=[row for row in parsed.rows if row.errors], headers=parsed.headers,
            ignored_columns=parsed.ignored, dry_run=dry_run,
        )  # fmt: skip
        if result.rejected and not skip_invalid:
            raise ImportRejected(result)
        on_batch: bulk.OnBatch
        with tqdm(
            total=len(records), unit="row", desc=f"import {kind}", disable=progress is not True
        ) as bar:
            on_batch = bar.update
            if reporter is not None:
                on_batch = _written_reporter(reporter, len(records))
            counts = spec.write(records=records, write=not dry_run, on_batch=on_batch)
        result.created, result.updated, result.unchanged = (
            counts.created, counts.updated, counts.unchanged,
        )  # fmt: skip
    return result


def _written_reporter(reporter: ImportProgress, total: int) -> bulk.OnBatch:
    """Batches written, told in the job's message (its bar counts rows checked)."""
    written = 0

    def on_batch(count: int) -> None:
        nonlocal written
        written += count
        reporter.advance(0, message=f"Writing rows: {written} of {total} written")

    return on_batch


# --- Uploaded files (the import pages): upload, map, dry run, import ---------


class ImportFileRefused(ValueError):
    """A file, a column map or a run that cannot be accepted, with the reason a
    person reads (`field_errors`: per header position, for the mapping form)."""

    def __init__(self, message: str, field_errors: dict[int, str] | None = None) -> None:
        super().__init__(message)
        self.field_errors = field_errors or {}


def import_file_create(
    *, kind: str, file_name: str, data: bytes, created_by_id: int | None
) -> ImportFile:
    """Keep an uploaded CSV file (its bytes in the database) with the header row
    and the number of rows read from it. Refuses (ImportFileRefused) an unknown
    kind, an empty or too large file and one that is not readable CSV text."""
    if kind not in IMPORT_KINDS:
        raise ImportFileRefused(f"unknown kind {kind!r}; use one of {', '.join(IMPORT_KINDS)}")
    if not data:
        raise ImportFileRefused("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImportFileRefused(
            f"the file is {len(data):,} bytes; the most a page takes is {MAX_UPLOAD_BYTES:,} "
            "(50 MB): split it, or use manage.py import_csv"
        )
    try:
        headers, row_count = csvimport.read_headers(data)
    except csvimport.FileRefused as problem:
        raise ImportFileRefused(str(problem)) from None
    if not row_count:
        raise ImportFileRefused("the file has a header row but no rows under it")
    return ImportFile.objects.create(
        kind=kind, file_name=file_name[:255], data=data, size=len(data), headers=headers,
        row_count=row_count, created_by_id=created_by_id,
    )  # fmt: skip


def import_file_columns(import_file: ImportFile) -> list[csvimport.ColumnMatch]:
    """Each column of the file with the field it is read as, and how."""
    return csvimport.columns_match(
        import_file.headers, IMPORT_KINDS[import_file.kind].columns, import_file.column_map
    )


def import_file_map(*, import_file_id: int, fields: Sequence[str]) -> ImportFile:
    """Set what each column is read as (`fields[i]` for the i-th header, "" to
    ignore it). Only the choices that differ from what the column's name
    says are kept. The counts of an earlier dry run no longer hold: the file is
    back to "not checked yet"."""
    with transaction.atomic():
        import_file = ImportFile.objects.select_for_update().get(pk=import_file_id)
        _refuse_while_busy(import_file)
        columns = IMPORT_KINDS[import_file.kind].columns
        headers = import_file.headers
        if len(fields) != len(headers):
            raise ImportFileRefused("choose a field (or ignore) for every column")
        known = {column.field for column in columns}
        errors: dict[int, str] = {}
        first_at: dict[str, int] = {}
        for index, chosen in enumerate(fields):
            if chosen and chosen not in known:
                errors[index] = f"{chosen!r} is not a field of {import_file.kind}"
            elif chosen in first_at:
                errors[index] = f"{chosen} is already read from {headers[first_at[chosen]]!r}"
            elif chosen:
                first_at[chosen] = index
        missing = [c.field for c in columns if c.required and c.field not in first_at]
        if errors or missing:
            raise ImportFileRefused(
                "a required field has no column: " + ", ".join(missing)
                if missing
                else "two columns cannot be read as the same field",
                errors,
            )
        automatic = csvimport.columns_match(headers, columns)
        import_file.column_map = {
            match.key: chosen
            for match, chosen in zip(automatic, fields, strict=True)
            if (match.field or "") != chosen
        }
        _outcome_clear(import_file)
        import_file.job = None  # its outcome was of the earlier map
        import_file.save()
    return import_file


def import_file_run_start(*, import_file_id: int, mode: str, started_by_id: int | None) -> Job:
    """Queue a dry run or an import of the file as a job (imports.tasks). An
    import needs a dry run of the current column map first; "Import all" is
    refused when that dry run rejected rows (nothing would be imported)."""
    from imports import tasks  # the task calls this module: imported when needed

    with transaction.atomic():
        import_file = (
            ImportFile.objects.select_for_update(of=("self",))
            .select_related("job")
            .get(pk=import_file_id)
        )
        _refuse_while_busy(import_file)
        if mode not in ImportFile.Mode.values:
            raise ImportFileRefused(f"unknown mode {mode!r}")
        if mode != ImportFile.Mode.DRY_RUN:
            if import_file.status not in (ImportFile.Status.CHECKED, ImportFile.Status.REJECTED):
                raise ImportFileRefused("run a dry run of this column mapping first")
            if mode == ImportFile.Mode.ALL and import_file.rejected:
                raise ImportFileRefused(
                    f"{import_file.rejected} row(s) fail, so importing all would import "
                    "nothing: import only the valid rows, or fix the file and upload it again"
                )
        label = f"{ImportFile.Mode(mode).label}: {import_file.file_name}"
        job = job_start(
            kind="import_file", label=label, task=tasks.import_file_run,
            task_kwargs={"import_file_id": import_file.pk, "mode": mode},
            created_by_id=started_by_id, total=import_file.row_count, unit="row",
        )  # fmt: skip
        import_file.job = job
        import_file.mode = mode
        import_file.status = (
            ImportFile.Status.CHECKING if mode == ImportFile.Mode.DRY_RUN
            else ImportFile.Status.IMPORTING
        )  # fmt: skip
        import_file.save(update_fields=["job", "mode", "status"])
    return job


def import_file_run(*, import_file_id: int, mode: str, progress: JobProgress) -> ImportFile:
    """The job's work: csv_import of the stored bytes with the file's column map,
    recording the counts, the row errors and the rejected rows on the file in
    the same transaction as the rows it writes."""
    import_file = ImportFile.objects.get(pk=import_file_id)
    _outcome_clear(import_file)
    import_file.mode = mode
    try:
        with transaction.atomic():
            result = csv_import(
                kind=import_file.kind, data=bytes(import_file.data),
                column_map=import_file.column_map, dry_run=mode == ImportFile.Mode.DRY_RUN,
                skip_invalid=mode != ImportFile.Mode.ALL, progress=progress,
            )  # fmt: skip
            _outcome_record(import_file, result)
            import_file.status = (
                ImportFile.Status.CHECKED if result.dry_run else ImportFile.Status.IMPORTED
            )
            verb = "would be" if result.dry_run else "were"
            import_file.message = (
                f"{result.rows} rows read: {result.created} {verb} created, {result.updated} "
                f"updated, {result.unchanged} unchanged; {len(result.rejected)} rejected."
            )
            import_file.save()
    except csvimport.FileRefused as problem:
        import_file.status = ImportFile.Status.REFUSED
        import_file.message = f"The file was refused: {problem}"
        import_file.save()
    except ImportRejected as rejected:
        _outcome_record(import_file, rejected.result)
        import_file.created = import_file.updated = import_file.unchanged = None
        import_file.status = ImportFile.Status.REJECTED
        import_file.message = (
            f"Nothing imported: {len(rejected.result.errors)} problem(s) in "
            f"{len(rejected.result.rejected)} row(s)."
        )
        import_file.save()
    progress.finish(
        message=import_file.message,
        result={
            "created": import_file.created, "updated": import_file.updated,
            "unchanged": import_file.unchanged, "rejected": import_file.rejected,
        },
    )  # fmt: skip
    return import_file


def _refuse_while_busy(import_file: ImportFile) -> None:
    if import_file.status == ImportFile.Status.IMPORTED:
        raise ImportFileRefused("this file has been imported; upload it again to re-import it")
    if import_file.running:
        raise ImportFileRefused("a run of this file is under way: wait for it to finish")


def _outcome_clear(import_file: ImportFile) -> None:
    import_file.status = ImportFile.Status.NEW
    import_file.mode = ""
    import_file.message = ""
    import_file.created = import_file.updated = import_file.unchanged = None
    import_file.rejected = None
    import_file.errors = []
    import_file.rejects = []


def _outcome_record(import_file: ImportFile, result: ImportResult) -> None:
    import_file.created, import_file.updated = result.created, result.updated
    import_file.unchanged, import_file.rejected = result.unchanged, len(result.rejected)
    import_file.errors = [
        {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
        for e in result.errors
    ]
    import_file.rejects = [
        {
            "row": row.row,
            "cells": [row.raw.get(header, "") for header in result.headers],
            "errors": csvimport.row_errors_text(row),
        }
        for row in result.rejected
    ]
