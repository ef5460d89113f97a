"""The CSV import registry: each kind's columns, its prepare and write
functions (owned by accounts, engagement and campaigns), and `csv_import`, the
one entry point the command and the API call.

The imports app sits above accounts, engagement and campaigns; none of them
imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from tqdm import tqdm

from accounts import imports as account_imports
from accounts import services as account_services
from campaigns import imports as campaign_imports
from campaigns.services import Records, spend_import_write
from core import bulk, csvimport
from core.csvimport import Column, ParsedRow, RowError
from engagement import imports as engagement_imports
from engagement.services import activities as engagement_activities
from engagement.services import junk as engagement_junk


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
    progress: bool = False,
) -> ImportResult:
    """Import a CSV export of `kind`, all or nothing.

    Every row is validated before anything is written. With any invalid row
    the import raises ImportRejected and changes nothing, unless skip_invalid,
    which imports the valid rows and returns the others in `result.rejected`.
    Rows are upserted by natural key, so importing a file twice changes
    nothing the second time. A dry run validates and counts, and writes nothing.
    Raises csvimport.FileRefused for a file that cannot be read at all.
    """
    spec = IMPORT_KINDS.get(kind)
    if spec is None:
        raise csvimport.FileRefused(f"unknown kind {kind!r}; use one of {', '.join(IMPORT_KINDS)}")
    parsed = csvimport.read_rows(data, columns=spec.columns, column_map=column_map)
    with transaction.atomic():
        records = spec.prepare(parsed.rows)
        result = ImportResult(
            kind=kind, rows=len(parsed.rows), created=0, updated=0, unchanged=0,
            rejected=[row for row in parsed.rows if row.errors], headers=parsed.headers,
            ignored_columns=parsed.ignored, dry_run=dry_run,
        )  # fmt: skip
        if result.rejected and not skip_invalid:
            raise ImportRejected(result)
        with tqdm(
            total=len(records), unit="row", desc=f"import {kind}", disable=not progress
        ) as bar:
            counts = spec.write(records=records, write=not dry_run, on_batch=bar.update)
        result.created, result.updated, result.unchanged = (
            counts.created, counts.updated, counts.unchanged,
        )  # fmt: skip
    return result
