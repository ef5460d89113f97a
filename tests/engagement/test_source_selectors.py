"""The tracking sources' reads: where today and this week start in the site's
time zone, one query for every source, and the index that query reads on
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagement.models import Activity, ActivityType
from engagement.partitions import month_of
from engagement.services.partitions import activity_partitions_ensure
from engagement.source_selectors import sources_with_traffic, traffic_periods
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.mark.parametrize(
    ("now", "today_start", "week_start"),
    [
        # Wednesday 28 October 2026 in Berlin (CET, UTC+1 since Sunday the 25th).
        (
            dt.datetime(2026, 10, 28, 12, 0, tzinfo=UTC),
            dt.datetime(2026, 10, 27, 23, 0, tzinfo=UTC),
            dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
        ),
        # 23:30 UTC on Sunday 29 March is already Monday 30 March, 01:30 CEST (UTC+2).
        (
            dt.datetime(2026, 3, 29, 23, 30, tzinfo=UTC),
            dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
            dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
        ),
        # Sunday 5 April 2026, 10:00 CEST: the week began on Monday 30 March.
        (
            dt.datetime(2026, 4, 5, 8, 0, tzinfo=UTC),
            dt.datetime(2026, 4, 4, 22, 0, tzinfo=UTC),
            dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
        ),
    ],
)
def test_today_and_the_week_start_at_local_midnight(
    settings: Any, now: dt.datetime, today_start: dt.datetime, week_start: dt.datetime
) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    periods = traffic_periods(now=now)
    assert (periods.today_start, periods.week_start) == (today_start, week_start)
    assert periods.time_zone == "Europe/Berlin"


def _activities(source: Any, count: int, received_at: dt.datetime) -> None:
    message_ids = [f"{received_at.isoformat()}-{n}" for n in range(count)]
    Activity.objects.bulk_create(
        Activity(
            source=source,
            message_id=message_id,
            type=ActivityType.PAGE_VIEW,
            occurred_at=received_at,
        )
        for message_id in message_ids
    )
    # received_at is set on insert (auto_now_add): moved back afterwards.
    Activity.objects.filter(source=source, message_id__in=message_ids).update(
        received_at=received_at
    )


def test_every_source_with_its_counts_is_one_query(django_assert_num_queries: Any) -> None:
    now = timezone.now()
    for _ in range(4):
        _activities(SourceFactory.create(), 3, now)
    with django_assert_num_queries(1):
        sources: list[Any] = list(sources_with_traffic(now=now))
    assert [s.received_today for s in sources] == [3, 3, 3, 3]


def test_the_counts_read_the_source_and_time_index(postgresql: None) -> None:
    now = timezone.now()
    sources = [SourceFactory.create() for _ in range(3)]
    # Monthly partitions from two months back: at least one holds history only.
    activity_partitions_ensure(now=now, since=month_of(now - dt.timedelta(days=62)))
    for days_ago in range(0, 62, 3):
        for source in sources:
            _activities(source, 40, now - dt.timedelta(days=days_ago, minutes=1))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Activity._meta.db_table}")
    with CaptureQueriesContext(connection) as captured:
        list(sources_with_traffic(now=now))
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        # Monthly partitions on PostgreSQL (migration 0030): each one holding
        # only rows received before the week counted is read through its copy
        # of the index (the history is not scanned); one holding the week's
        # rows, mostly counted, may be scanned, as may an empty one.
        cursor.execute(
            "SELECT tableoid::regclass::text FROM engagement_activity GROUP BY 1"
            " HAVING max(received_at) < %s",
            [now - dt.timedelta(days=8)],
        )
        history = [row[0] for row in cursor.fetchall()]
    assert history, "the test needs rows older than the week"
    assert "Seq Scan on engagement_activity " not in plan, plan
    for table in history:
        assert f"Seq Scan on {table} " not in plan, plan
        assert f"{table}_source_id_received_at_idx" in plan, plan
