"""The OpenAPI schema documents the tracking endpoints as they answer
(engagement/tracking_schema.py; issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from engagement.services.sources import IssuedSource
from engagement.urls import KINDS
from tests.openapi_check import answer_errors
from tests.tracking_client import post, track

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(marketer: APIClient) -> dict[str, Any]:
    answer = marketer.get("/api/schema/?format=json")
    assert answer.status_code == 200
    return dict(answer.json())


def test_the_schema_lists_every_tracking_call_with_the_write_key_security(
    schema: dict[str, Any],
) -> None:
    for kind in ("batch", "identify", "group", "track", "page", "alias"):
        assert kind in KINDS
    for kind in KINDS:
        operation = schema["paths"][f"/v1/{kind}"]["post"]
        assert operation["security"] == [{"writeKey": []}]
        assert operation["requestBody"]["required"] is True
        assert set(operation["responses"]) == {"200", "400", "401", "413", "415", "429", "503"}
        assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert schema["components"]["securitySchemes"]["writeKey"] == {
        "type": "http",
        "scheme": "basic",
        "description": "The source's write key as the user name, with an empty password.",
    }
    assert schema["components"]["schemas"]["TrackingBatch"]["required"] == ["batch"]


def test_a_stored_call_a_refused_one_and_an_unknown_key_answer_as_documented(
    client: Client, issued: IssuedSource, schema: dict[str, Any]
) -> None:
    stored = post(client, "/v1/track", track("m-1"), issued.write_key)
    assert stored.status_code == 200
    assert (
        answer_errors(schema, path="/v1/track", method="POST", status=200, body=stored.json()) == []
    )

    batch = {"batch": [track("m-2"), {"type": "track", "messageId": "m-3"}]}
    partly = post(client, "/v1/batch", batch, issued.write_key)
    assert partly.status_code == 200 and partly.json()["refused"][0]["index"] == 1
    assert (
        answer_errors(schema, path="/v1/batch", method="POST", status=200, body=partly.json()) == []
    )

    unknown = post(client, "/v1/identify", {"userId": "u-1"}, "not-a-key")
    assert unknown.status_code == 401
    assert (
        answer_errors(schema, path="/v1/identify", method="POST", status=401, body=unknown.json())
        == []
    )
    # What a wrong answer would look like is caught: the check is not vacuous.
    assert answer_errors(schema, path="/v1/track", method="POST", status=200, body=unknown.json())
