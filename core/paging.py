"""A sorted list's page read in two steps: the page's keys, then its rows.

A list page sorted by a computed value (the account list by score change)
must compute that value for every row it could show before it can sort and
cut a page, and PostgreSQL computes every selected column of those rows
while it does so, joins and subqueries alike. Reading the page's keys first
(only the sort key and the filters are computed) and then the page's rows by
key (a handful of index probes) does the wide work for the 50 rows shown,
not for the whole segment: at 1M activities the segment's list 31 -> 19 ms
of SQL a request (docs/benchmarks.md, "Keys first").

Where an index can serve the sort, the keys can come from it in order, but
only for rows whose sort key is known (an index holds no "nulls last" across
a join): such a list is read as a head (the rows with a key, in the index's
order) followed by a tail (the rest, in the list's order), and the page's
keys are taken from the one or both its slice covers (docs/benchmarks.md,
"Stored change baselines")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar, overload

from django.db.models import Model, QuerySet

RowT = TypeVar("RowT", bound=Model)


class KeysFirst(Generic[RowT]):
    """`rows` (a sorted queryset) as Django's Paginator reads it: `count()`
    counts them, a slice reads the slice's primary keys in the queryset's
    order and then those rows, returned in that order. One query more than
    slicing the queryset, whatever the page size. A row gone between the two
    reads is left out of the page."""

    def __init__(
        self,
        rows: QuerySet[RowT],
        *,
        head: QuerySet[Any] | None = None,
        tail: QuerySet[RowT] | None = None,
        head_key: str = "pk",
        counted: QuerySet[Any] | None = None,
    ) -> None:
        """`head` and `tail`, given together, split `rows` in two sorted
        querysets whose concatenation is `rows` in its order: a page's keys
        are read from them, its rows from `rows`. The head may be a queryset
        of another model, one row per row of `rows`, whose column `head_key`
        holds that row's primary key (a list's head walked in the order of
        an index of the table that holds its sort key). `counted`, where
        given, is a cheaper queryset with as many rows as `rows`, which
        `count()` counts instead."""
        if any(part is not None and not part.ordered for part in (rows, head, tail)):
            raise ValueError("KeysFirst pages a sorted queryset; this one has no order")
        if (head is None) != (tail is None):
            raise ValueError("KeysFirst takes a head and a tail together, or neither")
        self.rows = rows
        self.head = head
        self.tail = tail
        self.head_key = head_key
        self.counted = rows if counted is None else counted

    def count(self) -> int:
        return self.counted.count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[RowT]:
        return iter(self.rows)

    @overload
    def __getitem__(self, page: int) -> RowT: ...

    @overload
    def __getitem__(self, page: slice) -> list[RowT]: ...

    def __getitem__(self, page: int | slice) -> RowT | list[RowT]:
        if isinstance(page, int):
            rows = self[page : page + 1]
            if not rows:
                raise IndexError(page)
            return rows[0]
        keys = self._keys(page)
        if not keys:
            return []
        found = {row.pk: row for row in self.rows.order_by().filter(pk__in=keys)}
        return [found[key] for key in keys if key in found]

    def _keys(self, page: slice) -> list[Any]:
        """The primary keys of the slice `page`, in order: one query, or with a
        head and tail, one more where the slice reaches past the head (and a
        count of the head where it starts past its end)."""
        if self.head is None or self.tail is None:
            return list(self.rows.values_list("pk", flat=True)[page])
        if page.step is not None or (page.start or 0) < 0 or (page.stop or 0) < 0:
            raise ValueError("KeysFirst slices forwards, without a step")
        start, stop = page.start or 0, page.stop
        keys = list(self.head.values_list(self.head_key, flat=True)[start:stop])
        if stop is not None and len(keys) == stop - start:
            return keys
        # The head ends before the slice does: its length, then the tail.
        head_length = start + len(keys) if keys or start == 0 else self.head.count()
        tail_stop = None if stop is None else stop - head_length
        keys += self.tail.values_list("pk", flat=True)[max(start - head_length, 0) : tail_stop]
        return keys
