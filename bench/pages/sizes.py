"""The pages benchmark at several sizes in one run (`bench --only pages --sizes
1000000,10000000 --postgres tuned`, issue 20): each size on a fresh database
in turn, on each PostgreSQL setup asked for (`bench.postgres.SETUPS`), then the
sizes compared (`bench.pages.compare`).

- `machine`: the Django database (DATABASE_URL), as a single run uses it: the
  dataset's tables are emptied before each size (`bench_data_delete`).
- `tuned`, `defaults`: a cluster of the run's own with those settings
  (`bench.postgres.private_cluster`), one at a time. The product's migrations
  are applied once to a template database (`manage.py migrate` with its
  DATABASE_URL); each size runs on a database created from it and dropped
  after it (its files, and its pages in shared_buffers, go with it), the
  default connection pointed at it for the while, so that gunicorn gets the
  same DATABASE_URL (`bench.server.server_environment`). The cluster is
  stopped and removed at the end, on error too.

Accounts and contacts are scaled with the activities (10,000 and 80,000 a
million, as the defaults are) unless given, and the new activities of the
incremental rollup are the same at every size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection

from bench.pages import compare
from bench.pages.benchmark import PagesOptions, PagesResult
from bench.pages.benchmark import run as pages_run
from bench.postgres import PRIVATE_SETUPS, default_database, migrate, private_cluster

ACCOUNTS_PER_MILLION = PagesOptions.accounts * 1_000_000 // PagesOptions.activities
CONTACTS_PER_MILLION = PagesOptions.contacts * 1_000_000 // PagesOptions.activities
TEMPLATE = "bench_pages_template"


def scaled(activities: int, *, given: int | None, per_million: int) -> int:
    """`given` when given, else `per_million` per million activities (one at least)."""
    if given is not None:
        return given
    return max(1, round(activities * per_million / 1_000_000))


def size_options(
    base: PagesOptions, *, sizes: Sequence[int], accounts: int | None, contacts: int | None
) -> list[PagesOptions]:
    """One run's options per size, smallest first."""
    return [
        replace(
            base,
            activities=size,
            accounts=scaled(size, given=accounts, per_million=ACCOUNTS_PER_MILLION),
            contacts=scaled(size, given=contacts, per_million=CONTACTS_PER_MILLION),
        )
        for size in sorted(sizes)
    ]


@dataclass(frozen=True)
class SetupRuns:
    """The runs on one PostgreSQL setup, smallest size first."""

    postgres: str
    results: list[PagesResult]

    def as_dict(self) -> dict[str, Any]:
        runs = [result.as_dict() for result in self.results]
        return {
            "postgres": self.postgres,
            "settings": runs[0]["machine"].get("postgresql", {}) if runs else {},
            "runs": runs,
            "comparison": compare.comparison(runs) if len(runs) > 1 else None,
        }


def between_setups(setups: Sequence[SetupRuns]) -> list[dict[str, Any]]:
    """The setups compared at each size they all ran (`compare.between_setups`)."""
    return compare.between_setups(
        {setup.postgres: [result.as_dict() for result in setup.results] for setup in setups}
    )


def _on_private_cluster(
    setup: str, runs: Sequence[PagesOptions], done: Callable[[PagesResult], None]
) -> list[PagesResult]:
    base = dict(connection.settings_dict)
    results: list[PagesResult] = []
    with private_cluster(setup, server_settings=PRIVATE_SETUPS[setup]) as cluster:
        if runs and runs[0].progress:
            print(f"pages: PostgreSQL {setup} on port {cluster.port}, migrating", flush=True)
        cluster.admin(f"CREATE DATABASE {TEMPLATE}")
        migrate(cluster.settings_dict(base, database=TEMPLATE))
        for number, options in enumerate(runs):
            name = f"bench_pages_{number}"
            cluster.admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
            try:
                with default_database(cluster.settings_dict(base, database=name)):
                    results.append(pages_run(options))
            finally:
                cluster.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            done(results[-1])
    return results


def run(
    base: PagesOptions, *, sizes: Sequence[int], postgres: Sequence[str],
    accounts: int | None, contacts: int | None, done: Callable[[PagesResult], None],
) -> list[SetupRuns]:  # fmt: skip
    """Every size on every setup, in the order given (`done` is told of each
    run as it ends)."""
    runs = size_options(base, sizes=sizes, accounts=accounts, contacts=contacts)
    out: list[SetupRuns] = []
    for setup in postgres:
        if setup in PRIVATE_SETUPS:
            results = _on_private_cluster(setup, [replace(o, postgres=setup) for o in runs], done)
        else:
            results = []
            for options in runs:
                results.append(pages_run(replace(options, postgres=setup)))
                done(results[-1])
        out.append(SetupRuns(postgres=setup, results=results))
    return out
