"""Benchmarks run by `manage.py bench` (docs/benchmarks.md).

Each benchmark is a package here whose `benchmark` module has a `run(...)` that
returns a result with `as_dict()`; the command picks them by name with `--only`.
They measure the real stack (PostgreSQL, gunicorn) and refuse to run on SQLite.

- `ingest/`: tracking events through gunicorn and /v1/batch against raw COPY;
- `rollup/`: the score recompute against hand-written SQL and a naive ORM loop;
- `pages/`: the pages, reports and tracking endpoints through gunicorn, and the
  incremental rollup, on the rollup's dataset (issue 20);
- `scaling/`: rollup throughput with one worker process against two, and the
  report queries on a streaming replica of its own (issue 20, part 5; not in
  the default run: it starts PostgreSQL servers);
- `measure`: what both measure alike (CHECKPOINT, wall time, machine facts);
- `options`: the options every benchmark shares (seed, progress, dataset sizes);
- `postgres`: clusters of a run's own (initdb; the pages benchmark's `tuned`
  and `defaults`, the scaling benchmark's primary and standby);
- `server`, `cpu`: starting a server process and waiting for it (gunicorn,
  redis-server, Celery workers), and CPU time by process (ingest).
"""

from __future__ import annotations

# The names `--only` accepts, in the order `bench` runs them.
BENCHMARKS: tuple[str, ...] = ("ingest", "rollup", "pages", "scaling")
# What `bench` runs without --only: not `scaling`, which starts PostgreSQL
# servers of its own (initdb, as the postgres user when run as root).
DEFAULT_BENCHMARKS: tuple[str, ...] = ("ingest", "rollup", "pages")


class BenchmarkError(Exception):
    """A benchmark could not run or its result is wrong (lost or duplicated data)."""


class RolledBack(Exception):
    """Raised inside `transaction.atomic()` to undo on purpose what a measurement
    wrote; caught right outside it."""
