"""The schema documents the error answers every /api/ operation gives
(core/api_schema.py), and /api/ answers its 404s in JSON (core/views.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import CampaignFactory
from tests.openapi_check import answer_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(marketer: APIClient) -> dict[str, Any]:
    return dict(marketer.get("/api/schema/?format=json").json())


def test_every_api_operation_documents_403_and_503_and_those_naming_an_object_404(
    schema: dict[str, Any],
) -> None:
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
    ]
    assert len(operations) > 40
    for path, method, operation in operations:
        responses = operation["responses"]
        assert {"403", "503"} <= set(responses), (method, path)
        assert "Retry-After" in responses["503"]["headers"]
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in operation:
            assert "400" in responses, (method, path)


def test_an_api_url_matching_no_route_answers_a_json_404_as_documented(
    marketer: APIClient, schema: dict[str, Any]
) -> None:
    answer: Any = marketer.get("/api/campaigns/1.5/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {"detail": "Not found."}
    errors = answer_errors(
        schema, path="/api/campaigns/{id}/", method="GET", status=404, body=answer.json()
    )
    assert errors == []
    assert marketer.get("/api/accounts/not-a-number/follow/").json() == {"detail": "Not found."}


def test_pages_keep_their_html_404(client: Client) -> None:
    answer: Any = client.get("/no-such-page/")
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/html")


def test_a_page_past_the_last_and_an_unknown_format_are_documented_404s(
    marketer: APIClient, schema: dict[str, Any]
) -> None:
    past = marketer.get("/api/alerts/?page=99")
    assert past.status_code == 404
    assert (
        answer_errors(schema, path="/api/alerts/", method="GET", status=404, body=past.json()) == []
    )
    unknown = marketer.get("/api/rankings/?format=xml")
    assert unknown.status_code == 404
    assert "404" in schema["paths"]["/api/rankings/"]["get"]["responses"]


@pytest.mark.parametrize(
    "url",
    ["/api/accounts/{}/follow/", "/api/accounts/{}/engagement/", "/api/reports/campaigns/{}/"],
)
def test_an_id_beyond_the_database_keys_is_a_documented_404_not_a_500(
    sales: APIClient, url: str
) -> None:
    huge = url.format(419117000536489321299968)
    answers = [sales.get(huge), sales.delete(huge)] if "follow" in url else [sales.get(huge)]
    for answer in answers:
        assert answer.status_code == 404
        assert answer.json() == {"detail": "Not found."}


def test_the_schema_is_valid_openapi_and_generates_without_warnings(tmp_path: Any) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    assert "/v1/batch:" in text and "writeKey:" in text


def test_a_campaign_report_on_a_campaign_dated_outside_the_report_days_is_a_documented_400(
    marketer: APIClient, schema: dict[str, Any]
) -> None:
    campaign = CampaignFactory.create(starts_on="0222-02-23", ends_on="0223-01-01")
    answer = marketer.get(f"/api/reports/campaigns/{campaign.pk}/")
    assert answer.status_code == 400 and "start" in answer.json()
    path = "/api/reports/campaigns/{id}/"
    assert answer_errors(schema, path=path, method="GET", status=400, body=answer.json()) == []
