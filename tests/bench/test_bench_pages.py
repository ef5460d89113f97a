"""`manage.py bench --only pages` at a tiny size (issue 20's CI smoke run): every
step runs, every page answers 200 with its content to a logged-in user, the
product agrees with the hand-written SQL on every score, and the JSON holds
every figure. No timing is asserted: speed is the benchmark's to judge."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from bench.pages import benchmark, client, dataset
from bench.rollup.reference import product_scores, reference_scores, scores_compare
from bench.server import RATE_LIMIT_PER_SECOND, tracking_source_create
from campaigns.models import Campaign, CampaignTarget, Program, RankingRun, Spend, Touch
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityPending,
    EngagementSnapshot,
    Source,
)
from tests.factories import (
    AccountEngagementFactory,
    ActivityFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    SourceFactory,
    segment_member,
)
from tests.web.browser import role_groups_restore

TINY = [
    "--accounts", "30", "--contacts", "200", "--activities", "3000", "--new-activities", "300",
    "--requests", "12", "--workers", "1", "--threads", "2", "--connections", "2",
    # More than one round of tracking bodies (client.TRACKING_ROUND).
    "--tracking-requests", "250",
]  # fmt: skip
PAGE_FIGURES = {"label", "paths", "requests", "seconds", "p50_ms", "p95_ms", "mean_ms",
                "bytes_per_response"}  # fmt: skip
RATE_FIGURES = {"path", "requests", "events", "clients", "seconds", "requests_per_second",
                "events_per_second", "p50_ms", "p95_ms"}  # fmt: skip


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_pages_benchmark_runs_every_step_and_the_scores_agree(
    postgresql: None, tmp_path: Path
) -> None:
    role_groups_restore()  # a flush by an earlier transactional test takes them
    out = tmp_path / "bench.json"
    call_command("bench", "--only", "pages", *TINY, "--out", str(out), verbosity=0)

    result = json.loads(out.read_text())["pages"]
    sizes = result["sizes"]
    members = sizes["members"]
    assert 0 < members <= 30
    assert sizes["activities"] == 3000 and sizes["new_activities"] == 300
    assert result["checked_after_recompute"] == result["checked_after_rollup"] == members
    assert result["rollup_accounts"] > 0
    # Every page was fetched 12 times (each answered 200 with its content and no
    # login form, or the run would have failed), and every figure is there.
    assert list(result["pages"]) == [name for name, _label, _marker in benchmark.PAGES]
    for page in result["pages"].values():
        assert set(page) == PAGE_FIGURES
        assert page["requests"] == 12
        assert 0 < page["p50_ms"] <= page["p95_ms"]
        assert page["bytes_per_response"] > 2000
    assert result["pages"]["account_page"]["paths"] == members  # fewer members than 50
    assert set(result["tracking"]) == {"batch", "track"}
    # 250 calls are two rounds of bodies; every call of every round was stored
    # (the run checks the count), so the rounds' message ids are distinct.
    assert client.TRACKING_ROUND < 250 and result["sizes"]["tracking_requests"] == 250
    for name, each in (("batch", 100), ("track", 1)):
        rate = result["tracking"][name]
        assert set(rate) == RATE_FIGURES
        assert rate["requests"] == 250 and rate["events"] == 250 * each and rate["clients"] == 2
        assert rate["requests_per_second"] > 0
    # /v1/batch on the empty activity table too, before the seeding.
    empty = result["tracking_empty"]
    assert set(empty) == RATE_FIGURES and empty["events"] == 250 * 100
    assert result["postgres"] == "machine"
    assert result["ranking_run_seconds"] > 0 and result["ranking_run_programs"] == 4
    steps = {"seed", "recompute", "pages_seed", "ranking_run_compute", "incremental_rollup",
             "tracking_batch_empty", "tracking_batch",
             "tracking_track", *result["pages"]}  # fmt: skip
    assert set(result["memory_mb"]) == steps
    for step, memory in result["memory_mb"].items():
        assert memory["process_peak_mb"] > 0
        served = step in result["pages"] or step.startswith("tracking_")
        assert (memory.get("workers_peak_mb", 0) > 0) == served, step
    assert result["recompute_seconds"] > 0 and result["rollup_seconds"] > 0
    # Where the rollup's time went: the claim, the reads and the writes.
    rolled = result["rollup_breakdown"]
    assert rolled["statements"] >= 3 and len(rolled["slowest"]) == 3
    assert 0 < rolled["sql_seconds"] <= result["rollup_seconds"]
    machine = result["machine"]
    assert machine["cpus"] > 0 and machine["memory_mb"] > 0
    assert machine["postgresql"]["server_version"]
    assert {"shared_buffers", "effective_cache_size", "maintenance_work_mem"} <= set(
        machine["postgresql"]
    )
    assert result["server"]["workers"] == 1

    # What the pages read was seeded, scaled from the activity count.
    campaign = Campaign.objects.get(name=dataset.CAMPAIGN_NAME)
    assert Program.objects.filter(campaign=campaign).count() == sizes["programs"] == 4
    assert Touch.objects.count() == sizes["touches"] > 0
    assert CampaignTarget.objects.filter(campaign=campaign).count() == members
    assert 0 < sizes["held_out"] < members
    assert Spend.objects.count() == sizes["spend_lines"] > 0
    assert sizes["opportunities"] == 20
    assert EngagementSnapshot.objects.count() == sizes["snapshots"] == members * 365
    assert EngagementSnapshot.objects.filter(day=timezone.localdate()).count() == members
    assert RankingRun.objects.get().entries.count() == 4
    # The tracking calls were stored and then deleted; the new activities are in.
    assert not Source.objects.filter(name=benchmark.TRACKING_SOURCE).exists()
    assert Activity.objects.count() == 3000 + 300
    segment_id = int(Campaign.objects.get().segment_id or 0)
    at = dt.datetime.fromisoformat(result["at"])
    assert scores_compare(reference_scores(segment_id=segment_id, at=at),
                          product_scores(segment_id=segment_id)) == []  # fmt: skip


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_second_run_replaces_the_first(postgresql: None) -> None:
    role_groups_restore()
    for _ in range(2):
        call_command("bench", "--only", "pages", *TINY, "--requests", "2", verbosity=0)
    assert Campaign.objects.count() == 1 and RankingRun.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM auth_user WHERE username = %s", [dataset.USERNAME])
        assert cursor.fetchone() == (1,)


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    latencies = [0.001 * n for n in range(1, 101)]  # 1 ms .. 100 ms
    assert client.percentile(latencies, 0.50) == 50.0
    assert client.percentile(latencies, 0.95) == 95.0
    assert client.percentile([0.2], 0.95) == 200.0
    assert client.percentile([0.3, 0.1, 0.2], 0.50) == 200.0


def test_every_program_the_dataset_can_seed_runs_30_days_within_the_snapshot_year() -> None:
    # At 1M activities the dataset seeds 200 programs; one of them once ended
    # before it started (a check constraint refused it).
    for n in range(dataset.MAX_PROGRAMS):
        first, last = dataset.program_days(n)
        assert first >= 0 and first + 30 <= last <= dataset.SNAPSHOT_DAYS - 1, (n, first, last)


@pytest.mark.services
@pytest.mark.django_db
def test_the_tracking_calls_are_deleted_with_their_pending_rows_and_nothing_else(
    postgresql: None,
) -> None:
    tracking = tracking_source_create(name=benchmark.TRACKING_SOURCE).source
    warm_up = tracking_source_create(name=benchmark.WARM_UP_SOURCE).source
    kept = SourceFactory.create(name="a customer's site")
    for source in (tracking, tracking, warm_up, kept):
        ActivityFactory.create(source=source)  # the insert trigger makes each pending
    kept_id = Activity.objects.get(source=kept).pk
    assert ActivityPending.objects.count() == 4
    # The benchmark's sources answer far more than the API's default limit.
    assert tracking.rate_limit_per_second is None
    tracking.refresh_from_db()
    assert tracking.rate_limit_per_second == RATE_LIMIT_PER_SECOND
    benchmark._tracking_source_delete()
    assert list(Activity.objects.values_list("pk", flat=True)) == [kept_id]
    assert list(ActivityPending.objects.values_list("activity_id", flat=True)) == [kept_id]
    assert list(Source.objects.values_list("name", flat=True)) == ["a customer's site"]


@pytest.mark.django_db
def test_requests_past_midnight_read_the_new_days_baselines_as_after_the_nightly_job() -> None:
    # A 10M run crossed midnight (docs/benchmarks.md, 7 December): the list by
    # change then took the snapshots' fallback, a path production leaves once
    # the nightly job has stored the new day's baselines.
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    segment = ICPSegmentFactory.create()
    account = segment_member(segment)
    AccountEngagementFactory.create(account=account, segment=segment, score=50)
    EngagementSnapshotFactory.create(account=account, segment=segment,
                                     day=today - dt.timedelta(days=7), score=41)  # fmt: skip
    EngagementSnapshotFactory.create(account=account, segment=segment,
                                     day=today - dt.timedelta(days=30), score=12)  # fmt: skip
    AccountEngagement.objects.update(
        baselines_for=yesterday, baseline_score_7d=None, baseline_score_30d=None
    )

    # Still the seeded day: nothing is written.
    assert benchmark._baselines_kept_current(segment_id=segment.pk, stored_for=today) == today
    row = AccountEngagement.objects.get()
    assert (row.baselines_for, row.baseline_score_7d) == (yesterday, None)

    # The day has turned since the baselines were stored: stored for today.
    assert benchmark._baselines_kept_current(segment_id=segment.pk, stored_for=yesterday) == today
    row = AccountEngagement.objects.get()
    assert (row.baselines_for, row.baseline_score_7d, row.baseline_score_30d) == (today, 41, 12)
