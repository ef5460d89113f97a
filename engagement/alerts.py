"""Alerts: an account became qualified (created by the rollup) or its readiness
rose to its segment's threshold (created by readiness.services); delivered here.

Delivery policy (docs/scoring.md, "Alerts"). Delivery never stops scoring: an
alert is stored with the scores, in their transaction, and is delivered after
they commit; a failure is recorded on the alert, never raised into the caller.
Each run of `alert_deliver` sends what is left (the email, then the webhook;
each records when it succeeded, so a retry never resends the other). When a
run fails, the alert keeps the number of runs, the last error and the time of
its next try: 1, 2, 4, ... minutes after the failure, at most an hour apart,
up to DELIVERY_MAX_ATTEMPTS runs (about four hours), then it is given up and
says so. `alerts_deliver_due`, the beat sweep (every minute) and the
`alerts_deliver` command (cron, where there is no broker) retry what is due.

A run first claims the alert by moving its next try a lease ahead (one UPDATE
that only one process can win), so the task enqueued on commit and the sweep
never deliver one alert twice at once; a run that crashed is taken up again
once its lease has passed (delivery is at least once, never silently lost).

Webhooks are signed like this (receivers verify with `webhook_signature_verify`):

    X-Engage-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

The timestamp inside the signature lets a receiver refuse replays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account, AccountFollow
from engagement.models import Alert, AlertKind

# After this many failed runs an alert is given up (next try cleared, error kept).
DELIVERY_MAX_ATTEMPTS = 10
DELIVERY_FIRST_RETRY = dt.timedelta(minutes=1)
DELIVERY_MAX_RETRY = dt.timedelta(hours=1)
# How long a run holds its claim: longer than the email and webhook timeouts.
DELIVERY_LEASE = dt.timedelta(minutes=5)
# Alerts one sweep delivers at most (the next sweep takes the rest).
SWEEP_BATCH = 200
WEBHOOK_TIMEOUT_SECONDS = 10


class WebhookFailed(Exception):
    """The receiver did not answer 2xx."""


def delivery_retry_delay(*, failed_attempts: int) -> dt.timedelta:
    """The wait before the next try after `failed_attempts` failed runs: doubling
    from a minute, at most an hour."""
    if failed_attempts < 1:
        raise ValueError(f"failed_attempts must be at least 1, got {failed_attempts}")
    return min(DELIVERY_FIRST_RETRY * 2 ** min(failed_attempts - 1, 16), DELIVERY_MAX_RETRY)


def _deliver_enqueue(alert_id: int) -> None:
    from engagement.tasks import alert_deliver_task

    alert_deliver_task.delay(alert_id)


def alerts_create(
    *, segment_id: int, scores: Sequence[tuple[int, int]], model_version: int
) -> list[int]:
    """One alert per recipient (the owner and every follower) for each (account,
    score) that crossed into the qualified band, due for delivery at once;
    delivery is enqueued on commit, each alert on its own, so that one that
    fails (or a broker that is down) never holds up the others or the caller:
    the sweep delivers whatever the enqueued task did not.
    An account nobody owns or follows still gets one stored alert."""
    return _alerts_store(
        [
            {
                "account_id": account_id,
                "segment_id": segment_id,
                "kind": AlertKind.QUALIFIED,
                "score": score,
                "model_version": model_version,
            }
            for account_id, score in scores
        ]
    )


@dataclass(frozen=True)
class ReadinessCrossing:
    account_id: int
    # The account's engagement score in the segment on the day the features
    # read; None without that day's snapshot.
    score: int | None
    probability: float


def readiness_alerts_create(
    *,
    segment_id: int,
    crossings: Sequence[ReadinessCrossing],
    model_version: int,
    threshold_percent: int,
) -> list[int]:
    """As alerts_create, for accounts whose readiness (issue 19) rose to the
    segment's threshold; `model_version` is the readiness model's."""
    return _alerts_store(
        [
            {
                "account_id": crossing.account_id,
                "segment_id": segment_id,
                "kind": AlertKind.READINESS,
                "score": crossing.score,
                "probability": crossing.probability,
                "threshold_percent": threshold_percent,
                "model_version": model_version,
            }
            for crossing in crossings
        ]
    )


def _alerts_store(templates: list[dict[str, Any]]) -> list[int]:
    """Each alert (its fields) once per recipient (the owner and every follower,
    or one with none), due now, delivered on commit."""
    if not templates:
        return []
    account_ids = [fields["account_id"] for fields in templates]
    recipients: dict[int, set[int]] = {account_id: set() for account_id in account_ids}
    for account_id, owner_id in Account.objects.filter(pk__in=account_ids).values_list(
        "pk", "owner_id"
    ):
        if owner_id:
            recipients[account_id].add(owner_id)
    for account_id, user_id in AccountFollow.objects.filter(account_id__in=account_ids).values_list(
        "account_id", "user_id"
    ):
        recipients[account_id].add(user_id)
    now = timezone.now()
    alerts = []
    for fields in templates:
        users: list[int | None] = [*sorted(recipients[fields["account_id"]])] or [None]
        alerts += [Alert(**fields, recipient_id=user, next_attempt_at=now) for user in users]
    Alert.objects.bulk_create(alerts)
    ids = [alert.pk for alert in alerts]
    for pk in ids:
        transaction.on_commit(partial(_deliver_enqueue, pk), robust=True)
    return ids


def webhook_signature(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def webhook_signature_verify(
    secret: str, header: str, body: bytes, *, now: int | None = None, tolerance: int = 300
) -> bool:
    """True when `header` signs `body` with `secret` and is at most `tolerance` s old."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else int(time.time())) - timestamp) > tolerance:
        return False
    expected = webhook_signature(secret, body, timestamp)
    return hmac.compare_digest(expected, header.strip())


