"""End to end on a real broker and a real worker process: tracking calls are
ingested over HTTP, their commit enqueues one debounced rollup, and the worker
rolls them into the account's score."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.models import ICPSegment, SegmentMembership
from engagement.models import (
    AccountEngagement,
    ActivityPending,
    RollupBatch,
    ScoringModel,
)
from engagement.rollup.incremental import ROLLUP_SCHEDULED_KEY
from engagement.rollup.recompute import scores_recompute
from engagement.services.sources import source_create
from engagement.tasks import scores_rollup_pending_task
from tests.factories import AccountFactory, ContactFactory
from tests.tracking_client import post


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("worker", ["configured"], indirect=True)
def test_an_ingested_call_reaches_the_score_through_one_debounced_rollup(
    worker: tuple[str, str, str, Path],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _url, queue, _node, log = worker
    assert not settings.CELERY_TASK_ALWAYS_EAGER  # a broker is configured
    settings.SCORES_ROLLUP_DEBOUNCE_SECONDS = 2
    # Route the product's enqueue to the test worker's private queue.
    task = scores_rollup_pending_task._get_current_object()  # type: ignore[attr-defined]
    monkeypatch.setattr(task, "queue", queue, raising=False)
    monkeypatch.setattr(task, "_exec_options", None, raising=False)  # its cached options
    cache.delete(ROLLUP_SCHEDULED_KEY)

    segment = ICPSegment.objects.create(name="Live")
    ScoringModel.objects.create(segment=segment)
    account = AccountFactory.create()
    SegmentMembership.objects.create(segment=segment, account=account)
    ContactFactory.create(account=account, external_id="u-live", seniority="manager")
    scores_recompute(segment_id=segment.pk)
    assert AccountEngagement.objects.get(account=account).raw_score == 0
    issued = source_create(name="Live site")

    now = timezone.now().isoformat()
    client = Client()
    for message_id, event in (("live-1", "Demo Requested"), ("live-2", "Form Submitted")):
        body = {"type": "track", "messageId": message_id, "userId": "u-live", "event": event,
                "timestamp": now}  # fmt: skip
        assert post(client, "/v1/track", body, issued.write_key).status_code == 200
    # Stored and committed, not yet scored: the rollup waits for the window.
    assert ActivityPending.objects.filter(batch=None).count() == 2

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not ActivityPending.objects.exists():
            break
        time.sleep(0.25)
    row = AccountEngagement.objects.get(account=account, segment=segment)
    assert row.raw_score == pytest.approx(40.0, rel=1e-3), log.read_text()[-4000:]  # 30 + 10
    # Both calls landed in one window: one enqueued rollup claimed them as one batch.
    assert RollupBatch.objects.filter(first_activity_id__isnull=False).count() == 1
    assert "engagement.scores_rollup_pending" in log.read_text()
