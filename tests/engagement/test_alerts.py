"""Qualified-account alerts: hysteresis, recipients, email and a signed webhook."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import AccountFollow, ICPSegment, SegmentMembership
from engagement.alerts import (
    DELIVERY_MAX_ATTEMPTS,
    Delivery,
    alert_deliver,
    alerts_deliver_due,
    delivery_retry_delay,
    webhook_signature,
    webhook_signature_verify,
)
from engagement.models import AccountEngagement, Activity, Alert, ScoringModel
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute, scores_refresh
from engagement.tasks import alerts_deliver_due_task
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
    fail_first = 0  # answer 500 to this many requests first
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        failing = len(Receiver.received) <= Receiver.fail_first
        self.send_response(500 if failing else Receiver.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.status, Receiver.fail_first, Receiver.received = 200, 0, []
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/engage"
    server.shutdown()


def test_a_rollup_without_alerts_raises_none(scene: dict[str, Any]) -> None:
    scores_recompute(segment_id=scene["segment"].pk, at=T0)  # scored, armed, nothing yet
    for person in scene["people"]:
        Activity.objects.create(
            source=scene["source"], message_id=f"replay-{person.pk}", type="demo_request",
            occurred_at=T0, account=scene["account"], contact=person,
        )  # fmt: skip
    scores_rollup(at=T0 + dt.timedelta(hours=1), alerts=False)
    assert alerts() == 0
    assert list(AccountEngagement.objects.values_list("score", "alert_armed")) == [(80, False)]


@pytest.fixture
def closed_port_url() -> str:
    """A local address where nothing listens: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/engage"


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


def test_a_failing_webhook_is_recorded_and_retried_without_resending_the_email(
    scene: dict[str, Any], receiver: str
) -> None:
    demo_requests(scene, T0)
    alert = Alert.objects.get()
    Receiver.status = 503
    before = timezone.now()
    with override_settings(ALERT_WEBHOOK_URL=receiver, ALERT_WEBHOOK_SECRET="s3cret"):
        assert alert_deliver(alert_id=alert.pk) is Delivery.FAILED  # never raises
        after = timezone.now()
        alert.refresh_from_db()
        assert alert.delivery_attempts == 1 and "answered 503" in alert.last_error
        next_try = alert.next_attempt_at
        assert next_try is not None
        assert before + dt.timedelta(minutes=1) <= next_try <= after + dt.timedelta(minutes=1)
        assert alert.emailed_at is not None and alert.webhook_delivered_at is None
        Receiver.status = 200
        # Not due yet: nothing is sent again before the next try.
        assert alert_deliver(alert_id=alert.pk, now=next_try - dt.timedelta(seconds=1)) is (
            Delivery.NOT_DUE
        )
        assert alert_deliver(alert_id=alert.pk, now=next_try) is Delivery.DELIVERED
    alert.refresh_from_db()
    assert (alert.webhook_attempts, len(mail.outbox), len(Receiver.received)) == (2, 1, 2)
    assert alert.webhook_delivered_at is not None
    assert (alert.delivery_attempts, alert.last_error, alert.next_attempt_at) == (2, "", None)


def test_retries_wait_1_2_4_minutes_and_so_on_up_to_an_hour() -> None:
    waits = [delivery_retry_delay(failed_attempts=n) for n in range(1, 10)]
    assert [w.total_seconds() / 60 for w in waits] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_delivery_is_given_up_after_the_last_attempt_and_says_so(
    scene: dict[str, Any], closed_port_url: str
) -> None:
    demo_requests(scene, T0)
    alert = Alert.objects.get()
    now = timezone.now()
    with override_settings(ALERT_WEBHOOK_URL=closed_port_url, ALERT_WEBHOOK_SECRET="s3cret"):
        outcomes = []
        for _ in range(DELIVERY_MAX_ATTEMPTS):
            alert.refresh_from_db()
            assert alert.next_attempt_at is not None
            now = alert.next_attempt_at
            outcomes.append(alerts_deliver_due(now=now))
    assert [o.failed for o in outcomes] == [1] * (DELIVERY_MAX_ATTEMPTS - 1) + [0]
    assert outcomes[-1].gave_up == 1
    alert.refresh_from_db()
    assert alert.delivery_attempts == DELIVERY_MAX_ATTEMPTS and alert.next_attempt_at is None
    assert alert.last_error.startswith(f"gave up after {DELIVERY_MAX_ATTEMPTS} attempts")
    assert "unreachable" in alert.last_error
    assert alerts_deliver_due(now=now + dt.timedelta(days=1)).failed == 0
    assert len(mail.outbox) == 1  # the email went the first time


def test_a_recompute_without_alerts_raises_none_in_any_segment(scene: dict[str, Any]) -> None:
    """The recompute claims pending activity into every scored segment: the flag
    must reach all of them (the demo and the benchmark score history this way)."""
    other = ICPSegment.objects.create(name="Mid-market")
    ScoringModel.objects.create(segment=other)
    SegmentMembership.objects.create(segment=other, account=scene["account"])
    for segment in (scene["segment"], other):
        scores_recompute(segment_id=segment.pk, at=T0)  # scored, nothing yet
    for person in scene["people"]:
        Activity.objects.create(
            source=scene["source"], message_id=f"history-{person.pk}", type="demo_request",
            occurred_at=T0, account=scene["account"], contact=person,
        )  # fmt: skip
    scores_recompute(segment_id=scene["segment"].pk, at=T0 + dt.timedelta(hours=1), alerts=False)
    assert alerts() == 0
    # Qualified in both segments, and disarmed as if alerted: no alert later either.
    assert sorted(
        AccountEngagement.objects.filter(account=scene["account"]).values_list(
            "score", "alert_armed"
        )
    ) == [(80, False), (80, False)]
    scores_refresh(segment_id=other.pk, at=T0 + dt.timedelta(hours=2))
    assert alerts() == 0


