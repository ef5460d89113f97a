"""Pure: an id as a request gives it (a query parameter), or None.

ASCII digits that fit the id columns (bigint). `"²".isdigit()` is true and
int() refuses it; `99999999999999999999` passes int() and overflows SQLite's
integer, a 500 on the embedded default (issue 18)."""

from __future__ import annotations

ID_MAX = 2**63 - 1


def id_read(raw: str | None) -> int | None:
    """`"12"` -> 12; None for anything that is not the id of a stored row."""
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 < value <= ID_MAX else None
