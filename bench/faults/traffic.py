"""The traffic of the fault check: the unmodified Segment Python library
(segment-analytics-python, a dev dependency) sends a known set of track calls,
each with its own message id, at a steady rate, while the faults happen.

The library is configured, not changed: its HTTP session (a module-level
`requests.Session`) gets a response hook, requests' public way to observe a
response, which records the message ids of each batch the server answered and
with which status; `on_error` records the batches the library gave up on.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import CommandError

# Event names the product types by default (engagement/activity_types.py).
EVENTS = ("Demo Requested", "Webinar Attended", "Email Opened", "Pricing Viewed",
          "Form Submitted", "Content Downloaded", "Email Clicked")  # fmt: skip
MESSAGE_PREFIX = "fault-"
# One call in this many is an anonymous page view, resolved to an account by
# its network: the anonymous sums are checked too.
ANONYMOUS_EVERY = 5
# Room for everything the run enqueues while the server asks it to wait.
MAX_QUEUE = 1_000_000


def segment_library() -> Any:
    """The library's modules, imported on use: it is a dev dependency."""
    try:
        from segment.analytics import Client
        from segment.analytics import request as segment_request
    except ImportError:
        raise CommandError(
            "faults_check sends through the Segment Python library, a dev dependency: "
            "pip install -c constraints.txt -e '.[dev]'"
        ) from None
    return Client, segment_request


def message_id(number: int) -> str:
    return f"{MESSAGE_PREFIX}{number:07d}"


@dataclass
class TrafficLog:
    """What the library sent and what the server answered, by message id."""

    enqueued: set[str] = field(default_factory=set)
    refused_by_queue: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    given_up: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    posted: set[str] = field(default_factory=set)
    resent_requests: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def response_seen(self, response: Any, *args: Any, **kwargs: Any) -> None:
        """requests' response hook: the batch's message ids, by the answer."""
        request = response.request
        if not request.url or not request.url.endswith("/v1/batch"):
            return
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        ids = [call.get("messageId") for call in json.loads(body).get("batch", [])]
        with self.lock:
            self.statuses[response.status_code] += 1
            # A resend: the library re-queued or retried a batch (by Retry-After
            # or backoff); it may come back in other batches than the first.
            if any(i in self.posted for i in ids):
                self.resent_requests += 1
            self.posted.update(i for i in ids if i)
            if response.status_code == 200:
                self.acknowledged.update(i for i in ids if i)

    def gave_up(self, error: Exception, batch: Sequence[dict[str, Any]]) -> None:
        """The library's on_error: a batch it will not send again."""
        with self.lock:
            self.given_up.update(str(call.get("messageId")) for call in batch)
            if len(self.errors) < 20:
                self.errors.append(f"{type(error).__name__}: {error}")


class Traffic:
    """`messages` calls over `seconds`, from a thread: track calls of the seeded
    users, and every ANONYMOUS_EVERY-th a page view of the pricing page by an
    anonymous visitor from one of the accounts' networks."""

    def __init__(self, *, host: str, write_key: str, users: Sequence[str],
                 addresses: Sequence[str], messages: int, seconds: float) -> None:  # fmt: skip
        client_class, self._request_module = segment_library()
        self.log = TrafficLog()
        self.users = list(users)
        self.addresses = list(addresses)
        self.messages = messages
        self.seconds = seconds
        self.sent = 0
        # The library's own retry settings are kept (segment-analytics-python 2.4):
        # a batch answered 503 or 429 with Retry-After (the product's answer while its
        # database is down) is re-queued and sent again after that wait, without
        # counting against max_retries, for up to max_rate_limit_duration (1,800 s);
        # other failures (a refused connection, a 5xx without Retry-After) back off
        # 0, 0.5, 1, 2 ... 60 s, max_retries (10) times: about three minutes.
        self.client = client_class(
            write_key,
            host=host,
            max_queue_size=MAX_QUEUE,
            on_error=self.log.gave_up,
        )
        self._thread = threading.Thread(target=self._send, name="faults-traffic", daemon=True)
        self._stop = threading.Event()
        self._hook = self.log.response_seen

    def start(self) -> None:
        self._request_module._session.hooks["response"].append(self._hook)
        self._thread.start()

    def _send(self) -> None:
        started = time.monotonic()
        for number in range(self.messages):
            if self._stop.is_set():
                return
            due = started + self.seconds * number / self.messages
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            ident = message_id(number)
            if number % ANONYMOUS_EVERY == ANONYMOUS_EVERY - 1:
                visitor = number // ANONYMOUS_EVERY
                accepted, _message = self.client.page(
                    anonymous_id=f"fault-visitor-{visitor % 500}",
                    name="Pricing",
                    properties={"path": "/pricing"},
                    context={"ip": self.addresses[visitor % len(self.addresses)]},
                    message_id=ident,
                )
            else:
                tracked = number - number // ANONYMOUS_EVERY
                accepted, _message = self.client.track(
                    user_id=self.users[tracked % len(self.users)],
                    event=EVENTS[tracked % len(EVENTS)],
                    properties={"check": "faults"},
                    message_id=ident,
                )
            with self.log.lock:
                (self.log.enqueued if accepted else self.log.refused_by_queue).add(ident)
            self.sent = number + 1

    def finish(self, timeout: float) -> bool:
        """Wait for every message to be enqueued and the library's queue to
        drain (answered or given up); False if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        self._thread.join(max(0.0, deadline - time.monotonic()))
        while self.client.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.2)
        return not self._thread.is_alive() and not self.client.queue.unfinished_tasks

    def close(self) -> None:
        """Stop sending and the library's consumer; unhook the session."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        for consumer in self.client.consumers or []:
            consumer.pause()
        hooks = self._request_module._session.hooks["response"]
        if self._hook in hooks:
            hooks.remove(self._hook)
        self._request_module._session.close()
