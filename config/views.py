from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config import selectors


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers (ingest stays durable even if the broker
    is down; status says "degraded"), 503 when it does not."""
    database = selectors.database_status()
    if not database["ok"]:
        return JsonResponse({"status": "unavailable", "database": database}, status=503)
    broker = selectors.broker_status()
    last_seen = selectors.workers_last_seen()
    workers = {
        "last_seen": last_seen.isoformat() if last_seen else None,
        "seconds_ago": round((timezone.now() - last_seen).total_seconds()) if last_seen else None,
    }
    status = "ok" if broker["ok"] else "degraded"
    return JsonResponse(
        {"status": status, "database": database, "broker": broker, "workers": workers}
    )
