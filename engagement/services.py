"""Writes to sources, scoring models and activities."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from config import bulk
from engagement.models import Activity, ScoringModel, Source

BATCH_SIZE = bulk.BATCH_SIZE
OnBatch = bulk.OnBatch


def write_key_hash(write_key: str) -> str:
    """What is stored for a write key: its SHA-256, never the key itself."""
    return hashlib.sha256(write_key.encode()).hexdigest()


@transaction.atomic
def source_ensure(*, name: str, write_key: str) -> int:
    """The id of the source named `name`, created with `write_key` when missing.

    An existing source keeps its key: rotating it would break every client
    that already sends with it.
    """
    source, _ = Source.objects.get_or_create(
        name=name,
        defaults={"write_key_hash": write_key_hash(write_key), "write_key_prefix": write_key[:8]},
    )
    return source.pk


@transaction.atomic
def scoring_models_default_ensure(*, segment_ids: Iterable[int]) -> int:
    """Give each segment without any scoring model version 1 with the DESIGN 4 defaults.

    Segments that already have a model are left alone, so a marketer's tuning
    survives a re-seed. Returns how many models were created.
    """
    wanted = set(segment_ids)
    having = set(
        ScoringModel.objects.filter(segment_id__in=wanted).values_list("segment_id", flat=True)
    )
    created = ScoringModel.objects.bulk_create(
        [
            ScoringModel(segment_id=segment_id, version=1, is_current=True)
            for segment_id in sorted(wanted - having)
        ]
    )
    return len(created)


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
) -> None:
    """Insert activities of one source; (source, message_id) already stored are skipped.

    Skipping, not updating, is the ingest contract: a message id is delivered
    at least once and the first delivery wins. Callers stream large volumes
    in slices and wrap the whole load in their own transaction.
    """
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
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
                for row in chunk
            ],
            batch_size=batch_size,
            ignore_conflicts=True,
        )
        if on_batch is not None:
            on_batch(len(chunk))
