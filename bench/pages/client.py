"""The pages benchmark's HTTP side: pages fetched with a logged-in session
cookie over one keep-alive connection (latency, p50 and p95), tracking calls
sent by a few concurrent keep-alive clients (requests per second), and the peak
memory of the gunicorn workers between steps.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import math
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from bench import BenchmarkError
from bench.ingest.client import KeepAliveConnection
from bench.server import HOST

REQUEST_TIMEOUT_SECONDS = 120
# Something every page that is not the login page shows.
LOGIN_MARKER = b'name="password"'


def session_cookie(user_id: int) -> str:
    """A session of `user_id`, stored as a login stores it (the server reads
    the same session table): the `Cookie` header value."""
    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of `values` (seconds), in ms."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered) - 1e-9)))
    return round(1000 * ordered[rank - 1], 1)


@dataclass(frozen=True)
class Timing:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    mean_ms: float
    bytes_per_response: int

    @classmethod
    def of(cls, latencies: list[float], seconds: float, body_bytes: int) -> Timing:
        return cls(
            requests=len(latencies),
            seconds=round(seconds, 3),
            p50_ms=percentile(latencies, 0.50),
            p95_ms=percentile(latencies, 0.95),
            mean_ms=round(1000 * statistics.fmean(latencies), 1),
            bytes_per_response=body_bytes // max(1, len(latencies)),
        )


def pages_get(
    *, port: int, cookie: str, paths: Sequence[str], requests: int, marker: bytes
) -> Timing:
    """GET `requests` pages cycling through `paths`, one after another on one
    keep-alive connection; every answer must be a 200 holding `marker` and no
    login form (a lost session would redirect or show it)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
    headers = {"Cookie": cookie, "Accept": "text/html", "User-Agent": "engage-bench/1"}
    latencies: list[float] = []
    body_bytes = 0
    started = time.perf_counter()
    try:
        for n in range(requests):
            path = paths[n % len(paths)]
            sent = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            latencies.append(time.perf_counter() - sent)
            if response.status != 200:
                where = response.getheader("Location") or ""
                raise BenchmarkError(f"GET {path} answered {response.status} {where}")
            if marker not in body or LOGIN_MARKER in body:
                raise BenchmarkError(f"GET {path} did not show the page ({marker!r} missing)")
            body_bytes += len(body)
    finally:
        conn.close()
    return Timing.of(latencies, time.perf_counter() - started, body_bytes)


def _event(n: int, *, prefix: str) -> dict[str, Any]:
    """One anonymous track call as a browser library sends it (no user id: the
    benchmark creates no contacts)."""
    return {
        "type": "track",
        "event": "Pricing Viewed",
        "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-pages:{prefix}:{n}")),
        "anonymousId": f"bench-pages-anon-{n % 997}",
        "properties": {"path": "/pricing", "url": "https://www.engage-demo.test/pricing"},
        "context": {"library": {"name": "analytics.js", "version": "2.11.1"}},
    }


@dataclass(frozen=True)
class Rate:
    requests: int
    events: int
    clients: int
    seconds: float
    requests_per_second: float
    events_per_second: float
    p50_ms: float
    p95_ms: float


# Bodies are made a round at a time, between rounds and untimed: 200 bodies of
# 100 events are about 5 MB, 2,000 would be 54 MB of the benchmark's own
# memory, counted in the step's peak as if the product had used it.
TRACKING_ROUND = 200


