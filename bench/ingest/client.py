"""The ingest benchmark's HTTP client: batches POSTed to /v1/batch over a bounded
number of keep-alive connections, each 200 a committed batch; retried on 429,
503 or a dropped connection (safe: message ids dedup)."""

from __future__ import annotations

import base64
import http.client
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from tqdm import tqdm

from bench import BenchmarkError
from bench.ingest.workload import Batch, Workload
from bench.server import HOST

# A batch is retried on 429, 503 or a dropped connection (safe: message ids dedup).
MAX_ATTEMPTS = 5
REQUEST_TIMEOUT_SECONDS = 60


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


class Sender:
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


def server_ready(port: int, write_key: str) -> bool:
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
