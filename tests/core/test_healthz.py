from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from accounts.models import ICPSegment
from core.models import WorkerHeartbeat
from core.services import worker_heartbeat_record
from engagement.models import Activity, ActivityPending, ScoringModel
from engagement.selectors import rollup_health
from tests.factories import AccountFactory, SourceFactory


@pytest.mark.django_db
def test_healthz_answers_200_with_database_and_broker_status(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": connection.vendor}
    assert body["broker"]["ok"] is True
    assert body["broker"]["mode"] == ("eager" if not body["broker"].get("transport") else "broker")
    assert body["workers"] == {"last_seen": None, "seconds_ago": None}
    assert body["rollup"] == {
        "ok": True,
        "pending": 0,
        "oldest_received_at": None,
        "oldest_seconds_ago": None,
        "stale_after_seconds": 600,
    }


@pytest.mark.django_db
def test_healthz_reports_when_a_worker_last_ran_the_heartbeat(client: Client) -> None:
    heartbeat = worker_heartbeat_record(hostname="celery@worker-1")
    body = client.get("/healthz").json()
    assert body["workers"]["last_seen"] == heartbeat.seen_at.isoformat()
    assert 0 <= body["workers"]["seconds_ago"] <= 5
    assert WorkerHeartbeat.objects.count() == 1


@pytest.mark.django_db
@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_healthz_is_degraded_but_up_when_the_broker_is_unreachable(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["broker"]["ok"] is False
    assert body["broker"]["error"]


def test_healthz_answers_503_when_the_database_is_unreachable(
    client: Client, unreachable_database: None
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is False
    assert body["database"]["error"]


def _activities(count: int, *, received_ago: dt.timedelta, claimed: bool = False) -> list[int]:
    """`count` activities received `received_ago` before now; pending unless claimed."""
    source, account = SourceFactory.create(), AccountFactory.create()
    prefix = f"{'c' if claimed else 'p'}{received_ago.total_seconds():.0f}"
    rows = Activity.objects.bulk_create(
        Activity(
            source=source, message_id=f"{prefix}-{n}", type="page_view",
            occurred_at=timezone.now() - dt.timedelta(days=3), account=account,
        )
        for n in range(count)
    )  # fmt: skip
    if claimed:  # as a rollup leaves them: no pending row
        ActivityPending.objects.filter(activity_id__in=[row.pk for row in rows]).delete()
    # received_at is set on insert (auto_now_add): move it back by hand.
    Activity.objects.filter(pk__in=[row.pk for row in rows]).update(
        received_at=timezone.now() - received_ago
    )
    return [row.pk for row in rows]


def _scoring_model() -> None:
    ScoringModel.objects.create(segment=ICPSegment.objects.create(name="Scored"))


def _pending_in_sql() -> tuple[int, dt.datetime | None]:
    """The backlog recomputed in plain SQL, apart from the code under test."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.received_at FROM {Activity._meta.db_table} a"  # noqa: S608
            f" JOIN {ActivityPending._meta.db_table} p ON p.activity_id = a.id"
            " WHERE p.batch IS NULL"
        )
        received = [
            value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
            for (value,) in cursor.fetchall()
        ]
    oldest = min(received, default=None)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return len(received), oldest


@pytest.mark.django_db
def test_healthz_is_ok_while_pending_activity_is_fresh(client: Client) -> None:
    _scoring_model()
    _activities(4, received_ago=dt.timedelta(seconds=30))
    _activities(2, received_ago=dt.timedelta(hours=3), claimed=True)  # already scored

    body = client.get("/healthz").json()

    assert body["status"] == "ok"
    rollup = body["rollup"]
    assert rollup["ok"] is True
    assert rollup["pending"] == 4 == _pending_in_sql()[0]
    assert 30 <= rollup["oldest_seconds_ago"] <= 35
    assert "detail" not in rollup


@pytest.mark.django_db
def test_healthz_is_degraded_when_pending_activity_is_older_than_the_threshold(
    client: Client,
) -> None:
    _scoring_model()
    _activities(2, received_ago=dt.timedelta(minutes=1))
    _activities(3, received_ago=dt.timedelta(minutes=25))
    _activities(5, received_ago=dt.timedelta(hours=2), claimed=True)

    response = client.get("/healthz")

    # Degraded, not down: ingest still commits; the broker outage convention.
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["broker"]["ok"] is True
    rollup = body["rollup"]
    count, oldest = _pending_in_sql()
    assert oldest is not None
    assert rollup["ok"] is False
    assert rollup["pending"] == 5 == count  # 2 fresh + 3 old; the claimed 5 are not
    assert rollup["oldest_received_at"] == oldest.isoformat()
    assert 25 * 60 <= rollup["oldest_seconds_ago"] <= 25 * 60 + 5
    assert rollup["stale_after_seconds"] == 600
    assert rollup["detail"].startswith(
        f"5 activities wait for the score rollup, the oldest for {rollup['oldest_seconds_ago']} s"
        " (more than 600 s)"
    )


@pytest.mark.django_db
def test_the_stale_threshold_is_the_setting(client: Client) -> None:
    _scoring_model()
    _activities(1, received_ago=dt.timedelta(seconds=100))
    with override_settings(SCORES_ROLLUP_STALE_SECONDS=120):
        assert client.get("/healthz").json()["status"] == "ok"
    with override_settings(SCORES_ROLLUP_STALE_SECONDS=60):
        body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["rollup"]["stale_after_seconds"] == 60


@pytest.mark.django_db
def test_an_old_backlog_without_any_scoring_model_is_reported_but_not_degraded(
    client: Client,
) -> None:
    _activities(2, received_ago=dt.timedelta(hours=1))

    body = client.get("/healthz").json()

    assert body["status"] == "ok"
    assert body["rollup"]["ok"] is True
    assert body["rollup"]["pending"] == 2
    assert body["rollup"]["oldest_seconds_ago"] >= 3600
    assert "no segment has a scoring model" in body["rollup"]["detail"]


@pytest.mark.django_db
def test_the_rollup_check_is_one_query_whatever_the_backlog(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    _scoring_model()
    _activities(40, received_ago=dt.timedelta(hours=1))
    _activities(10, received_ago=dt.timedelta(hours=1), claimed=True)
    with django_assert_num_queries(1):
        rollup_health()
    # The whole probe: SELECT 1, the last heartbeat, the rollup backlog.
    with django_assert_num_queries(3):
        assert client.get("/healthz").json()["rollup"]["pending"] == 40


@pytest.mark.django_db
def test_the_rollup_check_reads_the_pending_table_not_the_history(postgresql: None) -> None:
    _scoring_model()
    _activities(2000, received_ago=dt.timedelta(hours=1), claimed=True)
    _activities(3, received_ago=dt.timedelta(hours=1))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Activity._meta.db_table}")
        cursor.execute(f"ANALYZE {ActivityPending._meta.db_table}")
    with CaptureQueriesContext(connection) as captured:
        rollup_health()
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        # On PostgreSQL the history is in monthly partitions (migration 0030):
        # the ones holding rows must be read by key; an empty one may be scanned.
        cursor.execute("SELECT DISTINCT tableoid::regclass::text FROM engagement_activity")
        holding = [row[0] for row in cursor.fetchall()]
    # The pending rows, then each one's activity by its primary key: no scan of history.
    assert "engagement_activitypending" in plan, plan
    assert "Seq Scan on engagement_activity " not in plan, plan
    for table in holding:
        assert f"Seq Scan on {table} " not in plan, plan
        assert f"{table}_pkey" in plan, plan
