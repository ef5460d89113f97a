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

docs/benchmarks.md has the figures and what limits them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import os
import platform
import random
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from django.db import connection, transaction
from tqdm import tqdm

from accounts.models import Contact
from bench import BenchmarkError, cpu
from bench.server import HOST, GunicornConfig, gunicorn_serving, server_environment
from engagement.models import Activity, Source
from engagement.services.sources import source_create

HTTP_SOURCE = "bench ingest (HTTP)"
COPY_SOURCE = "bench ingest (COPY)"
USER_PREFIX = "bench-user-"
ANONYMOUS_PREFIX = "bench-anon-"
# The standard clients (analytics-python, analytics.js) flush 100 calls per request.
BATCH_SIZE = 100
# The API's own per-source limit is kept in the path but set out of the way.
RATE_LIMIT_PER_SECOND = 1_000_000
# A batch is retried on 429, 503 or a dropped connection (safe: message ids dedup).
MAX_ATTEMPTS = 5
REQUEST_TIMEOUT_SECONDS = 60

# --- Deterministic events ---------------------------------------------------------
# Fixed so that the same seed gives byte-identical requests on every run.
BASE_TIME = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
WINDOW_SECONDS = 90 * 86_400
LIBRARY = {"name": "analytics-python", "version": "2.4.0"}
SHARE_TRACK = 0.55
SHARE_IDENTIFIED = 0.7
TRACK_EVENTS: tuple[str, ...] = (
    "Email Opened",
    "Email Clicked",
    "Ad Viewed",
    "Ad Clicked",
    "Content Downloaded",
    "Form Submitted",
    "Webinar Registered",
    "Webinar Attended",
    "Demo Requested",
    "Pricing Viewed",
    "Button Clicked",
    "Video Played",
)
TRACK_WEIGHTS: tuple[int, ...] = (20, 8, 15, 5, 6, 3, 3, 2, 1, 2, 10, 5)
PAGE_PATHS: tuple[str, ...] = (
    "/",
    "/pricing",
    "/plans/enterprise",
    "/de/pricing",
    "/product",
    "/product/analytics",
    "/customers",
    "/blog/account-based-marketing-101",
    "/blog/buying-teams",
    "/docs/getting-started",
    "/docs/api",
    "/about",
)
PAGE_WEIGHTS: tuple[int, ...] = (20, 6, 2, 1, 10, 6, 4, 8, 6, 5, 4, 2)
PROGRAM_KEYS: tuple[str, ...] = tuple(f"fy25-program-{n:02d}" for n in range(40))
CAMPAIGN_SOURCES: tuple[str, ...] = ("linkedin", "google", "newsletter", "partner")
# Client networks: a few /8s, so addresses repeat across visitors of one company.
NETWORKS: tuple[int, ...] = (23, 52, 81, 91, 104, 145, 185, 203)


def _message_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _event(rng: random.Random, *, users: int, visitors: int) -> dict[str, Any]:
    """One call as analytics-python sends it."""
    context: dict[str, Any] = {
        "ip": f"{rng.choice(NETWORKS)}.{rng.randrange(256)}.{rng.randrange(256)}."
        f"{rng.randrange(1, 255)}",
        "library": LIBRARY,
    }
    if rng.random() < 0.25:
        context["campaign"] = {
            "name": rng.choice(PROGRAM_KEYS).upper(),
            "source": rng.choice(CAMPAIGN_SOURCES),
            "medium": "paid" if rng.random() < 0.5 else "email",
        }
    timestamp = BASE_TIME - dt.timedelta(seconds=rng.randrange(WINDOW_SECONDS))
    event: dict[str, Any] = {"messageId": _message_id(rng), "timestamp": timestamp.isoformat()}
    if rng.random() < SHARE_IDENTIFIED:
        # A few heavy users and a long tail, as on a real site.
        event["userId"] = f"{USER_PREFIX}{int(users * rng.random() ** 2):06d}"
        if rng.random() < 0.5:
            event["anonymousId"] = f"{ANONYMOUS_PREFIX}{rng.randrange(visitors):07d}"
    else:
        event["anonymousId"] = f"{ANONYMOUS_PREFIX}{rng.randrange(visitors):07d}"
    if rng.random() < SHARE_TRACK:
        name = rng.choices(TRACK_EVENTS, TRACK_WEIGHTS)[0]
        properties: dict[str, Any] = {"category": "engagement", "label": name.lower()}
        if name.startswith(("Webinar", "Content", "Form")) or rng.random() < 0.1:
            properties["program_key"] = rng.choice(PROGRAM_KEYS)
        if name == "Video Played":
            properties["seconds"] = rng.randrange(5, 900)
        event |= {"type": "track", "event": name, "properties": properties}
    else:
        path = rng.choices(PAGE_PATHS, PAGE_WEIGHTS)[0]
        event |= {
            "type": "page",
            "name": path.rsplit("/", 1)[-1].replace("-", " ").title() or "Home",
            "properties": {
                "path": path,
                "url": f"https://www.engage-demo.test{path}",
                "referrer": "https://www.google.com/" if rng.random() < 0.3 else "",
                "title": "Engage",
            },
        }
    event["context"] = context
    event["integrations"] = {}
    return event


