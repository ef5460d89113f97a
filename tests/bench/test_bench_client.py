"""The ingest benchmark's own HTTP client, against a small local server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from bench.ingest.client import HTTPProtocolError, KeepAliveConnection


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers each POST with its body's length; `/close` asks to close the
    connection after the answer, `/bare` leaves Content-Length out."""

    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn
    connections: set[tuple[str, int]] = set()

    def do_POST(self) -> None:
        Echo.connections.add(self.client_address)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = f'{{"length": {len(body)}, "path": "{self.path}"}}'.encode()
        self.send_response(429 if self.path == "/busy" else 200)
        self.send_header("Retry-After", "2")
        if self.path != "/bare":
            self.send_header("Content-Length", str(len(answer)))
        if self.path in ("/close", "/bare"):
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    Echo.connections = set()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def connect(port: int, path: str) -> KeepAliveConnection:
    return KeepAliveConnection(
        port=port, path=path, headers={"Content-Type": "application/json"}, timeout=5
    )


def test_answers_are_read_by_their_length_over_one_kept_connection(port: int) -> None:
    conn = connect(port, "/v1/batch")
    try:
        for size in (0, 10, 200_000):
            status, headers, body = conn.post(b"x" * size)
            assert status == 200
            assert headers["retry-after"] == "2"
            assert body == f'{{"length": {size}, "path": "/v1/batch"}}'.encode()
    finally:
        conn.close()
    assert len(Echo.connections) == 1


def test_a_connection_the_server_closes_is_opened_again_for_the_next_call(port: int) -> None:
    conn = connect(port, "/close")
    try:
        assert conn.post(b"a")[0] == 200
        assert conn.sock is None
        assert conn.post(b"bb")[2] == b'{"length": 2, "path": "/close"}'
    finally:
        conn.close()
    assert len(Echo.connections) == 2


def test_other_statuses_come_back_with_their_headers(port: int) -> None:
    conn = connect(port, "/busy")
    try:
        status, headers, _ = conn.post(b"{}")
    finally:
        conn.close()
    assert (status, headers["retry-after"]) == (429, "2")


def test_an_answer_without_its_length_is_refused(port: int) -> None:
    conn = connect(port, "/bare")
    try:
        with pytest.raises(HTTPProtocolError, match="without Content-Length"):
            conn.post(b"{}")
    finally:
        conn.close()
