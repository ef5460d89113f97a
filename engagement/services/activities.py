"""Activity writes: the bulk insert every path uses (one JSON-rows statement on
PostgreSQL, bulk_create elsewhere), and the CSV import writes of the
`activities` and `ip_ranges` kinds."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from accounts.identity import ContactIdentity, ContactRef, contacts_identify
from accounts.junk import junk_exclusion_reason
from accounts.models import Contact
from accounts.traits import ContactTraits
from core import bulk
from engagement.imports import IMPORT_SOURCE_NAME
from engagement.models import Activity, IPRange, Source
from engagement.rollup.incremental import scores_rollup_schedule
from engagement.selectors import messages_stored
from engagement.services.sources import source_ensure

BATCH_SIZE = bulk.BATCH_SIZE
OnBatch = bulk.OnBatch


@dataclass(frozen=True, slots=True)
class ActivityRow:
    message_id: str
    type: str
    occurred_at: datetime
    account_id: int | None = None
    contact_id: int | None = None
    anonymous_id: str = ""
    ip: str | None = None
    tracking_key: str = ""
    event_name: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    excluded_reason: str = ""


def activities_bulk_insert(
    *,
    source_id: int,
    rows: Sequence[ActivityRow],
    batch_size: int = BATCH_SIZE,
    on_batch: OnBatch | None = None,
) -> int:
    """Insert activities of one source; (source, message_id) already stored are
    skipped. Returns how many were inserted.

    Skipping, not updating, is the ingest contract: a message id is delivered
    at least once and the first delivery wins. Callers stream large volumes
    in slices and wrap the whole load in their own transaction.

    On PostgreSQL each slice is one `INSERT ... SELECT FROM json_to_recordset`:
    a statement of constant text with the rows as one JSON parameter, which
    orjson writes and PostgreSQL parses far faster than per-value parameters
    (the tracking API's hot path, docs/benchmarks.md). Elsewhere, bulk_create.
    """
    insert = (
        _activities_insert_postgresql
        if connection.vendor == "postgresql"
        else _activities_insert_orm
    )
    inserted = 0
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        inserted += insert(source_id=source_id, rows=chunk)
        if on_batch is not None:
            on_batch(len(chunk))
    return inserted


def _activities_insert_orm(*, source_id: int, rows: Sequence[ActivityRow]) -> int:
    stored = messages_stored(source_id=source_id, message_ids=[row.message_id for row in rows])
    new = [row for row in rows if row.message_id not in stored]
    Activity.objects.bulk_create(
        [
            Activity(
                source_id=source_id,
                message_id=row.message_id,
                type=row.type,
                occurred_at=row.occurred_at,
                account_id=row.account_id,
                contact_id=row.contact_id,
                anonymous_id=row.anonymous_id,
                ip=row.ip,
                tracking_key=row.tracking_key,
                event_name=row.event_name,
                properties=row.properties,
                excluded_reason=row.excluded_reason,
            )
            for row in new
        ],
        ignore_conflicts=True,
    )
    return len(new)


# No ON CONFLICT: a message id stored already is skipped by the table's
# BEFORE INSERT trigger (engagement.models.ActivityMessage), and the row count
# is the number of rows inserted.
_ACTIVITIES_INSERT_POSTGRESQL = """
INSERT INTO engagement_activity (
    source_id, received_at, message_id, type, occurred_at, account_id, contact_id,
    anonymous_id, ip, tracking_key, event_name, properties, excluded_reason
)
SELECT %s, %s, r.m, r.t, r.o, r.a, r.c, r.an, r.ip::inet, r.tk, r.en, r.p, r.er
FROM json_to_recordset(%s::json) AS r (
    m varchar, t varchar, o timestamptz, a bigint, c bigint, an varchar, ip varchar,
    tk varchar, en varchar, p jsonb, er varchar
)
"""


def _rows_json(rows: Sequence[ActivityRow]) -> str:
    records = [
        {
            "m": r.message_id,
            "t": r.type,
            "o": r.occurred_at.isoformat(),
            "a": r.account_id,
            "c": r.contact_id,
            "an": r.anonymous_id,
            "ip": r.ip or None,
            "tk": r.tracking_key,
            "en": r.event_name,
            "p": r.properties,
            "er": r.excluded_reason,
        }
        for r in rows
    ]
    return records_json(records)


def records_json(records: list[dict[str, Any]]) -> str:
    try:
        return orjson.dumps(records).decode()
    except TypeError:  # non-string keys, huge integers ...: what json.dumps accepts
        return json.dumps(records)


def _activities_insert_postgresql(*, source_id: int, rows: Sequence[ActivityRow]) -> int:
    # Like auto_now_add, but one instant for the slice.
    received_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVITIES_INSERT_POSTGRESQL, [source_id, received_at, _rows_json(rows)])
        return cursor.rowcount


# --- CSV import writes (rows validated by engagement.imports) ---------------------


@transaction.atomic
def ip_ranges_import_write(
    *, records: Sequence[tuple[Any, dict[str, Any]]], write: bool = True,
    on_batch: bulk.OnBatch | None = None,
) -> bulk.UpsertCounts:  # fmt: skip
    return bulk.upsert_by_key(
        model=IPRange, key="network", rows=[v for _, v in records],
        fields=("first_address", "last_address", "domain"), write=write, on_batch=on_batch,
    ).counts  # fmt: skip


@transaction.atomic
def activities_import_write(
    *, records: Sequence[tuple[Any, dict[str, Any]]], write: bool = True,
    on_batch: bulk.OnBatch | None = None,
) -> bulk.UpsertCounts:  # fmt: skip
    """Insert imported activities once each (by message id in the import source);
    contacts named by email are created or linked as an identify would."""
    source_id: int | None = None
    if write:
        source_id = source_ensure(name=IMPORT_SOURCE_NAME, write_key=secrets.token_urlsafe(24))
    else:  # a dry run writes nothing, not even the import's source (issue 18)
        source_id = (
            Source.objects.filter(name=IMPORT_SOURCE_NAME).values_list("pk", flat=True).first()
        )
    values = [v for _, v in records]
    stored = messages_stored(
        source_id=source_id or 0,  # none without the source
        message_ids=[v["message_id"] for v in values],
    )
    new = [v for v in values if v["message_id"] not in stored]
    counts = bulk.UpsertCounts(created=len(new), unchanged=len(values) - len(new))
    if not write or not new or source_id is None:
        return counts
    emails = sorted({v["email"] for v in new if v["email"]})
    contacts_identify(
        identities=[ContactIdentity(user_id="", traits=_email_only(e)) for e in emails]
    )
    people: dict[str, ContactRef] = {}
    for chunk in bulk.chunks(emails, bulk.LOOKUP_CHUNK):
        for email, pk, account_id, junk, reason in Contact.objects.filter(
            email__in=chunk
        ).values_list("email", "id", "account_id", "is_junk", "junk_reason"):
            people[email or ""] = ContactRef(
                id=pk, account_id=account_id, junk_reason=reason if junk else ""
            )
    rows = []
    for v in new:
        person = people.get(v["email"]) if v["email"] else None
        rows.append(
            ActivityRow(
                message_id=v["message_id"],
                type=v["type"],
                occurred_at=v["occurred_at"],
                account_id=v["account_id"] or (person.account_id if person else None),
                contact_id=person.id if person else None,
                tracking_key=v["tracking_key"],
                event_name=v["event_name"][:200],
                excluded_reason=junk_exclusion_reason(person.junk_reason) if person else "",
            )
        )
    activities_bulk_insert(source_id=source_id, rows=rows, on_batch=on_batch)
    transaction.on_commit(scores_rollup_schedule, robust=True)
    return counts


def _email_only(email: str) -> ContactTraits:
    return ContactTraits(
        email=email, first_name="", last_name="", title="", seniority="", job_function="",
        buying_role="", country="",
    )  # fmt: skip
