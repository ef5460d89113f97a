"""The tracking API as the browser libraries call it: analytics.js 2.0 posts
each call to a one-letter path with the write key in a text/plain body, and
RudderStack's JavaScript SDK sends JSON with HTTP Basic, which the browser
preflights. Both come from the customer's site, another origin (CORS)."""

from __future__ import annotations

import orjson
import pytest
from django.db import connection
from django.test import Client

from engagement.services.sources import IssuedSource
from tests.tracking_client import post, track

pytestmark = pytest.mark.django_db


def stored(message_ids: list[str]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT message_id FROM engagement_activity ORDER BY message_id")
        found = [row[0] for row in cursor.fetchall()]
    return [message_id for message_id in message_ids if message_id in found]


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("/v1/t", {"type": "track", "event": "Pricing Viewed"}),
        ("/v1/p", {"type": "page", "name": "Pricing"}),
    ],
)
def test_analytics_js_one_letter_paths_and_text_plain_bodies_are_stored(
    client: Client, issued: IssuedSource, path: str, call: dict[str, str]
) -> None:
    body = {**call, "userId": "u-1", "messageId": "m-1", "writeKey": issued.write_key}
    response = client.post(path, orjson.dumps(body), content_type="text/plain")
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == "*"
    assert stored(["m-1"]) == ["m-1"]


def test_analytics_js_batches_go_to_v1_b(client: Client, issued: IssuedSource) -> None:
    body = {
        "writeKey": issued.write_key,
        "batch": [track("m-1"), track("m-2")],
        "sentAt": "2026-11-20T10:00:01Z",
    }
    response = client.post("/v1/b", orjson.dumps(body), content_type="text/plain")
    assert response.status_code == 200, response.content
    assert stored(["m-1", "m-2"]) == ["m-1", "m-2"]


def test_a_preflight_is_answered_for_every_origin(client: Client) -> None:
    response = client.options(
        "/v1/track",
        headers={
            "Origin": "https://www.customer.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Allow-Methods"] == "POST"
    allowed = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed


def test_refusals_carry_the_cors_header_too_and_get_is_still_not_allowed(
    client: Client, issued: IssuedSource
) -> None:
    refused = post(client, "/v1/track", track("m-1"), "not-a-key")
    assert refused.status_code == 401 and refused["Access-Control-Allow-Origin"] == "*"
    assert client.get("/v1/track").status_code == 405
