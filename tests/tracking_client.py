"""Calling the tracking endpoints as the Segment libraries do, through Django's
test client: the request helpers the tracking tests share."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from django.test import Client


def basic_auth(write_key: str) -> dict[str, str]:
    """The Authorization header of the tracking libraries: HTTP Basic, the write key as user."""
    token = base64.b64encode(f"{write_key}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def post(
    client: Client, path: str, body: Any, write_key: str, headers: dict[str, str] | None = None
) -> Any:
    """POST as the tracking libraries do: JSON, HTTP Basic with the write key as user."""
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(
        path,
        data,
        content_type="application/json",
        headers={**basic_auth(write_key), **(headers or {})},
    )


def track(message_id: str, user_id: str = "u-1", event: str = "Demo Requested") -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": message_id,
        "userId": user_id,
        "event": event,
        "timestamp": "2026-11-20T10:00:00Z",
        "context": {"campaign": {"name": "Q4-Dinner"}, "ip": "198.51.100.7"},
    }
