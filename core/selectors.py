"""Reads behind /healthz: is the database reachable, the broker, the workers,
and the checks the apps add (the score rollup's backlog)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery import current_app as celery_app
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max

from core.models import WorkerHeartbeat

# celery_app: the project's app (config/celery.py), current since the settings
# package loaded it; named through Celery so that core imports nothing above it.


def database_status() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return {"ok": False, "vendor": connection.vendor, "error": str(error).strip()[:200]}
    return {"ok": True, "vendor": connection.vendor}


def broker_status() -> dict[str, Any]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager", "detail": "no broker configured; tasks run in-process"}
    try:
        with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as error:  # noqa: BLE001 - any transport failure means "down"
        return {"ok": False, "mode": "broker", "error": str(error).strip()[:200]}
    return {"ok": True, "mode": "broker", "transport": str(transport)}


def workers_last_seen() -> datetime | None:
    seen: datetime | None = WorkerHeartbeat.objects.aggregate(latest=Max("seen_at"))["latest"]
    return seen


# Checks the apps add to /healthz from their AppConfig.ready(), so that core
# imports no app above it (dependencies point down). Each answers a dict with "ok"; one
# that is not ok makes the status "degraded" (HTTP 200, as for the broker).
HealthCheck = Callable[[], dict[str, Any]]
_health_checks: dict[str, HealthCheck] = {}


def health_check_register(name: str, check: HealthCheck) -> None:
    """Add `check` to /healthz under `name` (registering a name again replaces it)."""
    _health_checks[name] = check


def health_checks() -> dict[str, dict[str, Any]]:
    return {name: check() for name, check in _health_checks.items()}
