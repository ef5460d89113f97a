"""Alerts: an account became qualified. Created by the rollup, delivered here.

Delivery is idempotent: the email and the webhook each record when they
succeeded, so a retried task only does what is left. Webhooks are signed like
this (receivers verify with `webhook_signature_verify`):

    X-Engage-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

The timestamp inside the signature lets a receiver refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account, AccountFollow
from engagement.models import Alert


class WebhookFailed(Exception):
    """The receiver did not answer 2xx; the task retries with backoff."""


def alerts_create(
    *, segment_id: int, scores: Sequence[tuple[int, int]], model_version: int
) -> list[int]:
    """One alert per recipient (the owner and every follower) for each (account,
    score) that crossed into the qualified band; delivery is enqueued on commit.
    An account nobody owns or follows still gets one stored alert."""
    if not scores:
        return []
    from engagement.tasks import alert_deliver_task

    account_ids = [account_id for account_id, _ in scores]
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
    alerts = []
    for account_id, score in scores:
        users: list[int | None] = [*sorted(recipients[account_id])] or [None]
        alerts += [
            Alert(
                account_id=account_id,
                segment_id=segment_id,
                score=score,
                recipient_id=user_id,
                model_version=model_version,
            )
            for user_id in users
        ]
    Alert.objects.bulk_create(alerts)
    ids = [alert.pk for alert in alerts]
    transaction.on_commit(lambda: [alert_deliver_task.delay(pk) for pk in ids])
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


def _payload(alert: Alert) -> bytes:
    return json.dumps(
        {
            "type": "account.qualified",
            "alert_id": alert.pk,
            "account": {
                "id": alert.account_id,
                "name": alert.account.name,
                "domain": alert.account.domain,
            },
            "segment": {"id": alert.segment_id, "name": alert.segment.name},
            "score": alert.score,
            "model_version": alert.model_version,
            "recipient": alert.recipient.username if alert.recipient else None,
            "created_at": alert.created_at.isoformat(),
        },
        sort_keys=True,
    ).encode()


def alert_deliver(*, alert_id: int) -> None:
    """Send what has not been sent: the email to the recipient, then the webhook."""
    alert = Alert.objects.select_related("account", "segment", "recipient").get(pk=alert_id)
    if alert.emailed_at is None and alert.recipient and alert.recipient.email:
        send_mail(
            subject=f"{alert.account.name} is now qualified in {alert.segment.name} "
            f"(score {alert.score})",
            message=(
                f"{alert.account.name} ({alert.account.domain or 'no domain'}) rose into the "
                f"qualified band of the {alert.segment.name} segment with an engagement score "
                f"of {alert.score} (scoring model v{alert.model_version}).\n\n"
                f"Its engagement history and buying team: /api/accounts/{alert.account_id}/"
                "engagement/\n"
            ),
            from_email=None,
            recipient_list=[alert.recipient.email],
        )
        Alert.objects.filter(pk=alert.pk).update(emailed_at=timezone.now())
    url = settings.ALERT_WEBHOOK_URL
    if url and alert.webhook_delivered_at is None:
        Alert.objects.filter(pk=alert.pk).update(webhook_attempts=F("webhook_attempts") + 1)
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
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as problem:
            raise WebhookFailed(f"{url} answered {problem.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as problem:
            raise WebhookFailed(f"{url} unreachable: {problem}") from None
        if not 200 <= status < 300:
            raise WebhookFailed(f"{url} answered {status}")
        Alert.objects.filter(pk=alert.pk).update(webhook_delivered_at=timezone.now())
