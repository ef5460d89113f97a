"""A per-process memo with a time to live, for hot-path reads of small, rarely
changed configuration (the tracking API's source by write key, event mapping).

Per process and in memory on purpose: a lookup costs a dict read instead of a
database round trip. A change made elsewhere reaches every process within the
time to live; a change made in this process (revoking a key) clears it at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        seconds: Callable[[], float],
        *,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # `seconds` is read at each lookup so that settings overrides apply.
        self._seconds = seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K, load: Callable[[], V]) -> V:
        """The cached value, or `load()`'s, kept for the time to live."""
        seconds = self._seconds()
        if seconds <= 0:
            return load()
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        if len(self._entries) >= self._max_entries:
            # Unknown keys must not grow the memo without bound (a key-guessing client).
            self._entries.clear()
        self._entries[key] = (now + seconds, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
