"""Set-based write helpers shared by every app's services (no business rules here)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.db import models

BATCH_SIZE = 2000
# Below SQLite's default limit of 999 bound parameters per statement.
LOOKUP_CHUNK = 900

OnBatch = Callable[[int], None]
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
