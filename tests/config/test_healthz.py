from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import override_settings

from config.models import WorkerHeartbeat
from config.services import worker_heartbeat_record


@pytest.mark.django_db
def test_healthz_answers_200_with_database_and_broker_status(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": connection.vendor}
    assert body["broker"]["ok"] is True
    assert body["broker"]["mode"] == ("eager" if not body["broker"].get("transport") else "broker")
    assert body["workers"] == {"last_seen": None, "seconds_ago": None}


@pytest.mark.django_db
def test_healthz_reports_when_a_worker_last_ran_the_heartbeat(client: Client) -> None:
    heartbeat = worker_heartbeat_record(hostname="celery@worker-1")
    body = client.get("/healthz").json()
    assert body["workers"]["last_seen"] == heartbeat.seen_at.isoformat()
    assert 0 <= body["workers"]["seconds_ago"] <= 5
    assert WorkerHeartbeat.objects.count() == 1


@pytest.mark.django_db
@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_healthz_is_degraded_but_up_when_the_broker_is_unreachable(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["broker"]["ok"] is False
    assert body["broker"]["error"]


def test_healthz_answers_503_when_the_database_is_unreachable(
    client: Client, unreachable_database: None
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is False
    assert body["database"]["error"]
