"""`manage.py bench --only ingest` end to end with a tiny N: gunicorn, /v1/batch, COPY."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Contact
from bench.ingest import benchmark, workload
from engagement.models import Activity, Source

EVENTS = 300


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_ingest_benchmark_stores_every_event_once_and_reports_both_rates(
    postgresql: None, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    call_command(
        "bench",
        "--only",
        "ingest",
        "--events",
        str(EVENTS),
        "--workers",
        "1",
        "--threads",
        "2",
        "--connections",
        "2",
        "--out",
        str(out),
        verbosity=0,
    )

    result = json.loads(out.read_text())["ingest"]
    assert result["exactly_once"] is True
    assert result["events"] == result["stored"] == result["distinct_message_ids"] == EVENTS
    assert result["requests"] == EVENTS // workload.BATCH_SIZE
    assert result["duplicates_reported"] == 0
    assert result["contacts_created"] > 0
    assert result["with_contact"] > 0
    assert result["http_events_per_second"] > 0
    assert result["copy_events_per_second"] > 0
    assert result["ratio_to_copy"] > 0
    # Three batches: a rate for each.
    assert len(result["events_per_second_by_tenth"]) == 3
    assert min(result["events_per_second_by_tenth"]) > 0
    assert result["server"]["workers"] == 1
    # The run deletes what it wrote.
    assert not Source.objects.filter(name__startswith="bench ingest").exists()
    assert not Activity.objects.exists()
    assert not Contact.objects.filter(external_id__startswith=workload.USER_PREFIX).exists()


def test_the_rate_is_reported_for_each_share_of_the_run() -> None:
    # Six batches of 100 answered at these seconds, in three shares of two:
    # 200 events in 2 s, then 200 in 2.5 s, then 200 in 1.5 s.
    answered = [1.0, 2.0, 3.0, 4.5, 5.0, 6.0]
    assert benchmark.rates_by_part(answered, events_per_batch=100, parts=3) == [100.0, 80.0, 133.3]
    # Fewer batches than shares: one share per batch.
    assert benchmark.rates_by_part([0.5, 1.0], events_per_batch=100) == [200.0, 200.0]


def test_the_bench_refuses_sqlite_saying_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match=r"bench measures PostgreSQL.*DATABASE_URL"):
        call_command("bench", "--events", "10", verbosity=0)


def test_the_same_seed_sends_the_same_bytes() -> None:
    first = workload.workload_generate(events=250, seed=7)
    again = workload.workload_generate(events=250, seed=7)
    other = workload.workload_generate(events=250, seed=8)
    assert [b.body for b in first.batches] == [b.body for b in again.batches]
    assert [b.events for b in first.batches] == [100, 100, 50]
    assert first.checksum == again.checksum != other.checksum
    calls = [c for b in first.batches for c in json.loads(b.body)["batch"]]
    assert {c["type"] for c in calls} == {"track", "page"}
    assert len({c["messageId"] for c in calls}) == 250
    assert any("userId" in c for c in calls) and any("userId" not in c for c in calls)
