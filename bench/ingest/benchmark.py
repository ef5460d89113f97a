"""The ingest benchmark: tracking events through the real HTTP stack against raw COPY.

1. Generate N deterministic events (a track/page mix from a pool of known users
   and anonymous visitors, with IPs, campaigns and program keys) in batches of
   100, as the standard tracking clients send them.
2. Start gunicorn on loopback and POST every batch to /v1/batch over a bounded
   number of keep-alive connections. Each 200 means the batch was committed.
3. Check that every event is stored exactly once: as many activities as events,
   as many distinct message ids, and the same ids (an order-free checksum).
4. COPY the very rows the API stored into the same table under a second source,
   timed on its own, as the ceiling the API is compared with.
5. Delete what the run wrote (unless asked to keep it).

docs/benchmarks.md has the figures and what limits them. This module runs the
steps and reports; the workload, the client and the rows are the package's
other modules.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection

from accounts.models import Contact
from bench import BenchmarkError, cpu
from bench.ingest.client import Sender, server_ready
from bench.ingest.rows import (
    COPY_SOURCE,
    HTTP_SOURCE,
    bench_data_delete,
    copy_same_rows,
    stored_rows,
)
from bench.ingest.workload import BATCH_SIZE, USER_PREFIX, workload_generate
from bench.measure import checkpoint, load_average, machine_facts
from bench.options import BenchOptions
from bench.server import (
    GunicornConfig,
    gunicorn_serving,
    server_environment,
    tracking_source_create,
)
from engagement.models import Activity
from engagement.services.sources import source_create

# The PostgreSQL settings reported with the result.
DATABASE_SETTINGS = ("server_version", "synchronous_commit", "fsync", "shared_buffers")


@dataclass(frozen=True, kw_only=True)
class IngestOptions(BenchOptions):
    events: int = 1_000_000
    connections: int = 8
    workers: int = 2
    threads: int = 4
    keep: bool = False


@dataclass(frozen=True)
class IngestResult:
    events: int
    batch_size: int
    connections: int
    server: dict[str, Any]
    http_seconds: float
    http_events_per_second: float
    copy_seconds: float
    copy_events_per_second: float
    ratio_to_copy: float
    requests: int
    retries: int
    duplicates_reported: int
    latency_ms: dict[str, float]
    # Events per second over each tenth of the batches, in order (rates_by_part).
    events_per_second_by_tenth: list[float]
    # CPU milliseconds per batch of 100 during the HTTP phase (Linux; else None).
    cpu_ms_per_batch: dict[str, float | None]
    exactly_once: bool
    stored: int
    distinct_message_ids: int
    with_contact: int
    with_account: int
    contacts_created: int
    users: int
    visitors: int
    seed: int
    machine: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _latency_ms(latencies: Sequence[float]) -> dict[str, float]:
    if len(latencies) < 2:
        value = round(latencies[0] * 1000, 2) if latencies else 0.0
        return {"p50": value, "p95": value, "p99": value, "max": value}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "p50": round(cuts[49] * 1000, 2),
        "p95": round(cuts[94] * 1000, 2),
        "p99": round(cuts[98] * 1000, 2),
        "max": round(max(latencies) * 1000, 2),
    }


def rates_by_part(
    answered_at: Sequence[float], *, events_per_batch: int, parts: int = 10
) -> list[float]:
    """Events per second over each of `parts` consecutive shares of the batches
    (in the order they were answered, each taken as full): whether the rate
    held over the run, not only on average. Fewer parts when there are fewer
    batches."""
    times = sorted(answered_at)
    parts = min(parts, len(times))
    rates = []
    previous = 0.0
    for part in range(parts):
        first = len(times) * part // parts
        last = len(times) * (part + 1) // parts  # exclusive
        seconds = times[last - 1] - previous
        rates.append(round((last - first) * events_per_batch / seconds, 1) if seconds > 0 else 0.0)
        previous = times[last - 1]
    return rates


def run(options: IngestOptions) -> IngestResult:
    """Run the ingest benchmark on the default (PostgreSQL) database."""
    if connection.vendor != "postgresql":
        raise BenchmarkError(
            f"the ingest benchmark needs PostgreSQL; the database is {connection.vendor}"
        )
    load_at_start = load_average()
    workload = workload_generate(
        events=options.events, seed=options.seed, progress=options.progress
    )
    bench_data_delete()  # a run that was stopped half way left its rows
    issued = tracking_source_create(name=HTTP_SOURCE)
    copy_source = source_create(name=COPY_SOURCE).source
    server = GunicornConfig(workers=options.workers, threads=options.threads)
    try:
        checkpoint(required=False)
        with gunicorn_serving(
            server,
            environment=server_environment(connection.settings_dict),
            ready=lambda _host, port: server_ready(port, issued.write_key),
        ) as running:
            sender = Sender(
                port=running.port,
                write_key=issued.write_key,
                workload=workload,
                connections=options.connections,
                progress=options.progress,
            )
            database = str(connection.settings_dict["NAME"])
            before = cpu.sample(server_pid=running.pid, database=database)
            sent = sender.run()
            after = cpu.sample(server_pid=running.pid, database=database)
        stored = stored_rows(issued.source.pk)
        exactly_once = (
            stored.rows == workload.events
            and stored.distinct_message_ids == workload.events
            and stored.checksum == workload.checksum
        )
        if not exactly_once:
            raise BenchmarkError(
                f"not exactly once: {workload.events} events sent, {stored.rows} stored with "
                f"{stored.distinct_message_ids} distinct message ids"
                + ("" if stored.checksum == workload.checksum else ", and other ids than sent")
            )
        contacts_created = Contact.objects.filter(external_id__startswith=USER_PREFIX).count()
        copy_seconds = copy_same_rows(from_source_id=issued.source.pk, to_source_id=copy_source.pk)
        copied = Activity.objects.filter(source_id=copy_source.pk).count()
        if copied != workload.events:
            raise BenchmarkError(f"COPY stored {copied} rows, not {workload.events}")
        machine = machine_facts(settings=DATABASE_SETTINGS, load_at_start=load_at_start)
    finally:
        if not options.keep:
            bench_data_delete()
    http_rate = workload.events / sent.seconds
    copy_rate = workload.events / copy_seconds
    return IngestResult(
        events=workload.events,
        batch_size=BATCH_SIZE,
        connections=options.connections,
        server=server.as_dict(),
        http_seconds=round(sent.seconds, 3),
        http_events_per_second=round(http_rate, 1),
        copy_seconds=round(copy_seconds, 3),
        copy_events_per_second=round(copy_rate, 1),
        ratio_to_copy=round(http_rate / copy_rate, 4),
        requests=sent.requests,
        retries=sent.retries,
        duplicates_reported=sent.duplicates,
        latency_ms=_latency_ms(sent.latencies),
        events_per_second_by_tenth=rates_by_part(sent.answered_at, events_per_batch=BATCH_SIZE),
        cpu_ms_per_batch=cpu.cpu_per_batch(before, after, batches=sent.requests),
        exactly_once=exactly_once,
        stored=stored.rows,
        distinct_message_ids=stored.distinct_message_ids,
        with_contact=stored.with_contact,
        with_account=stored.with_account,
        contacts_created=contacts_created,
        users=workload.users,
        visitors=workload.visitors,
        seed=options.seed,
        machine=machine,
    )
