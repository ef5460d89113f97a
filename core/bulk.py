"""Set-based write helpers shared by every app's services (no business rules here)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models
from django.utils import timezone

BATCH_SIZE = 2000
# Below SQLite's default limit of 999 bound parameters per statement.
LOOKUP_CHUNK = 900

OnBatch = Callable[[int], object]  # progress callbacks; any return value is ignored
# merge(field, stored value, incoming value) -> the value the stored row takes.
Merge = Callable[[str, Any, Any], Any]
T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def ids_by_natural_key(
    *, model: type[models.Model], field_name: str, keys: Iterable[Any]
) -> dict[Any, int]:
    """natural key -> id for `keys`, read in chunks so SQLite's parameter limit holds."""
    unique_keys = sorted(set(keys))
    found: dict[Any, int] = {}
    for chunk in chunks(unique_keys, LOOKUP_CHUNK):
        found.update(
            model._default_manager.filter(**{f"{field_name}__in": chunk}).values_list(
                field_name, "id"
            )
        )
    return found


def bulk_upsert(
    *,
    model: type[models.Model],
    objects: Sequence[models.Model],
    unique_fields: Sequence[str],
    update_fields: Sequence[str],
    batch_size: int = BATCH_SIZE,
    on_batch: OnBatch | None = None,
) -> None:
    """INSERT ... ON CONFLICT (unique_fields) DO UPDATE, one statement per batch."""
    for chunk in chunks(objects, batch_size):
        model._default_manager.bulk_create(
            list(chunk),
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=list(unique_fields),
            update_fields=list(update_fields),
        )
        if on_batch is not None:
            on_batch(len(chunk))


def bulk_upsert_ids(
    *,
    model: type[models.Model],
    objects: Sequence[models.Model],
    key: str,
    update_fields: Sequence[str],
    batch_size: int = BATCH_SIZE,
    on_batch: OnBatch | None = None,
) -> dict[Any, int]:
    """`bulk_upsert` on one natural key, then natural key -> id of every row
    (bulk_create does not return the ids of rows it updated)."""
    bulk_upsert(
        model=model,
        objects=objects,
        unique_fields=[key],
        update_fields=update_fields,
        batch_size=batch_size,
        on_batch=on_batch,
    )
    return ids_by_natural_key(
        model=model, field_name=key, keys=(getattr(obj, key) for obj in objects)
    )


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass
class Upserted:
    counts: UpsertCounts
    ids: dict[Any, int]  # natural key -> id, for every row
    changed_ids: list[int]  # existing rows that were updated


def upsert_by_key(
    *,
    model: type[models.Model],
    key: str,
    rows: Sequence[Mapping[str, Any]],
    fields: Sequence[str],
    write: bool = True,
    on_batch: OnBatch | None = None,
    scope: models.Q | None = None,
    merge: Merge | None = None,
) -> Upserted:
    """Insert rows whose `key` is new and update the others, counting which is which.

    `scope` narrows which stored rows may match (accounts without a domain, say).
    A None value means "not given": it lets a new row take the model's default,
    and by default leaves a stored value alone; `merge(field, stored, incoming)`
    says otherwise what a stored row's field becomes (the owning app's policy:
    accounts.merge for accounts and contacts). Reads are chunked by key and
    writes are `bulk_create` and `bulk_update`, so the cost does not grow per
    row in queries. With write=False nothing is written (a dry run), counts are
    exact.
    """
    existing: dict[Any, models.Model] = {}
    stored_rows = model._default_manager.filter(scope or models.Q())
    for chunk in chunks([row[key] for row in rows], LOOKUP_CHUNK):
        for stored in stored_rows.filter(**{f"{key}__in": chunk}):
            existing[getattr(stored, key)] = stored
    has_updated_at = any(f.name == "updated_at" for f in model._meta.concrete_fields)
    now = timezone.now()
    counts = UpsertCounts()
    new: list[models.Model] = []
    changed: list[models.Model] = []
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            obj = model(**{name: value for name, value in row.items() if value is not None})
            existing[row[key]] = obj
            new.append(obj)
            continue
        differs = False
        for name in fields:
            stored, value = getattr(obj, name), row.get(name)
            if merge is not None:
                value = merge(name, stored, value)
            if value is not None and stored != value:
                setattr(obj, name, value)
                differs = True
        if differs and obj.pk is not None:
            if has_updated_at:
                obj.updated_at = now  # type: ignore[attr-defined]
            changed.append(obj)
    counts.created = len(new)
    counts.updated = len({id(obj) for obj in changed})
    counts.unchanged = len(rows) - counts.created - counts.updated
    if write:
        for chunk in chunks(new, BATCH_SIZE):
            model._default_manager.bulk_create(list(chunk))
            if on_batch is not None:
                on_batch(len(chunk))
        update_fields = [*fields, "updated_at"] if has_updated_at else list(fields)
        for chunk in chunks(changed, BATCH_SIZE):
            model._default_manager.bulk_update(list(chunk), update_fields)
            if on_batch is not None:
                on_batch(len(chunk))
    return Upserted(
        counts=counts,
        ids={k: obj.pk for k, obj in existing.items() if obj.pk is not None},
        changed_ids=[obj.pk for obj in changed if obj.pk is not None],
    )
