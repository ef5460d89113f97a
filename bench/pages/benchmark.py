"""The pages benchmark (`manage.py bench --only pages`, issue 20, docs/benchmarks.md):
what users feel as history grows.

0. Empty the dataset's tables and, with gunicorn, time /v1/batch (the same
   bodies' size and clients as in step 2) on the empty activity table: the
   rate ingest keeps at full history is compared with it.
1. Seed the rollup benchmark's dataset (`bench.rollup.dataset`, COPY), run the
   full recompute (timed) and check every score against the hand-written SQL
   (`bench.rollup.reference`); then seed what the pages read on top of it
   (`bench.pages.dataset`: campaign, programs, keyed activity and touches,
   targets with a holdout, spend, deals, daily snapshots, a ranking run, a
   Marketer and Executive user).
2. Start gunicorn (`bench.server`) and, with that user's session cookie, GET
   each page `requests` times over a keep-alive connection (p50 and p95): the
   account list of the segment sorted by 30-day score change, the list of every
   account (each one's best segment) by score, the account page
   of varied accounts, the campaign report and the executive overview for the
   year, the campaign's own report and the ranking run; then POST
   `tracking_requests` tracking calls from a few concurrent clients, in rounds
   whose bodies are made untimed: /v1/batch with 100 events and single-event
   /v1/track (requests per second). The workers' peak memory is
   reset before each step and read after it.
3. Delete the tracking calls, COPY `new_activities` late activities, time the
   incremental rollup and check every score against the reference again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bench import BenchmarkError
from bench.measure import load_average, machine_facts, timed
from bench.options import DatasetOptions
from bench.pages import client
from bench.pages.dataset import PagesSeeded, accounts_sample, pages_seed, pages_vacuum
from bench.postgres import REPORTED_SETTINGS
from bench.rollup import benchmark as rollup
from bench.rollup.dataset import HISTORY_DAYS, activities_add, bench_data_delete, dataset_seed
from bench.rollup.reference import agreement_check, product_scores, reference_scores
from bench.rollup.statements import StatementLog, breakdown
from bench.server import (
    GunicornConfig,
    gunicorn_serving,
    server_environment,
    tracking_source_create,
)
from campaigns.services import ranking_run
from engagement.models import Activity, ActivityMessage, ActivityPending, Source
from engagement.rollup.baselines import change_baselines_set
from engagement.rollup.incremental import scores_rollup

TRACKING_SOURCE = "bench pages tracking"
# Untimed /v1/batch calls before each timed series, under a source of their
# own (the timed source's rows are counted exactly): the series on the empty
# table runs on a gunicorn just started, the one at full history on one that
# has served only pages, and neither should time the first call's loading.
WARM_UP_SOURCE = f"{TRACKING_SOURCE} warm-up"
BATCH_EVENTS = 100
ACCOUNT_PAGES = 50  # distinct accounts the account page cycles through
# The settings reported with the result: the ones the tuned cluster sets.
DATABASE_SETTINGS = REPORTED_SETTINGS
# What each page must show (beside answering 200 without the login form).
PAGES: tuple[tuple[str, str, bytes], ...] = (
    ("account_list", "account list, segment, by 30-day score change", b"Bench Account"),
    # No segment chosen: each account's best segment and its columns, by score.
    ("account_list_all", "account list, every account, by score", b"Bench Account"),
    ("account_page", "account page (trend chart, timeline)", b"Bench Account"),
    ("campaign_report", "campaign report, the year", b"bench pages"),
    ("campaign_spend_report", "the campaign's own report", b"bench pages"),
    ("overview", "executive overview, the year", b"Won revenue"),
    ("ranking_run", "ranking run", b"Program 0"),
)


@dataclass(frozen=True, kw_only=True)
class PagesOptions(DatasetOptions):
    new_activities: int = 10_000
    requests: int = 200
    # Calls per tracking series (/v1/batch on the empty table and at history,
    # /v1/track): 200 batches are half a second of work, and two such series
    # differed by a quarter on the same empty table (docs/benchmarks.md).
    tracking_requests: int = 2_000
    connections: int = 8
    workers: int = 2
    threads: int = 4
    # Which PostgreSQL the run is on (bench.postgres.SETUPS), for the record:
    # the caller points the default connection at it.
    postgres: str = "machine"


@dataclass(frozen=True)
class PagesResult:
    postgres: str
    sizes: dict[str, int]
    history_days: int
    at: str
    today: str
    seed_seconds: float
    recompute_seconds: float
    checked_after_recompute: int
    ranking_run_seconds: float  # computing and storing the run (ranking_run), in process
    ranking_run_programs: int
    pages: dict[str, dict[str, Any]]
    tracking: dict[str, dict[str, Any]]
    # /v1/batch on the empty activity table, before the seeding: the rate the
    # one at full history (tracking["batch"]) is compared with.
    tracking_empty: dict[str, Any]
    rollup_seconds: float
    rollup_accounts: int
    # Where the rollup's time went: its statements, the slowest three.
    rollup_breakdown: dict[str, Any]
    checked_after_rollup: int
    memory_mb: dict[str, dict[str, float]]
    server: dict[str, Any]
    machine: dict[str, Any] = field(default_factory=dict)
    # The days the requests went on into, past `today` (a run that crossed
    # midnight): the change baselines were stored for each, as the nightly
    # job does (_baselines_kept_current).
    days_turned: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _baselines_kept_current(*, segment_id: int, stored_for: dt.date) -> dt.date:
    """The day the pages read now, with the segment's change baselines stored
    for it. The pages read "today", and a run at 10M takes over an hour: one
    that crosses midnight would time the account list by change on the
    snapshots' fallback (no baselines for the new day: its page of keys
    took 301 ms at 10M, read in process on 7 December), a path production
    takes only until the nightly job, which stores
    the new day's baselines from yesterday's snapshot (engagement.tasks).
    So, as that job does, store them when the day has turned since
    `stored_for`, before a page's requests, untimed."""
    day = timezone.localdate()
    if day != stored_for:
        change_baselines_set(segment_id=segment_id, today=day)
    return day


