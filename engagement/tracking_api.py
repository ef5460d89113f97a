"""The Segment-compatible tracking endpoints: POST /v1/{batch,identify,group,track,page,alias}.

Existing tracking libraries work by pointing their host here (DESIGN 6). A 200
`{"success": true}` is sent only once the calls are committed; errors are JSON
with `code` and `message`, which the standard clients read.
"""

from __future__ import annotations

import base64
import binascii
import logging
import zlib
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from engagement import selectors
from engagement.ratelimit import source_rate_limit_hit
from engagement.services import tracking as tracking_services
from engagement.tracking import InvalidBatch, calls_parse
from engagement.tracking_json import unstorable_number_loads

logger = logging.getLogger(__name__)

BATCH = "batch"

# The browser libraries (analytics.js, RudderStack's JavaScript SDK) call from the
# customer's site, another origin. The endpoints read no cookie (the write key
# authenticates), so every origin may call them and read the answer; a preflight
# (sent for the Authorization header or a JSON content type) is answered here.
ANY_ORIGIN = {"Access-Control-Allow-Origin": "*"}
PREFLIGHT = {
    **ANY_ORIGIN,
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


def error(status: int, code: str, message: str, **headers: str) -> HttpResponse:
    response = HttpResponse(
        orjson.dumps({"success": False, "code": code, "message": message}),
        status=status,
        content_type="application/json",
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


class RequestRefused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _body(request: HttpRequest) -> bytes:
    """The request body, decompressed, within the request size limit."""
    limit = settings.TRACKING_MAX_REQUEST_BYTES
    too_big = error(413, "payload_too_large", f"request body is over the limit of {limit} bytes")
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise RequestRefused(too_big)
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise RequestRefused(too_big)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise RequestRefused(
            error(415, "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported")
        )
    # Bounded decompression: a small body must not expand past the limit.
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error as problem:
        raise RequestRefused(
            error(400, "invalid_gzip", f"body is not valid gzip: {problem}")
        ) from None
    if len(body) > limit or inflater.unconsumed_tail:
        raise RequestRefused(too_big)
    return body


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as problem:
        # orjson also refuses valid JSON holding a number beyond a double: such
        # a body is read again, so that only the calls holding one are refused.
        try:
            payload = unstorable_number_loads(body)
        except (ValueError, RecursionError):
            raise RequestRefused(
                error(400, "invalid_json", f"body is not valid JSON: {problem}")
            ) from None
    if not isinstance(payload, dict):
        raise RequestRefused(error(400, "invalid_json", "body must be a JSON object"))
    return payload


def _write_key(request: HttpRequest, payload: dict[str, Any]) -> str:
    """HTTP Basic with the write key as user name, or `writeKey` in the body."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[0]
    key = payload.get("writeKey")
    return key if isinstance(key, str) else ""


def _handle(request: HttpRequest, kind: str) -> HttpResponse:
    received_at = timezone.now()
    try:
        payload = _payload(_body(request))
    except RequestRefused as refused:
        return refused.response
    source = selectors.source_for_write_key(_write_key(request, payload))
    if source is None:
        return error(401, "unauthorized", "write key is missing, unknown or revoked")
    if source_rate_limit_hit(source_id=source.pk, limit=source.rate_limit_per_second):
        return error(429, "rate_limited", "too many requests for this source", Retry_After="1")

    calls_sent = payload.get("batch") if kind == BATCH else None
    if isinstance(calls_sent, list) and len(calls_sent) > settings.TRACKING_MAX_BATCH_CALLS:
        # Refused whole, before anything is parsed or stored: nothing to retry
        # in part, and no dead letter per call.
        return error(
            413,
            "too_many_calls",
            f"a batch holds at most {settings.TRACKING_MAX_BATCH_CALLS:,} calls and this one "
            f"has {len(calls_sent):,}: send them in smaller batches",
        )
    try:
        parsed = calls_parse(
            payload,
            kind=None if kind == BATCH else kind,
            received_at=received_at,
            max_bytes=settings.TRACKING_MAX_CALL_BYTES,
        )
    except InvalidBatch as problem:
        return error(400, "invalid_batch", str(problem))
    rejections = parsed.rejections
    result = tracking_services.tracking_calls_store(
        source_id=source.pk,
        calls=parsed.calls,
        rejections=rejections,
        event_types=selectors.event_type_mapping(),
    )
    if kind != BATCH and rejections:
        return error(400, "invalid_call", rejections[0].reason)
    body: dict[str, Any] = {"success": True}
    if rejections:
        body["refused"] = [
            {"index": r.index, "messageId": r.message_id, "reason": r.reason} for r in rejections
        ]
    if result.duplicates:
        body["duplicates"] = result.duplicates
    if parsed.adjusted:
        body["adjusted"] = [
            {
                "index": adjusted.index,
                "messageId": adjusted.message_id,
                "timestamp": adjusted.sent.isoformat(),
                "storedAs": adjusted.stored_as.isoformat(),
            }
            for adjusted in parsed.adjusted
        ]
    return HttpResponse(orjson.dumps(body), content_type="application/json")


def tracking_endpoint(kind: str) -> Any:
    @csrf_exempt
    @require_http_methods(["POST", "OPTIONS"])
    def view(request: HttpRequest) -> HttpResponse:
        if request.method == "OPTIONS":
            return HttpResponse(status=204, headers=PREFLIGHT)
        response = _answer(request)
        for name, value in ANY_ORIGIN.items():
            response[name] = value
        return response

    def _answer(request: HttpRequest) -> HttpResponse:
        try:
            return _handle(request, kind)
        except (OperationalError, InterfaceError) as problem:
            # Nothing was committed; the standard clients retry a 503.
            logger.warning("tracking %s: database unavailable: %s", kind, problem)
            return error(
                503, "unavailable", "the database is unavailable; retry later", Retry_After="5"
            )
        except DatabaseError:
            logger.exception("tracking %s failed", kind)
            return error(
                503, "unavailable", "the call could not be stored; retry later", Retry_After="5"
            )
        except Exception:
            # Nothing was committed (the store is atomic). A tracking client
            # understands 503 with Retry-After; a 500 makes it drop its batch.
            logger.exception("tracking %s failed unexpectedly", kind)
            return error(
                503, "unavailable", "the calls could not be stored; retry later", Retry_After="5"
            )

    view.__name__ = f"tracking_{kind}"
    return view