def tracking_send(
    *, port: int, write_key: str, path: str, requests: int, events_each: int, prefix: str,
    clients: int,
) -> Rate:  # fmt: skip
    """POST `requests` tracking calls (`events_each` events each, message ids
    made from `prefix`) to `path` from `clients` threads, each on one
    keep-alive connection, in rounds of TRACKING_ROUND; every answer must be a
    200. The rate is over the rounds' timed seconds, the latencies pooled."""
    latencies: list[float] = []
    seconds = 0.0
    for first in range(0, requests, TRACKING_ROUND):
        bodies = tracking_bodies(
            requests=min(TRACKING_ROUND, requests - first), events_each=events_each,
            prefix=prefix, start=first,
        )  # fmt: skip
        seconds += _tracking_round(port=port, write_key=write_key, path=path, bodies=bodies,
                                   clients=clients, latencies=latencies)  # fmt: skip
    return Rate(
        requests=len(latencies), events=len(latencies) * events_each, clients=clients,
        seconds=round(seconds, 3),
        requests_per_second=round(len(latencies) / seconds, 1),
        events_per_second=round(len(latencies) * events_each / seconds, 1),
        p50_ms=percentile(latencies, 0.50), p95_ms=percentile(latencies, 0.95),
    )  # fmt: skip


def _tracking_round(
    *, port: int, write_key: str, path: str, bodies: Sequence[bytes], clients: int,
    latencies: list[float],
) -> float:  # fmt: skip
    """POST `bodies` from `clients` threads; each latency is appended to
    `latencies`; the round's seconds."""
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode(),
        "User-Agent": "engage-bench/1",
    }
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))
    failures: list[str] = []

    def work() -> None:
        conn = KeepAliveConnection(
            port=port, path=path, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
        )
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None or failures:
                    return
                sent = time.perf_counter()
                status, _headers, answer = conn.post(bodies[index])
                with lock:
                    latencies.append(time.perf_counter() - sent)
                    if status != 200:
                        failures.append(f"POST {path} answered {status}: {answer[:300]!r}")
        except OSError as problem:
            with lock:
                failures.append(f"POST {path} failed: {problem!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=work, name=f"bench-pages-{n}") for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise BenchmarkError(failures[0])
    return seconds


def tracking_bodies(*, requests: int, events_each: int, prefix: str, start: int = 0) -> list[bytes]:
    """Bodies of /v1/batch (`events_each` calls) or /v1/track (one call): the
    calls numbered `start` to `start + requests - 1` of a series, each event's
    message id unique within the series."""
    if events_each == 1:
        return [orjson.dumps(_event(n, prefix=prefix)) for n in range(start, start + requests)]
    return [
        orjson.dumps({"batch": [_event(r * events_each + e, prefix=prefix)
                                for e in range(events_each)]})
        for r in range(start, start + requests)
    ]  # fmt: skip


# --- Memory -------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent pid is the second field after the command in parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def workers_peak_reset(server_pid: int) -> None:
    """Start a new peak (VmHWM) for each gunicorn worker: `5` in clear_refs."""
    for pid in _children(server_pid):
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")


def workers_peak_mb(server_pid: int) -> float | None:
    """The largest peak resident set (VmHWM) of the server's workers since the
    last reset, in MB; None where /proc does not say."""
    peaks = [kb for pid in _children(server_pid) if (kb := _status_kb(pid, "VmHWM"))]
    return round(max(peaks) / 1024, 1) if peaks else None


def own_peak_reset() -> None:
    """Start a new peak (VmHWM) for this process: several sizes run in one
    process, and each step's peak is its own, not the largest so far."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def own_peak_mb() -> float:
    """This process's peak resident set since the last reset (VmHWM), in MB;
    where /proc does not say, since it started (ru_maxrss)."""
    import resource

    kb = _status_kb(os.getpid(), "VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024, 1)


def measured(step: Callable[[], Any], *, server_pid: int | None) -> tuple[Any, dict[str, float]]:
    """Run `step`; its result and the peaks since a reset before it: this
    process's, and the server's workers' (where /proc says)."""
    own_peak_reset()
    if server_pid is not None:
        workers_peak_reset(server_pid)
    result = step()
    memory = {"process_peak_mb": own_peak_mb()}
    if server_pid is not None and (workers := workers_peak_mb(server_pid)) is not None:
        memory["workers_peak_mb"] = workers
    return result, memory