def _say(options: PagesOptions, text: str) -> None:
    if options.progress:
        print(f"pages: {text}", flush=True)


def _paths(seeded: PagesSeeded, *, segment_id: int, run_id: int) -> dict[str, list[str]]:
    year = f"start={seeded.year_start.isoformat()}&end={seeded.today.isoformat()}"
    return {
        "account_list": [
            f"/accounts/?segment={segment_id}&sort=-change_30d&page={page}" for page in (1, 2, 3)
        ],
        "account_list_all": [f"/accounts/?sort=-score&page={page}" for page in (1, 2, 3)],
        "account_page": [
            f"/accounts/{pk}/" for pk in accounts_sample(segment_id=segment_id, count=ACCOUNT_PAGES)
        ],
        "campaign_report": [f"/reports/campaigns/?{year}"],
        "campaign_spend_report": [f"/campaigns/{seeded.campaign_id}/report/?{year}"],
        "overview": [f"/reports/?{year}"],
        "ranking_run": [f"/ranking/{run_id}/"],
    }


def _login_page_ready(port: int) -> bool:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/login/")
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    return response.status == 200


def _tracking_source_delete() -> None:
    """The tracking calls' rows (and their pending rows) and sources, the
    warm-up's too. In SQL: the ORM's delete reads every row into this process
    first (to cascade to the pending rows), 200,000 of them after a series of
    2,000 batches, which stayed in this process's memory and counted in the
    next steps' peaks."""
    activity, pending = Activity._meta.db_table, ActivityPending._meta.db_table
    source = Source._meta.db_table
    sql = (
        f"WITH gone AS (DELETE FROM {activity} a USING {source} s "  # noqa: S608  # nosec B608
        "WHERE a.source_id = s.id AND starts_with(s.name, %s) RETURNING a.id) "
        f"DELETE FROM {pending} p USING gone WHERE p.activity_id = gone.id"
    )
    keys = (
        f"DELETE FROM {ActivityMessage._meta.db_table} k USING {source} s "  # noqa: S608  # nosec B608
        "WHERE k.source_id = s.id AND starts_with(s.name, %s)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [TRACKING_SOURCE])
        cursor.execute(keys, [TRACKING_SOURCE])
    Source.objects.filter(name__startswith=TRACKING_SOURCE).delete()


def run(options: PagesOptions) -> PagesResult:
    """Run the pages benchmark on the default (PostgreSQL) database."""
    if connection.vendor != "postgresql":
        raise BenchmarkError(
            f"the pages benchmark needs PostgreSQL; the database is {connection.vendor}"
        )
    load_at_start = load_average()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    try:
        return _run(options, load_at_start)
    finally:
        _tracking_source_delete()
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")


def _batch_rate(options: PagesOptions, *, port: int, pid: int, write_key: str, prefix: str
                ) -> tuple[dict[str, Any], dict[str, float]]:  # fmt: skip
    """`options.tracking_requests` /v1/batch calls of BATCH_EVENTS from
    `options.connections` clients, after one untimed call per client
    (WARM_UP_SOURCE); the rate and the memory of the step."""
    warm_up_key = tracking_source_create(name=WARM_UP_SOURCE).write_key
    client.tracking_send(
        port=port, write_key=warm_up_key, path="/v1/batch",
        requests=options.connections, events_each=BATCH_EVENTS, prefix=f"{prefix}-warm-up",
        clients=options.connections,
    )  # fmt: skip
    rate, memory = client.measured(
        partial(client.tracking_send, port=port, write_key=write_key, path="/v1/batch",
                requests=options.tracking_requests, events_each=BATCH_EVENTS, prefix=prefix,
                clients=options.connections),
        server_pid=pid,
    )  # fmt: skip
    return {"path": "/v1/batch", **asdict(rate)}, memory


def _ingest_on_empty(options: PagesOptions) -> tuple[dict[str, Any], dict[str, float]]:
    """/v1/batch on the empty activity table (every call checked stored, then
    deleted)."""
    bench_data_delete()
    write_key = tracking_source_create(name=TRACKING_SOURCE).write_key
    config = GunicornConfig(workers=options.workers, threads=options.threads)
    with gunicorn_serving(
        config,
        environment=server_environment(connection.settings_dict),
        ready=lambda _host, port: _login_page_ready(port),
    ) as server:
        _say(options, f"POST /v1/batch x {options.tracking_requests} on the empty activity table")
        rate, memory = _batch_rate(
            options, port=server.port, pid=server.pid, write_key=write_key, prefix="empty"
        )
    stored = Activity.objects.filter(source__name=TRACKING_SOURCE).count()
    if stored != rate["events"]:
        raise BenchmarkError(
            f"the tracking calls stored {stored:,} activities of {rate['events']:,} sent"
        )
    _tracking_source_delete()
    return rate, memory


def _run(options: PagesOptions, load_at_start: list[float]) -> PagesResult:
    memory: dict[str, dict[str, float]] = {}
    _tracking_source_delete()
    tracking_empty, memory["tracking_batch_empty"] = _ingest_on_empty(options)
    _say(options, "seeding the rollup dataset")
    # The history ends now: the pages read "today" (the trend chart, the score
    # changes, the reports' year), so the seeded activity must reach it.
    at = timezone.now().replace(second=0, microsecond=0)
    seeded, memory["seed"] = client.measured(
        lambda: dataset_seed(
            accounts=options.accounts, contacts=options.contacts,
            activities=options.activities, seed=options.seed, progress=options.progress,
            at=at,
        ),
        server_pid=None,
    )  # fmt: skip
    segment_id = seeded.segment_id
    _say(options, "full recompute")
    (_, recompute_seconds), memory["recompute"] = client.measured(
        lambda: timed(lambda: rollup.recompute(segment_id=segment_id, at=at)), server_pid=None
    )
    checked_after_recompute = agreement_check(
        reference=reference_scores(segment_id=segment_id, at=at),
        product_side=product_scores(segment_id=segment_id),
        when="after the full recompute",
    )
    _say(options, "seeding what the pages read")
    today = timezone.localdate(at)
    pages_seeded, memory["pages_seed"] = client.measured(
        lambda: pages_seed(segment_id=segment_id, activities=options.activities, today=today),
        server_pid=None,
    )
    pages_vacuum()
    seed_seconds = seeded.seconds
    _say(options, "ranking run of the year")
    (run, ranking_seconds), memory["ranking_run_compute"] = client.measured(
        lambda: timed(
            lambda: ranking_run(
                start=pages_seeded.year_start, end=today, user_id=pages_seeded.user_id
            )
        ),
        server_pid=None,
    )
    paths = _paths(pages_seeded, segment_id=segment_id, run_id=run.pk)
    cookie = client.session_cookie(pages_seeded.user_id)
    write_key = tracking_source_create(name=TRACKING_SOURCE).write_key
    config = GunicornConfig(workers=options.workers, threads=options.threads)
    pages: dict[str, dict[str, Any]] = {}
    tracking: dict[str, dict[str, Any]] = {}
    baselines_day = today
    days_turned: list[str] = []
    with gunicorn_serving(
        config,
        environment=server_environment(connection.settings_dict),
        ready=lambda _host, port: _login_page_ready(port),
    ) as server:
        for name, label, marker in PAGES:
            day = _baselines_kept_current(segment_id=segment_id, stored_for=baselines_day)
            if day != baselines_day:
                _say(options, f"the day turned: change baselines stored for {day}")
                baselines_day = day
                days_turned.append(day.isoformat())
            _say(options, f"GET {label} x {options.requests}")
            # One untimed round of every path: templates, caches, connections.
            client.pages_get(port=server.port, cookie=cookie, paths=paths[name],
                             requests=len(paths[name]), marker=marker)  # fmt: skip
            timing, memory[name] = client.measured(
                partial(client.pages_get, port=server.port, cookie=cookie, paths=paths[name],
                        requests=options.requests, marker=marker),
                server_pid=server.pid,
            )  # fmt: skip
            pages[name] = {"label": label, "paths": len(paths[name]), **asdict(timing)}
        _say(options, f"POST /v1/batch x {options.tracking_requests}")
        tracking["batch"], memory["tracking_batch"] = _batch_rate(
            options, port=server.port, pid=server.pid, write_key=write_key, prefix="batch"
        )
        _say(options, f"POST /v1/track x {options.tracking_requests}")
        rate, memory["tracking_track"] = client.measured(
            partial(client.tracking_send, port=server.port, write_key=write_key,
                    path="/v1/track", requests=options.tracking_requests, events_each=1,
                    prefix="track", clients=options.connections),
            server_pid=server.pid,
        )  # fmt: skip
        tracking["track"] = {"path": "/v1/track", **asdict(rate)}
    stored = Activity.objects.filter(source__name=TRACKING_SOURCE).count()
    sent = sum(t["events"] for t in tracking.values())
    if stored != sent:
        raise BenchmarkError(f"the tracking calls stored {stored:,} activities of {sent:,} sent")
    _tracking_source_delete()

    _say(options, f"incremental rollup of {options.new_activities:,} activities")
    activities_add(seeded=seeded, count=options.new_activities, seed=options.seed)
    rollup_log = StatementLog()
    with connection.execute_wrapper(rollup_log):
        (rolled, rollup_seconds), memory["incremental_rollup"] = client.measured(
            lambda: timed(lambda: scores_rollup(segment_id=segment_id, at=at, alerts=False)),
            server_pid=None,
        )
    checked_after_rollup = agreement_check(
        reference=reference_scores(segment_id=segment_id, at=at),
        product_side=product_scores(segment_id=segment_id),
        when=f"after the incremental rollup of {options.new_activities:,} activities",
    )
    sizes = {
        "accounts": options.accounts, "members": seeded.members, "contacts": options.contacts,
        "activities": options.activities, "new_activities": options.new_activities,
        "requests": options.requests, "tracking_requests": options.tracking_requests,
        "tracking_clients": options.connections,
        **{k: v for k, v in asdict(pages_seeded).items() if isinstance(v, int)
           and not k.endswith("_id")},
    }  # fmt: skip
    return PagesResult(
        postgres=options.postgres,
        sizes=sizes,
        history_days=HISTORY_DAYS,
        at=at.isoformat(),
        today=today.isoformat(),
        seed_seconds=round(seed_seconds, 3),
        recompute_seconds=round(recompute_seconds, 3),
        checked_after_recompute=checked_after_recompute,
        ranking_run_seconds=round(ranking_seconds, 3),
        ranking_run_programs=run.entries.count(),
        pages=pages,
        tracking=tracking,
        tracking_empty=tracking_empty,
        rollup_seconds=round(rollup_seconds, 3),
        rollup_accounts=rolled.accounts_refreshed,
        rollup_breakdown=breakdown(rollup_log, rollup_seconds),
        checked_after_rollup=checked_after_rollup,
        memory_mb=memory,
        server=config.as_dict(),
        machine={
            **machine_facts(settings=DATABASE_SETTINGS, load_at_start=load_at_start),
            "memory_mb": _memory_total_mb(),
        },
        days_turned=days_turned,
    )


def _memory_total_mb() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0