_EVENT_TYPES = {
    AlertKind.QUALIFIED: "account.qualified",
    AlertKind.READINESS: "account.readiness_crossed",
}


def _payload(alert: Alert) -> bytes:
    return json.dumps(
        {
            "type": _EVENT_TYPES[AlertKind(alert.kind)],
            "alert_id": alert.pk,
            "account": {
                "id": alert.account_id,
                "name": alert.account.name,
                "domain": alert.account.domain,
            },
            "segment": {"id": alert.segment_id, "name": alert.segment.name},
            "score": alert.score,
            "model_version": alert.model_version,
            # Readiness alerts only: null on a qualified alert.
            "probability": alert.probability,
            "threshold_percent": alert.threshold_percent,
            "recipient": alert.recipient.username if alert.recipient else None,
            "created_at": alert.created_at.isoformat(),
        },
        sort_keys=True,
    ).encode()


class Delivery(Enum):
    DELIVERED = "delivered"  # everything configured was sent
    FAILED = "failed"  # recorded, with its next try
    GAVE_UP = "gave up"  # failed DELIVERY_MAX_ATTEMPTS times: no next try
    NOT_DUE = "not due"  # delivered, given up, under way elsewhere, or waiting


def alert_deliver(*, alert_id: int, now: dt.datetime | None = None) -> Delivery:
    """Claim the alert if it is due, send what has not been sent (the email to the
    recipient, then the webhook) and record the outcome. Never raises for a
    failed delivery."""
    now = now or timezone.now()
    # Lease and next try count from the real clock too: a sweep passes its start
    # time, which may lie well behind by the time it reaches this alert.
    claimed = Alert.objects.filter(pk=alert_id, next_attempt_at__lte=now).update(
        next_attempt_at=max(now, timezone.now()) + DELIVERY_LEASE
    )
    if not claimed:
        return Delivery.NOT_DUE
    alert = Alert.objects.select_related("account", "segment", "recipient").get(pk=alert_id)
    errors = []
    if alert.emailed_at is None and alert.recipient and alert.recipient.email:
        try:
            _email_send(alert)
        except (smtplib.SMTPException, OSError) as problem:
            errors.append(f"email to {alert.recipient.email} failed: {problem!r}")
        else:
            Alert.objects.filter(pk=alert.pk).update(emailed_at=timezone.now())
    if settings.ALERT_WEBHOOK_URL and alert.webhook_delivered_at is None:
        Alert.objects.filter(pk=alert.pk).update(webhook_attempts=F("webhook_attempts") + 1)
        try:
            _webhook_post(alert, url=settings.ALERT_WEBHOOK_URL)
        except WebhookFailed as problem:
            errors.append(f"webhook {problem}")
        else:
            Alert.objects.filter(pk=alert.pk).update(webhook_delivered_at=timezone.now())
    attempts = alert.delivery_attempts + 1
    if not errors:
        outcome, next_attempt_at, last_error = Delivery.DELIVERED, None, ""
    elif attempts >= DELIVERY_MAX_ATTEMPTS:
        outcome, next_attempt_at = Delivery.GAVE_UP, None
        last_error = f"gave up after {attempts} attempts; last: {'; '.join(errors)}"
    else:
        outcome, last_error = Delivery.FAILED, "; ".join(errors)
        next_attempt_at = max(now, timezone.now()) + delivery_retry_delay(failed_attempts=attempts)
    Alert.objects.filter(pk=alert.pk).update(
        delivery_attempts=attempts, next_attempt_at=next_attempt_at, last_error=last_error
    )
    return outcome


