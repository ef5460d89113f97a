"""A sorted list's page read in two steps: the page's keys, then its rows.

A list page sorted by a computed value (the account list by score change)
must compute that value for every row it could show before it can sort and
cut a page, and PostgreSQL computes every selected column of those rows
while it does so, joins and subqueries alike. Reading the page's keys first
(only the sort key and the filters are computed) and then the page's rows by
key (a handful of index probes) does the wide work for the 50 rows shown,
not for the whole segment: at 1M activities the segment's list 31 -> 19 ms
of SQL a request (docs/benchmarks.md, "Keys first")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar, overload

from django.db.models import Model, QuerySet

RowT = TypeVar("RowT", bound=Model)


class KeysFirst(Generic[RowT]):
    """`rows` (a sorted queryset) as Django's Paginator reads it: `count()`
    counts them, a slice reads the slice's primary keys in the queryset's
    order and then those rows, returned in that order. One query more than
    slicing the queryset, whatever the page size. A row gone between the two
    reads is left out of the page."""

    def __init__(self, rows: QuerySet[RowT]) -> None:
        if not rows.ordered:
            raise ValueError("KeysFirst pages a sorted queryset; this one has no order")
        self.rows = rows

    def count(self) -> int:
        return self.rows.count()

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
        keys = list(self.rows.values_list("pk", flat=True)[page])
        if not keys:
            return []
        found = {row.pk: row for row in self.rows.order_by().filter(pk__in=keys)}
        return [found[key] for key in keys if key in found]
