"""COPY of generated text lines into a table, streamed: rows are made as
PostgreSQL reads them, never held all at once (the rollup benchmark's seeding)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.db import connection
from tqdm import tqdm

NULL = "\\N"


class LineStream:
    """A file-like view of an iterator of COPY text lines, for `copy_expert`: rows
    are generated as PostgreSQL reads them, never held all at once."""

    def __init__(self, lines: Iterator[str], on_line: Callable[[], object] | None = None) -> None:
        self._lines = lines
        self._on_line = on_line
        self._pending = b""

    def read(self, size: int = -1) -> bytes:
        parts = [self._pending]
        length = len(self._pending)
        for line in self._lines:
            encoded = line.encode()
            parts.append(encoded)
            length += len(encoded)
            if self._on_line is not None:
                self._on_line()
            if 0 <= size <= length:
                break
        data = b"".join(parts)
        if size < 0:
            self._pending = b""
            return data
        self._pending = data[size:]
        return data[:size]

    def readline(self, size: int = -1) -> bytes:  # psycopg2 only calls read(); for completeness
        return self.read(size)


def copy_lines(table: str, columns: Sequence[str], lines: Iterable[str], bar: tqdm[Any]) -> None:
    """COPY text lines into a table in one statement."""
    stream = LineStream(iter(lines), on_line=lambda: bar.update(1))
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, stream, size=1 << 20)


def copy_line(values: Iterable[object]) -> str:
    """One COPY text line; the generated values never hold tabs, newlines or backslashes."""
    return "\t".join(NULL if value is None else str(value) for value in values) + "\n"
