"""Benchmarks run by `manage.py bench` (docs/benchmarks.md).

Each benchmark is a module here with a `run(...)` that returns a result with
`as_dict()`; the command picks them by name with `--only`. They measure the
real stack (PostgreSQL, gunicorn) and refuse to run on SQLite.
"""

from __future__ import annotations

# The names `--only` accepts, in the order `bench` runs them.
BENCHMARKS: tuple[str, ...] = ("ingest", "rollup")


class BenchmarkError(Exception):
    """A benchmark could not run or its result is wrong (lost or duplicated data)."""