def _email_send(alert: Alert) -> None:
    assert alert.recipient is not None
    subject, message = _email_text(alert)
    send_mail(
        subject=subject, message=message, from_email=None, recipient_list=[alert.recipient.email]
    )


def _email_text(alert: Alert) -> tuple[str, str]:
    account, segment = alert.account, alert.segment
    where = f"{account.name} ({account.domain or 'no domain'})"
    if alert.kind == AlertKind.READINESS and alert.probability is not None:
        percent = f"{100 * alert.probability:.0f}%"
        return (
            f"{account.name} is {percent} likely to open an opportunity ({segment.name})",
            f"{where} rose to a readiness of {percent} in the {segment.name} segment, at "
            f"or above its alert threshold of {alert.threshold_percent}%: the calibrated "
            "probability that it opens an opportunity within 90 days (readiness model "
            f"v{alert.model_version}; engagement score {alert.score}).\n\n"
            f"Why, and its buying team: /accounts/{alert.account_id}/\n",
        )
    return (
        f"{account.name} is now qualified in {segment.name} (score {alert.score})",
        f"{where} rose into the qualified band of the {segment.name} segment with an "
        f"engagement score of {alert.score} (scoring model v{alert.model_version}).\n\n"
        f"Its engagement history and buying team: /api/accounts/{alert.account_id}/"
        "engagement/\n",
    )


def _webhook_post(alert: Alert, *, url: str) -> None:
    body = _payload(alert)
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "engage-alerts/1",
            "X-Engage-Signature": webhook_signature(
                settings.ALERT_WEBHOOK_SECRET, body, int(time.time())
            ),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310
            status = response.status
    except urllib.error.HTTPError as problem:
        raise WebhookFailed(f"{url} answered {problem.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as problem:
        raise WebhookFailed(f"{url} unreachable: {problem}") from None
    if not 200 <= status < 300:
        raise WebhookFailed(f"{url} answered {status}")


@dataclass(frozen=True)
class AlertsSwept:
    delivered: int
    failed: int
    gave_up: int
    skipped: int  # taken meanwhile by another run


def alerts_deliver_due(*, now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> AlertsSwept:
    """Deliver the alerts whose next try has come, oldest due first, at most `limit`."""
    now = now or timezone.now()
    due = list(
        Alert.objects.filter(next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcomes = [alert_deliver(alert_id=pk, now=now) for pk in due]
    return AlertsSwept(
        delivered=outcomes.count(Delivery.DELIVERED),
        failed=outcomes.count(Delivery.FAILED),
        gave_up=outcomes.count(Delivery.GAVE_UP),
        skipped=outcomes.count(Delivery.NOT_DUE),
    )
