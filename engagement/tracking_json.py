"""Pure: what of a tracking call's JSON the database can store. No ORM here.

A request body is valid JSON that PostgreSQL may still refuse: a U+0000 in any
string or key (text and jsonb cannot hold it), a number beyond a double, or a
call over the size limit. Each would fail the whole batch's insert, so each is
found here and only its call is refused (`call_unstorable_reason`); a refused
call is dead-lettered as `nul_escaped` writes it. `unstorable_number_loads`
reads the rare body orjson refuses for such a number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson

# json.dumps writes DEL and each non-ASCII character as \uXXXX (6 bytes; 12 for
# one outside the BMP) where orjson writes its 1 to 4 UTF-8 bytes, and everything
# else alike. So the escaped size is at most 6 times orjson's.
_ESCAPED_SIZE_BOUND = 6


def _call_size(raw: dict[str, Any], encoded: bytes | None, max_bytes: int) -> int | None:
    """The call's size as `json.dumps(raw, separators=(",", ":"), default=str)`
    encodes it, or None when that is certainly within max_bytes. Only calls near
    the limit pay for the slow exact measure."""
    if encoded is not None and len(encoded) * _ESCAPED_SIZE_BOUND <= max_bytes:
        return None
    return len(json.dumps(raw, separators=(",", ":"), default=str).encode())


def _path_where(value: Any, path: str, bad: Callable[[Any], bool]) -> str | None:
    """Where in a call the first value (or dictionary key) that `bad` picks out
    stands, as `context.traits.name` or `items[2]`; None if nowhere."""
    if bad(value):
        return path
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if bad(key):
                return inner
            found = _path_where(item, inner, bad)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _path_where(item, f"{path}[{index}]", bad)
            if found is not None:
                return found
    return None


def _holds_nul(value: Any) -> bool:
    """A string (or key) holding U+0000, which PostgreSQL's text and jsonb cannot store."""
    return isinstance(value, str) and "\x00" in value


def _nul_path(value: Any, path: str) -> str | None:
    return _path_where(value, path, _holds_nul)


class UnstorableNumber:
    """A JSON number beyond a double (1e400, an integer of 400 digits): valid
    JSON, which no column or jsonb value here can hold. The body is read with
    each such number kept as this, so that only its call is refused
    (`unstorable_number_loads`), never the whole request."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def _float_or_unstorable(text: str) -> float | UnstorableNumber:
    number = float(text)
    return number if math.isfinite(number) else UnstorableNumber(text)


def _int_or_unstorable(text: str) -> int | UnstorableNumber:
    # Python reads at most 4,300 digits; a double holds about 308.
    return int(text) if len(text) <= 300 else UnstorableNumber(text)


def _not_json(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def unstorable_number_loads(body: bytes) -> Any:
    """JSON as the standard library reads it, with numbers beyond a double kept
    as UnstorableNumber and NaN or Infinity refused (they are not JSON). For
    the rare body orjson refuses; raises ValueError when it is not JSON."""
    return json.loads(
        body,
        parse_float=_float_or_unstorable,
        parse_int=_int_or_unstorable,
        parse_constant=_not_json,
    )


def _unstorable_path(value: Any, path: str) -> str | None:
    """Where in a call an UnstorableNumber is; None if nowhere."""
    return _path_where(value, path, lambda item: isinstance(item, UnstorableNumber))


def nul_escaped(value: Any) -> Any:
    """`value` with each U+0000 in its strings and keys written as the six
    characters \\u0000: what a refused call is dead-lettered as, since the
    database cannot store the character itself (and an UnstorableNumber as
    its text)."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, UnstorableNumber):
        return value.text
    if isinstance(value, dict):
        return {nul_escaped(key): nul_escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [nul_escaped(item) for item in value]
    return value


def call_unstorable_reason(raw: dict[str, Any], max_bytes: int | None) -> str | None:
    """Why a call cannot be stored, or None: over the size limit, or holding a
    NUL character or a number too large anywhere, either of which would fail
    the whole batch's insert instead of this one call."""
    encoded: bytes | None
    try:
        encoded = dumped = orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):
        encoded = None
    else:
        if (
            max_bytes is None or len(dumped) * _ESCAPED_SIZE_BOUND <= max_bytes
        ) and b"\\u0000" not in dumped:
            return None  # the common case, decided without another call
    if encoded is None:
        where = _unstorable_path(raw, "")
        if where is not None:
            return f"{nul_escaped(where)} is a number too large to store"
    # orjson writes U+0000 as \u0000; a literal backslash before "u0000" also
    # matches, so a match is confirmed by walking the call.
    if encoded is None or b"\\u0000" in encoded:
        where = _nul_path(raw, "")
        if where is not None:
            return (
                f"{nul_escaped(where)} contains a NUL character (\\u0000), which cannot be stored"
            )
    if max_bytes is not None:
        size = _call_size(raw, encoded, max_bytes)
        if size is not None and size > max_bytes:
            return f"call is {size} bytes; the limit is {max_bytes} bytes per call"
    return None
