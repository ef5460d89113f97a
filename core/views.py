from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from core import selectors


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers, 503 when it does not. The status is
    "degraded" (still 200: ingest stays durable) when the broker is down or an
    app's check fails, such as activity waiting too long for the score rollup."""
    database = selectors.database_status()
    if not database["ok"]:
        return JsonResponse({"status": "unavailable", "database": database}, status=503)
    broker = selectors.broker_status()
    last_seen = selectors.workers_last_seen()
    workers = {
        "last_seen": last_seen.isoformat() if last_seen else None,
        "seconds_ago": round((timezone.now() - last_seen).total_seconds()) if last_seen else None,
    }
    checks = selectors.health_checks()
    healthy = broker["ok"] and all(check["ok"] for check in checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "broker": broker,
            "workers": workers,
            **checks,
        }
    )


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 handler (config/urls.py): under /api/, a URL that matches no
    route (an id that is not a number, say) answers JSON like DRF's own 404s, as
    the schema documents (core/api_schema.py); the pages keep their HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
