"""A per-source request limit, counted in Django's cache (Redis in production).

A fixed one-second window: simple, shared by every web process that shares
the cache, and good enough to protect the database from one runaway client.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def source_rate_limit_hit(*, source_id: int, limit: int | None) -> bool:
    """Count one request of the source; True when it is over its limit this second."""
    per_second = limit or settings.TRACKING_RATE_LIMIT_PER_SECOND
    if per_second <= 0:
        return False
    key = f"tracking-rate:{source_id}:{int(time.time())}"
    if cache.add(key, 1, timeout=2):
        return per_second < 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=2)
        return False
    return count > per_second
