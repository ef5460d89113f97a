"""A per-source request limit, counted in Django's cache (Redis in production).

A fixed one-second window: simple, shared by every web process that shares
the cache, and good enough to protect the database from one runaway client.

The limit protects the database; it must never stop tracking itself. When the
cache cannot be reached the request is let through (fail open): each failure
is counted (`cache_failures`), a warning is logged at most once a minute with
the count, and the cache is not tried again for CACHE_RETRY_SECONDS, so that a
cache that hangs costs one request its timeout, not every request.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

CACHE_RETRY_SECONDS = 5.0
WARNING_INTERVAL_SECONDS = 60.0


class _CacheHealth:
    """This process's count of failed cache calls, and when to try again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.failures = 0
        self.passed_unchecked = 0
        self.retry_at = 0.0
        self._warned_at = -WARNING_INTERVAL_SECONDS

    def failed(self, problem: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self.failures += 1
            self.retry_at = now + CACHE_RETRY_SECONDS
            warn = now - self._warned_at >= WARNING_INTERVAL_SECONDS
            if warn:
                self._warned_at = now
            failures, unchecked = self.failures, self.passed_unchecked
        if warn:
            logger.warning(
                "tracking rate limit: the cache is unavailable (%s), requests are let through "
                "unlimited; %d cache failures and %d requests let through unchecked in this "
                "process so far",
                problem, failures, unchecked,
            )  # fmt: skip

    def skipping(self) -> bool:
        if time.monotonic() >= self.retry_at:
            return False
        with self._lock:
            self.passed_unchecked += 1
        return True


_health = _CacheHealth()


def cache_failures() -> tuple[int, int]:
    """(failed cache calls, requests let through without a check) in this process."""
    return _health.failures, _health.passed_unchecked


def source_rate_limit_hit(*, source_id: int, limit: int | None) -> bool:
    """Count one request of the source; True when it is over its limit this second.
    False, without counting, when the cache is unavailable."""
    per_second = limit or settings.TRACKING_RATE_LIMIT_PER_SECOND
    if per_second <= 0:
        return False
    if _health.skipping():
        return False
    try:
        return _counted_over(source_id=source_id, per_second=per_second)
    except Exception as problem:  # noqa: BLE001 - any cache failure: fail open, counted
        _health.failed(problem)
        return False


# A window's counter outlives its second a little, then the cache drops it.
WINDOW_TTL_SECONDS = 2


def _window() -> int:
    """The current one-second window (a function, so a test can hold it still)."""
    return int(time.time())


def _counted_over(*, source_id: int, per_second: int) -> bool:
    key = f"tracking-rate:{source_id}:{_window()}"
    if cache.add(key, 1, timeout=WINDOW_TTL_SECONDS):
        return per_second < 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_TTL_SECONDS)
        return False
    return count > per_second
