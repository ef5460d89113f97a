"""What the REST API answers when the database cannot be reached: 503 with
Retry-After, as the tracking API does, rather than a 500 (issue 18). A client
may retry a 503; a 500 says the request itself is wrong. And a body over
DATA_UPLOAD_MAX_MEMORY_SIZE: 413 naming the limit, rather than Django's bare 400.

Wired as DRF's `EXCEPTION_HANDLER` (config/settings.py); every other error is
left to DRF's own handler."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("API %s: database unavailable: %s", context.get("view"), exc)
        return Response(
            {"code": "unavailable", "detail": "the database is unavailable; retry later"},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {
                "code": "too_large",
                "detail": f"the request body is over the limit of {limit:,} bytes",
            },
            status=413,
        )
    return exception_handler(exc, context)