def test_an_old_signature_is_refused() -> None:
    header = webhook_signature("k", b"{}", timestamp=1_000)
    assert webhook_signature_verify("k", header, b"{}", now=1_100)
    assert not webhook_signature_verify("k", header, b"{}", now=1_000 + 301)


# --- Delivery after commit, without a broker (eager tasks), on real commits ---------


def _two_recipients(scene: dict[str, Any]) -> None:
    AccountFollow.objects.create(
        user=UserFactory.create(username="rex", email="rex@example.com"), account=scene["account"]
    )


def _score() -> list[tuple[int, bool]]:
    return list(AccountEngagement.objects.values_list("score", "alert_armed"))


@pytest.mark.django_db(transaction=True)
def test_a_failing_webhook_leaves_the_rollup_and_the_next_alert_alone(
    scene: dict[str, Any], receiver: str, eager_tasks: None
) -> None:
    """The first webhook call answers 500: the rollup stays committed, the next
    recipient's alert is delivered, and the sweep delivers the first once due."""
    _two_recipients(scene)
    Receiver.fail_first = 1
    with override_settings(ALERT_WEBHOOK_URL=receiver, ALERT_WEBHOOK_SECRET="s3cret"):
        demo_requests(scene, T0)  # commits; each alert's delivery runs after it, eagerly
        assert _score() == [(80, False)]
        first, second = Alert.objects.order_by("recipient__username")  # olga, rex
        assert (first.delivery_attempts, first.webhook_delivered_at) == (1, None)
        assert "answered 500" in first.last_error and first.emailed_at is not None
        assert first.next_attempt_at is not None
        assert second.webhook_delivered_at is not None and second.emailed_at is not None
        assert (second.delivery_attempts, second.last_error, second.next_attempt_at) == (
            1,
            "",
            None,
        )
        assert alerts_deliver_due().delivered == 0  # not due yet
        swept = alerts_deliver_due(now=first.next_attempt_at)
    assert (swept.delivered, swept.failed) == (1, 0)
    first.refresh_from_db()
    assert first.webhook_delivered_at is not None and first.next_attempt_at is None
    assert sorted(m.to[0] for m in mail.outbox) == ["olga@example.com", "rex@example.com"]
    assert len(Receiver.received) == 3  # the failure, rex's, olga's retry


@pytest.mark.django_db(transaction=True)
def test_a_dead_receiver_and_mail_server_never_stop_a_chunked_recompute(
    scene: dict[str, Any], closed_port_url: str, receiver: str, eager_tasks: None
) -> None:
    """Nothing listens for the webhook nor for SMTP: every chunk of the recompute
    commits, every alert records both failures; the sweep delivers them later
    (the beat task, then the cron command)."""
    second = AccountFactory.create(owner=UserFactory.create(username="rex", email="r@example.com"))
    SegmentMembership.objects.create(segment=scene["segment"], account=second)
    people = [*scene["people"], *ContactFactory.create_batch(2, account=second, seniority="vp")]
    for person in people:  # two VPs per account request a demo: both accounts qualify
        Activity.objects.create(
            source=scene["source"], message_id=f"demo-{person.pk}", type="demo_request",
            occurred_at=T0, account=person.account, contact=person,
        )  # fmt: skip
    smtp_port = int(closed_port_url.split(":")[2].split("/")[0])
    dead = {
        "ALERT_WEBHOOK_URL": closed_port_url, "ALERT_WEBHOOK_SECRET": "s3cret",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": smtp_port, "EMAIL_USE_TLS": False,
    }  # fmt: skip
    with override_settings(**dead):
        result = scores_recompute(segment_id=scene["segment"].pk, at=T0, chunk_accounts=1)
    assert result.accounts_refreshed == 2
    assert sorted(AccountEngagement.objects.values_list("score", flat=True)) == [80, 80]
    alerts_stored = list(Alert.objects.order_by("pk"))
    assert len(alerts_stored) == 2
    for alert in alerts_stored:
        assert alert.delivery_attempts == 1 and alert.next_attempt_at is not None
        assert "email to" in alert.last_error and "unreachable" in alert.last_error
        assert alert.emailed_at is None and alert.webhook_delivered_at is None
    assert mail.outbox == []
    # Time passes; the receiver and the mail server are back.
    Alert.objects.update(next_attempt_at=timezone.now())
    with override_settings(ALERT_WEBHOOK_URL=receiver, ALERT_WEBHOOK_SECRET="s3cret"):
        alerts_deliver_due_task.delay()
        assert Alert.objects.filter(next_attempt_at__isnull=True).count() == 2
        call_command("alerts_deliver", stdout=StringIO())  # nothing left: no-op
    assert sorted(m.to[0] for m in mail.outbox) == ["olga@example.com", "r@example.com"]
    assert len(Receiver.received) == 2
    assert not Alert.objects.filter(webhook_delivered_at__isnull=True).exists()
