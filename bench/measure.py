"""What both benchmarks measure alike: a phase's wall time, a CHECKPOINT before it,
and the facts of the machine and of PostgreSQL that go with every result.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (empty where the platform has none)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def checkpoint(*, required: bool = True) -> None:
    """Start a timed phase without a checkpoint owed by the previous one.

    CHECKPOINT needs superuser (or pg_checkpoint): the ingest benchmark goes on
    without it (`required=False`); the rollup benchmark's rounds fail instead.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except Exception:  # needs superuser (or pg_checkpoint)
        if required:
            raise


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def database_facts(settings: Sequence[str]) -> dict[str, str]:
    """The value of each named PostgreSQL setting (`SHOW`), as text."""
    facts: dict[str, str] = {}
    with connection.cursor() as cursor:
        for name in settings:
            cursor.execute(f"SHOW {name}")
            row = cursor.fetchone()
            facts[name] = str(row[0]) if row else ""
    return facts


def machine_facts(*, settings: Sequence[str], load_at_start: list[float]) -> dict[str, Any]:
    """The `machine` of a result: CPUs, platform, Python, the PostgreSQL settings
    that bear on the benchmark, and the load average when it started."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": database_facts(settings),
        # Other work on the machine skews the rates; the CPU figures less so.
        "load_average_at_start": load_at_start,
    }
