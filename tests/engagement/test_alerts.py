"""Qualified-account alerts: hysteresis, recipients, email and a signed webhook."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.test.utils import override_settings

from accounts.models import AccountFollow, ICPSegment, SegmentMembership
from engagement.alerts import (
    WebhookFailed,
    alert_deliver,
    webhook_signature,
    webhook_signature_verify,
)
from engagement.models import Activity, Alert, ScoringModel
from engagement.rollup import scores_refresh, scores_rollup
from tests.factories import AccountFactory, ContactFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def scene() -> dict[str, Any]:
    segment = ICPSegment.objects.create(name="Enterprise")
    ScoringModel.objects.create(segment=segment)
    owner = UserFactory.create(username="olga", email="olga@example.com")
    account = AccountFactory.create(owner=owner)
    SegmentMembership.objects.create(segment=segment, account=account)
    people = [ContactFactory.create(account=account, seniority="vp") for _ in range(2)]
    return {"segment": segment, "account": account, "owner": owner, "people": people,
            "source": SourceFactory.create()}  # fmt: skip


def demo_requests(scene: dict[str, Any], at: dt.datetime) -> None:
    """Both VPs request a demo: 45 points each, capped at 40 (raw 80, score 80)."""
    for person in scene["people"]:
        Activity.objects.create(
            source=scene["source"], message_id=f"{person.pk}-{at.isoformat()}",
            type="demo_request", occurred_at=at, account=scene["account"], contact=person,
        )  # fmt: skip
    scores_rollup(segment_id=scene["segment"].pk, at=at)


def alerts() -> int:
    return Alert.objects.count()


def test_hysteresis_one_alert_per_rise_from_below_the_engaged_band(scene: dict[str, Any]) -> None:
    segment = scene["segment"].pk
    demo_requests(scene, T0)  # score 80: qualified
    assert alerts() == 1
    scores_refresh(segment_id=segment, at=T0 + 30 * DAY)  # raw 40, score 55: engaged
    demo_requests(scene, T0 + 30 * DAY)  # 22.5 + 45 each, capped: 80 again
    assert alerts() == 1  # fell only to engaged: no new alert
    scores_refresh(segment_id=segment, at=T0 + 120 * DAY)  # 67.5 / 8 each: raw 16.9, score 29
    demo_requests(scene, T0 + 120 * DAY)  # back to 80
    assert alerts() == 2  # fell below engaged, rose again: a new alert
    assert list(Alert.objects.values_list("score", flat=True)) == [80, 80]


def test_the_owner_and_every_follower_are_alerted(scene: dict[str, Any]) -> None:
    rep = UserFactory.create(username="rex")
    AccountFollow.objects.create(user=rep, account=scene["account"])
    demo_requests(scene, T0)
    assert set(Alert.objects.values_list("recipient__username", flat=True)) == {"olga", "rex"}


def test_an_account_nobody_owns_still_gets_a_stored_alert(scene: dict[str, Any]) -> None:
    scene["account"].owner = None
    scene["account"].save()
    demo_requests(scene, T0)
    assert list(Alert.objects.values_list("recipient_id", flat=True)) == [None]


class Receiver(http.server.BaseHTTPRequestHandler):
    status = 200
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(Receiver.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.status, Receiver.received = 200, []
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/engage"
    server.shutdown()


def test_delivery_emails_the_recipient_and_posts_a_signed_webhook(
    scene: dict[str, Any], receiver: str
) -> None:
    demo_requests(scene, T0)
    alert = Alert.objects.get()
    with override_settings(ALERT_WEBHOOK_URL=receiver, ALERT_WEBHOOK_SECRET="s3cret"):
        alert_deliver(alert_id=alert.pk)
    assert [m.to for m in mail.outbox] == [["olga@example.com"]]
    assert "is now qualified in Enterprise (score 80)" in mail.outbox[0].subject
    headers, body = Receiver.received[0]
    assert webhook_signature_verify("s3cret", headers["X-Engage-Signature"], body)
    assert not webhook_signature_verify("wrong", headers["X-Engage-Signature"], body)
    assert not webhook_signature_verify("s3cret", headers["X-Engage-Signature"], body + b" ")
    assert b'"type": "account.qualified"' in body
    alert.refresh_from_db()
    assert alert.emailed_at is not None and alert.webhook_delivered_at is not None


def test_a_failing_webhook_is_retried_without_resending_the_email(
    scene: dict[str, Any], receiver: str
) -> None:
    demo_requests(scene, T0)
    alert = Alert.objects.get()
    Receiver.status = 503
    with override_settings(ALERT_WEBHOOK_URL=receiver, ALERT_WEBHOOK_SECRET="s3cret"):
        with pytest.raises(WebhookFailed, match="answered 503"):
            alert_deliver(alert_id=alert.pk)
        Receiver.status = 200
        alert_deliver(alert_id=alert.pk)  # the retry
    alert.refresh_from_db()
    assert (alert.webhook_attempts, len(mail.outbox), len(Receiver.received)) == (2, 1, 2)
    assert alert.webhook_delivered_at is not None


def test_an_old_signature_is_refused() -> None:
    header = webhook_signature("k", b"{}", timestamp=1_000)
    assert webhook_signature_verify("k", header, b"{}", now=1_100)
    assert not webhook_signature_verify("k", header, b"{}", now=1_000 + 301)
