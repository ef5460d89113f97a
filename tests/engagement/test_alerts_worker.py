"""Alert delivery on a real broker and a real worker process: the delivery
enqueued on commit records a failing webhook on the alert, and the beat
sweep's task, run by the worker, delivers it once the receiver answers."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import ICPSegment, SegmentMembership
from engagement.models import Activity, Alert, ScoringModel
from engagement.rollup.recompute import scores_recompute
from engagement.tasks import alert_deliver_task, alerts_deliver_due_task
from tests.factories import AccountFactory, ContactFactory, SourceFactory, UserFactory

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


class FailingOnce(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        FailingOnce.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(500 if len(FailingOnce.received) == 1 else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_receiver(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[str]:
    """A receiver that answers 500 once, then 204; the worker started after this
    fixture finds its URL in the environment."""
    FailingOnce.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), FailingOnce)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hooks"
    for name, value in (("ALERT_WEBHOOK_URL", url), ("ALERT_WEBHOOK_SECRET", "s3cret")):
        monkeypatch.setenv(name, value)
        setattr(settings, name, value)
    yield url
    server.shutdown()


def wait_for(condition: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, log.read_text()[-4000:]
        time.sleep(0.25)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("worker", ["configured"], indirect=True)
def test_a_worker_records_a_failed_webhook_and_the_sweep_delivers_it(
    webhook_receiver: str,
    worker: tuple[str, str, str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _url, queue, _node, log = worker
    tasks: list[Any] = [alert_deliver_task, alerts_deliver_due_task]
    for task in tasks:
        # Route the product's enqueues to the test worker's private queue.
        current = task._get_current_object()
        monkeypatch.setattr(current, "queue", queue, raising=False)
        monkeypatch.setattr(current, "_exec_options", None, raising=False)
    segment = ICPSegment.objects.create(name="Live")
    ScoringModel.objects.create(segment=segment)
    account = AccountFactory.create(owner=UserFactory.create(username="olga", email="o@x.example"))
    SegmentMembership.objects.create(segment=segment, account=account)
    source = SourceFactory.create()
    for index in range(2):  # two VPs request a demo: score 80, qualified
        Activity.objects.create(
            source=source, message_id=f"live-{index}", type="demo_request", occurred_at=T0,
            account=account, contact=ContactFactory.create(account=account, seniority="vp"),
        )  # fmt: skip

    scores_recompute(segment_id=segment.pk, at=T0)  # commits; the alert's delivery is queued
    alert = Alert.objects.get()
    wait_for(lambda: Alert.objects.get().delivery_attempts == 1, log)
    alert.refresh_from_db()
    assert "answered 500" in alert.last_error and alert.webhook_delivered_at is None
    assert alert.emailed_at is not None and alert.next_attempt_at is not None
    emailed_at = alert.emailed_at

    Alert.objects.update(next_attempt_at=timezone.now())  # its next try has come
    alerts_deliver_due_task.delay()
    wait_for(lambda: Alert.objects.get().webhook_delivered_at is not None, log)
    alert.refresh_from_db()
    assert (alert.delivery_attempts, alert.last_error, alert.next_attempt_at) == (2, "", None)
    assert len(FailingOnce.received) == 2
    assert alert.emailed_at == emailed_at  # the retry sent only the webhook