@dataclass(frozen=True)
class Batch:
    body: bytes
    events: int


@dataclass(frozen=True)
class Workload:
    batches: Sequence[Batch]
    events: int
    users: int
    visitors: int
    # Order-free sum over the message ids sent; compared with what is stored.
    checksum: int


def message_ids_checksum(message_ids: Iterator[str] | Sequence[str]) -> int:
    """The sum of the first 60 bits of each id's MD5, which PostgreSQL computes too."""
    return sum(int(hashlib.md5(m.encode()).hexdigest()[:15], 16) for m in message_ids)  # noqa: S324


def workload_generate(*, events: int, seed: int, progress: bool = False) -> Workload:
    """N events in batches of 100, each batch drawn from its own seeded generator."""
    users = max(10, events // 50)
    visitors = max(10, events // 20)
    batches: list[Batch] = []
    checksum = 0
    sent_at = BASE_TIME.isoformat()
    with tqdm(
        total=events, unit="event", unit_scale=True, desc="generating", disable=not progress
    ) as bar:
        for index, start in enumerate(range(0, events, BATCH_SIZE)):
            rng = random.Random(f"ingest:{seed}:{index}")
            size = min(BATCH_SIZE, events - start)
            calls = [_event(rng, users=users, visitors=visitors) for _ in range(size)]
            checksum += message_ids_checksum([c["messageId"] for c in calls])
            batches.append(
                Batch(body=orjson.dumps({"batch": calls, "sentAt": sent_at}), events=size)
            )
            bar.update(size)
    return Workload(
        batches=batches, events=events, users=users, visitors=visitors, checksum=checksum
    )


# --- The HTTP client --------------------------------------------------------------


@dataclass
class SendStats:
    seconds: float = 0.0
    requests: int = 0
    retries: int = 0
    duplicates: int = 0
    latencies: list[float] = field(default_factory=list)
    # Seconds from the start at which each batch was answered, in order.
    answered_at: list[float] = field(default_factory=list)


class HTTPProtocolError(OSError):
    """An answer that is not the HTTP/1.1 the server speaks."""


class KeepAliveConnection:
    """One keep-alive HTTP/1.1 connection that POSTs bodies to one path.

    The load generator shares the machine's two cores with what it measures, so
    it is kept small: the request head is built once and sent with its body in
    one call, and the answer is read by its Content-Length (the product always
    sends one) without a general header parser. http.client cost about twice
    the CPU per batch, mostly in parsing answer headers.
    """

    def __init__(self, *, port: int, path: str, headers: dict[str, str], timeout: float) -> None:
        self.address = (HOST, port)
        self.timeout = timeout
        lines = [f"POST {path} HTTP/1.1", f"Host: {HOST}:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode()
        self.sock: socket.socket | None = None
        self.pending = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.pending = b""

    def _receive(self, sock: socket.socket) -> None:
        chunk = sock.recv(65_536)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        self.pending += chunk

    def post(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """(status, headers with lower-case names, body). Raises OSError when
        the connection fails; the next call connects again."""
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self.sock
        sock.sendall(b"".join((self.head, str(len(body)).encode(), b"\r\n\r\n", body)))
        while (end := self.pending.find(b"\r\n\r\n")) < 0:
            self._receive(sock)
        head, rest = self.pending[:end].decode("latin-1"), self.pending[end + 4 :]
        status_line, *header_lines = head.split("\r\n")
        try:
            status = int(status_line.split(" ", 2)[1])
        except (IndexError, ValueError):
            raise HTTPProtocolError(f"not an HTTP status line: {status_line[:80]!r}") from None
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise HTTPProtocolError(f"answer {status} without Content-Length")
        length = int(headers["content-length"])
        self.pending = rest
        while len(self.pending) < length:
            self._receive(sock)
        answer, self.pending = self.pending[:length], self.pending[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, answer


class _Sender:
    """`connections` threads, each with one keep-alive connection, taking batches
    from a shared cursor until none are left or one batch fails for good."""

    def __init__(
        self, *, port: int, write_key: str, workload: Workload, connections: int, progress: bool
    ) -> None:
        self.port = port
        self.headers = {
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode(),
            "User-Agent": "engage-bench/1",
        }
        self.workload = workload
        self.connections = connections
        self.progress = progress
        self.lock = threading.Lock()
        self.next_batch = 0
        self.stats = SendStats()
        self.failure: BaseException | None = None
        self.started = time.perf_counter()

    def _take(self) -> Batch | None:
        with self.lock:
            if self.failure is not None or self.next_batch >= len(self.workload.batches):
                return None
            batch = self.workload.batches[self.next_batch]
            self.next_batch += 1
            return batch

    def _post(self, conn: KeepAliveConnection, batch: Batch) -> tuple[int, float]:
        """Send one batch until it is accepted: (duplicates reported, latency)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            started = time.perf_counter()
            try:
                status, headers, answer = conn.post(batch.body)
            except OSError as problem:
                conn.close()  # reconnects on the next request
                if attempt == MAX_ATTEMPTS:
                    raise BenchmarkError(f"batch failed {attempt} times: {problem!r}") from None
                with self.lock:
                    self.stats.retries += 1
                time.sleep(0.2 * attempt)
                continue
            latency = time.perf_counter() - started
            if status == 200:
                result = orjson.loads(answer)
                if result.get("success") is not True or result.get("refused"):
                    raise BenchmarkError(f"the API refused calls of a batch: {answer[:500]!r}")
                return int(result.get("duplicates", 0)), latency
            if status in (429, 503) and attempt < MAX_ATTEMPTS:
                with self.lock:
                    self.stats.retries += 1
                time.sleep(min(float(headers.get("retry-after") or 1), 5.0))
                continue
            raise BenchmarkError(f"POST /v1/batch answered {status}: {answer[:500]!r}")
        raise AssertionError("unreachable")

    def _work(self, bar: tqdm[Any]) -> None:
        conn = KeepAliveConnection(
            port=self.port, path="/v1/batch", headers=self.headers, timeout=REQUEST_TIMEOUT_SECONDS
        )
        try:
            while (batch := self._take()) is not None:
                duplicates, latency = self._post(conn, batch)
                with self.lock:
                    self.stats.requests += 1
                    self.stats.duplicates += duplicates
                    self.stats.latencies.append(latency)
                    self.stats.answered_at.append(time.perf_counter() - self.started)
                    bar.update(batch.events)
        except BaseException as problem:  # noqa: BLE001 - handed to the main thread
            with self.lock:
                self.failure = self.failure or problem
        finally:
            conn.close()

    def run(self) -> SendStats:
        with tqdm(
            total=self.workload.events,
            unit="event",
            unit_scale=True,
            desc="POST /v1/batch",
            disable=not self.progress,
            smoothing=0.05,
        ) as bar:
            threads = [
                threading.Thread(target=self._work, args=(bar,), name=f"bench-client-{n}")
                for n in range(self.connections)
            ]
            self.started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.stats.seconds = time.perf_counter() - self.started
        if self.failure is not None:
            raise BenchmarkError(f"ingest over HTTP failed: {self.failure}") from self.failure
        return self.stats


def _ready(port: int, write_key: str) -> bool:
    """An empty batch answered 200: up, authenticated, not redirected."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "POST",
            "/v1/batch",
            body=b'{"batch": []}',
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode(),
            },
        )
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    if response.status == 503:
        return False
    if response.status != 200:
        raise BenchmarkError(
            f"the server answered an empty batch with {response.status} "
            f"{response.getheader('Location') or ''} {answer[:300]!r}"
        )
    return True


# --- The database side ------------------------------------------------------------

COPY_COLUMNS = (
    "message_id, type, occurred_at, received_at, account_id, contact_id, anonymous_id, ip, "
    "tracking_key, event_name, properties, excluded_reason"
)


@dataclass(frozen=True)
class Stored:
    rows: int
    distinct_message_ids: int
    checksum: int
    with_contact: int
    with_account: int


def _stored(source_id: int) -> Stored:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT message_id), "
            "coalesce(sum(('x' || substr(md5(message_id), 1, 15))::bit(60)::bigint), 0), "
            "count(contact_id), count(account_id) "
            "FROM engagement_activity WHERE source_id = %s",
            [source_id],
        )
        row = cursor.fetchone()
    assert row is not None
    return Stored(
        rows=row[0],
        distinct_message_ids=row[1],
        checksum=int(row[2]),
        with_contact=row[3],
        with_account=row[4],
    )


def _checkpoint() -> None:
    """Start each timed phase without a checkpoint owed by the previous one."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except Exception:  # noqa: BLE001, S110 - needs superuser (or pg_checkpoint); optional
        pass


def _copy_same_rows(*, from_source_id: int, to_source_id: int) -> float:
    """Dump the stored rows to a file (not timed), then COPY them back in under
    another source, committed (timed)."""
    # Integers and constant column names only.
    dump = (
        f"COPY (SELECT {int(to_source_id)}, {COPY_COLUMNS} FROM engagement_activity "  # noqa: S608
        f"WHERE source_id = {int(from_source_id)} ORDER BY id) TO STDOUT"
    )
    with tempfile.TemporaryFile() as rows:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.cursor.copy_expert(dump, rows)
        rows.seek(0)
        _checkpoint()
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.cursor.copy_expert(
                f"COPY engagement_activity (source_id, {COPY_COLUMNS}) FROM STDIN", rows
            )
        return time.perf_counter() - started


def bench_data_delete() -> None:
    """Remove the benchmark's sources, their activities and the contacts it made."""
    source_ids = list(
        Source.objects.filter(name__in=[HTTP_SOURCE, COPY_SOURCE]).values_list("pk", flat=True)
    )
    if source_ids:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute(
                "DELETE FROM engagement_activity WHERE source_id = ANY(%s)", [source_ids]
            )
    Contact.objects.filter(external_id__startswith=USER_PREFIX).delete()
    Source.objects.filter(pk__in=source_ids).delete()


def _database_facts() -> dict[str, str]:
    facts: dict[str, str] = {}
    with connection.cursor() as cursor:
        for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers"):
            cursor.execute(f"SHOW {name}")
            row = cursor.fetchone()
            facts[name] = str(row[0]) if row else ""
    return facts


# --- The run ----------------------------------------------------------------------


@dataclass(frozen=True)
class IngestOptions:
    events: int = 1_000_000
    connections: int = 8
    workers: int = 2
    threads: int = 4
    seed: int = 42
    keep: bool = False
    progress: bool = False


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
    load_at_start = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []
    workload = workload_generate(
        events=options.events, seed=options.seed, progress=options.progress
    )
    bench_data_delete()  # a run that was stopped half way left its rows
    issued = source_create(name=HTTP_SOURCE)
    copy_source = source_create(name=COPY_SOURCE).source
    Source.objects.filter(pk=issued.source.pk).update(rate_limit_per_second=RATE_LIMIT_PER_SECOND)
    server = GunicornConfig(workers=options.workers, threads=options.threads)
    try:
        _checkpoint()
        with gunicorn_serving(
            server,
            environment=server_environment(connection.settings_dict),
            ready=lambda _host, port: _ready(port, issued.write_key),
        ) as running:
            sender = _Sender(
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
        stored = _stored(issued.source.pk)
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
        copy_seconds = _copy_same_rows(from_source_id=issued.source.pk, to_source_id=copy_source.pk)
        copied = Activity.objects.filter(source_id=copy_source.pk).count()
        if copied != workload.events:
            raise BenchmarkError(f"COPY stored {copied} rows, not {workload.events}")
        machine = {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "postgresql": _database_facts(),
            # Other work on the machine skews the rates; the CPU figures less so.
            "load_average_at_start": load_at_start,
        }
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
