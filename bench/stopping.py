"""SIGTERM (a CI timeout, `kill`) ends a benchmark command as Ctrl-C does:
through the cleanup that stops what the command started. Without it, Python
dies on SIGTERM without running `finally` blocks, and a private PostgreSQL
cluster (bench.postgres.private_cluster), its server and its files (19 GB
after a 10M run) outlive the benchmark."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _terminated(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM raises SystemExit(143) in the main thread."""
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
