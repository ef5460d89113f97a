"""The report queries on a streaming replica (issue 20, part 5).

A primary and a standby of the benchmark's own (`bench.scaling.clusters`):
the primary is migrated (`manage.py migrate` with its DATABASE_URL) and seeded
in this process with the pages benchmark's dataset (the rollup dataset, the
full recompute, then campaign, programs, touches, spend, deals and snapshots),
the default connection pointed at it for the while; then `pg_basebackup -R`
makes the standby, which is started and waited for until it has replayed the
primary's last LSN.

The queries are timed through the product's selectors, not the pages: a
logged-in GET writes nothing (the session is read, not saved, and last_login
is written at login only), but the login itself writes, and nothing routes
it to a primary yet (docs/scaling.md). Timed on each side: the campaign report
of the year (measurement_load, then its campaign, program and channel
views), the executive overview of the year (overview_report) and the account
list of the segment by 30-day score change (count and first page). Each
side's answers must be equal. The lag is how long a committed row on the
primary takes to be replayed on the standby, polled every millisecond.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import psycopg2
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections
from django.db.utils import load_backend
from django.utils import timezone

from bench import BenchmarkError
from bench.measure import timed
from bench.pages.client import percentile
from bench.pages.dataset import pages_seed
from bench.postgres import default_database, migrate
from bench.rollup.dataset import dataset_seed
from bench.scaling.clusters import Cluster, primary_and_standby, replayed_wait
from campaigns.reports.measurement import measurement_load
from campaigns.reports.overview import overview_report
from campaigns.reports.programs import pipeline_report
from engagement.list_selectors import account_list_scored
from engagement.rollup.recompute import scores_recompute

ACCOUNTS_PER_PAGE = 50  # the account list's page (web.views)
LAG_MARKERS = 50
LIST_SHOWN = ("score", "stage", "score_change_7d", "score_change_30d", "readiness_probability")


@dataclass(frozen=True)
class ReplicaResult:
    sizes: dict[str, int]
    seed_seconds: float
    migrate_seconds: float
    basebackup_seconds: float
    catch_up_seconds: float
    queries: dict[str, dict[str, Any]]
    lag_ms: dict[str, float]
    standby_in_recovery: bool
    standby_refuses_writes: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fingerprint(value: Any) -> bytes:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS)


def _queries(*, segment_id: int, start: Any, today: Any) -> dict[str, Callable[[], Any]]:
    def campaign_report() -> Any:
        data = measurement_load(start=start, end=today)
        return [pipeline_report(data, view=view) for view in ("campaigns", "programs", "channels")]

    def account_list() -> Any:
        accounts = account_list_scored(segment_id=segment_id, today=today, ordering="-change_30d")
        # Whole rows, as the page reads them; the annotations are compared.
        first = [
            (account.pk, *(vars(account)[name] for name in LIST_SHOWN))
            for account in accounts[:ACCOUNTS_PER_PAGE]
        ]
        return [accounts.count(), first]

    return {
        "campaign_report": campaign_report,
        "overview": lambda: overview_report(start=start, end=today),
        "account_list": account_list,
    }


def _time_queries(
    queries: dict[str, Callable[[], Any]], requests: int, sides: dict[str, dict[str, Any]]
) -> dict[str, dict[str, tuple[list[float], bytes]]]:
    """Each query once untimed on every side (its answer kept), then `requests`
    timed rounds, the sides taking turns within each round, so that load from
    other work on the machine falls on both alike."""
    wrappers = {
        side: load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias="default")
        for side, settings_dict in sides.items()
    }
    out: dict[str, dict[str, tuple[list[float], bytes]]] = {side: {} for side in sides}
    try:
        for name, query in queries.items():
            for side, wrapper in wrappers.items():
                with _default_is(wrapper):
                    out[side][name] = ([], _fingerprint(query()))
            for _ in range(requests):
                for side, wrapper in wrappers.items():
                    with _default_is(wrapper):
                        out[side][name][0].append(timed(query)[1])
    finally:
        for wrapper in wrappers.values():
            wrapper.close()
    return out


@contextmanager
def _default_is(wrapper: Any) -> Iterator[None]:
    working = connections["default"]
    ContentType.objects.clear_cache()
    connections["default"] = wrapper
    try:
        yield
    finally:
        connections["default"] = working
        ContentType.objects.clear_cache()


def _lag(primary: Cluster, standby: Cluster) -> list[float]:
    """Seconds from a committed insert on the primary to its replay on the
    standby, LAG_MARKERS times."""
    writer, reader = primary.connect(), standby.connect()
    try:
        with writer.cursor() as w, reader.cursor() as r:
            w.execute("CREATE TABLE bench_scaling_marker (n int PRIMARY KEY, at timestamptz)")
            replayed_wait(primary=primary, standby=standby)
            lags: list[float] = []
            for n in range(LAG_MARKERS):
                w.execute("INSERT INTO bench_scaling_marker VALUES (%s, now())", [n])
                committed = time.perf_counter()
                w.execute("SELECT pg_current_wal_lsn()")
                lsn = (w.fetchone() or [""])[0]
                while True:
                    r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
                    if (r.fetchone() or [False])[0]:
                        break
                    time.sleep(0.0005)
                lags.append(time.perf_counter() - committed)
                time.sleep(0.02)
    finally:
        writer.close()
        reader.close()
    return lags


def _standby_checks(standby: Cluster) -> tuple[bool, bool]:
    link = standby.connect()
    try:
        with link.cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            in_recovery = bool((cursor.fetchone() or [False])[0])
            try:
                cursor.execute("CREATE TABLE bench_scaling_refused (n int)")
            except psycopg2.errors.ReadOnlySqlTransaction:  # what a hot standby answers
                return in_recovery, True
            return in_recovery, False
    finally:
        link.close()


def run(*, accounts: int, contacts: int, activities: int, requests: int, seed: int,
        say: Callable[[str], None]) -> ReplicaResult:  # fmt: skip
    """Start the clusters, seed, replicate, time the queries on both; stop both."""
    base = dict(connection.settings_dict)
    with primary_and_standby() as (primary, make_standby):
        say(f"replica: primary on port {primary.port}, migrating")
        _, migrate_seconds = timed(lambda: migrate(primary.settings_dict(base)))
        at = timezone.now().replace(second=0, microsecond=0)
        today = timezone.localdate(at)
        say(f"replica: seeding {activities:,} activities on the primary")
        started = time.perf_counter()
        with default_database(primary.settings_dict(base)):
            seeded = dataset_seed(accounts=accounts, contacts=contacts, activities=activities,
                                  seed=seed, at=at)  # fmt: skip
            scores_recompute(segment_id=seeded.segment_id, at=at, alerts=False)
            pages = pages_seed(segment_id=seeded.segment_id, activities=activities, today=today)
        seed_seconds = time.perf_counter() - started
        say("replica: pg_basebackup -R, starting the standby")
        standby, basebackup_seconds = timed(make_standby)
        catch_up = replayed_wait(primary=primary, standby=standby)
        queries = _queries(segment_id=seeded.segment_id, start=pages.year_start, today=today)
        say(f"replica: timing the report queries, {requests} rounds, the sides taking turns")
        timings = _time_queries(queries, requests, {
            "primary": primary.settings_dict(base), "standby": standby.settings_dict(base),
        })  # fmt: skip
        figures: dict[str, dict[str, Any]] = {}
        for name in queries:
            equal = timings["primary"][name][1] == timings["standby"][name][1]
            if not equal:
                raise BenchmarkError(f"the standby's {name} differs from the primary's")
            figures[name] = {"equal": equal, "requests": requests} | {
                side: {"p50_ms": percentile(t[name][0], 0.5),
                       "p95_ms": percentile(t[name][0], 0.95)}
                for side, t in timings.items()
            }  # fmt: skip
        say("replica: replication lag")
        lags = _lag(primary, standby)
        in_recovery, refuses_writes = _standby_checks(standby)
    return ReplicaResult(
        sizes={
            "accounts": accounts,
            "members": seeded.members,
            "contacts": contacts,
            "activities": activities,
            "programs": pages.programs,
            "touches": pages.touches,
            "opportunities": pages.opportunities,
            "snapshots": pages.snapshots,
        },
        seed_seconds=round(seed_seconds, 3),
        migrate_seconds=round(migrate_seconds, 3),
        basebackup_seconds=round(basebackup_seconds, 3),
        catch_up_seconds=round(catch_up, 3),
        queries=figures,
        lag_ms={
            "markers": len(lags),
            "p50": percentile(lags, 0.5),
            "p95": percentile(lags, 0.95),
            "max": percentile(lags, 1.0),
        },
        standby_in_recovery=in_recovery,
        standby_refuses_writes=refuses_writes,
    )
