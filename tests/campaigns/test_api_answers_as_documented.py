"""Campaign-side API answers that differed from the schema or were 500s, found by
fuzzing (issue 18, tests/api_fuzz/): each now answers as documented."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Opportunity
from tests.factories import CampaignTargetFactory, OpportunityFactory, SpendFactory, UserFactory
from tests.openapi_check import answer_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(marketer: APIClient) -> dict[str, Any]:
    return dict(marketer.get("/api/schema/?format=json").json())


def test_a_patched_or_put_campaign_is_answered_whole_with_its_real_counts(
    marketer: APIClient, schema: dict[str, Any]
) -> None:
    spend = SpendFactory.create()
    campaign = spend.program.campaign
    CampaignTargetFactory.create(campaign=campaign)
    url = f"/api/campaigns/{campaign.pk}/"
    read = marketer.get(url).json()

    patched = marketer.patch(url, {"name": "Renamed"}, format="json")
    assert patched.status_code == 200
    body = patched.json()
    assert body == {**read, "name": "Renamed", "updated_at": body["updated_at"]}
    assert body["target_count"] == 1 and body["program_count"] == 1 and body["owner"] is None
    assert (
        answer_errors(schema, path="/api/campaigns/{id}/", method="PATCH", status=200, body=body)
        == []
    )

    put = marketer.put(url, {**read, "name": "Again"}, format="json")
    assert put.status_code == 200 and put.json()["target_count"] == 1


def test_a_deal_without_crm_id_is_read_with_a_null_id_as_documented(
    sales: APIClient, schema: dict[str, Any]
) -> None:
    deal = OpportunityFactory.create()
    Opportunity.objects.filter(pk=deal.pk).update(external_id=None)
    body = sales.get(f"/api/opportunities/{deal.pk}/").json()
    assert body["external_id"] is None
    errors = answer_errors(
        schema, path="/api/opportunities/{id}/", method="GET", status=200, body=body
    )
    assert errors == []
    # ... while a deal sent must still name its CRM id (the upsert's key).
    sent = schema["components"]["schemas"]["OpportunityRequest"]
    assert "external_id" in sent["required"] and "nullable" not in sent["properties"]["external_id"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/reports/overview/?start=0030-08-25&end=0531-09-03", "start"),
        ("/api/reports/funnel/?start=0001-01-07&end=0001-01-08", "start"),
        ("/api/reports/programs/?start=2026-01-01&end=9999-12-31", "end"),
        ("/api/reports/deals/?start=0001-01-01&end=2026-01-01", "start"),
        ("/api/reports/overview/?start=1900-01-05&end=8000-01-01", "end"),
    ],
)
def test_a_report_period_outside_the_products_calendar_is_a_400_naming_the_day(
    executive: APIClient, url: str, field: str
) -> None:
    """One calendar for reports, imports and stored dates: 1900 to 2999
    (core.csvimport.DATE_MIN/DATE_MAX, asked through campaigns.periods)."""
    answer = executive.get(url)
    assert answer.status_code == 400, answer.content
    assert answer.json()[field] == ["must be between 1900-01-01 and 2999-12-31"]


def test_the_overview_page_says_so_for_such_a_period_instead_of_a_500(client: Client) -> None:
    client.force_login(UserFactory.create(username="boss", groups=["Executive"]))
    page = client.get("/reports/?start=0001-01-05&end=0001-02-01")
    assert page.status_code == 200
    assert b"The date must be between 1900-01-01 and 2999-12-31." in page.content


@pytest.mark.parametrize("parameter", ["campaign", "segment"])
def test_a_report_asked_for_an_id_beyond_the_database_keys_is_a_400(
    executive: APIClient, parameter: str
) -> None:
    url = f"/api/reports/funnel/?start=2026-01-01&end=2026-03-31&{parameter}={2**64}"
    answer = executive.get(url)
    assert answer.status_code == 400 and parameter in answer.json()


def test_a_ranking_decision_on_an_entry_beyond_the_database_keys_is_a_400(
    marketer: APIClient,
) -> None:
    run = marketer.post(
        "/api/rankings/", {"start": "2026-01-01", "end": "2026-03-31"}, format="json"
    )
    assert run.status_code == 201, run.content
    answer = marketer.post(
        f"/api/rankings/{run.json()['id']}/decide/",
        {"entry": 2**64, "decision": "kept"},
        format="json",
    )
    assert answer.status_code == 400 and "entry" in answer.json()


def test_a_patched_program_is_answered_with_its_spend_total(
    marketer: APIClient, schema: dict[str, Any]
) -> None:
    spend = SpendFactory.create()
    url = f"/api/programs/{spend.program_id}/"
    patched = marketer.patch(url, {"name": "Renamed"}, format="json")
    assert patched.status_code == 200
    body = patched.json()
    assert body["name"] == "Renamed" and body["spend_total"] == "1000.00"
    assert (
        answer_errors(schema, path="/api/programs/{id}/", method="PATCH", status=200, body=body)
        == []
    )
    assert (
        marketer.put(url, {**body, "name": "Again"}, format="json").json()["spend_total"]
        == "1000.00"
    )


def test_an_undecided_ranking_entry_has_a_documented_null_decider(schema: dict[str, Any]) -> None:
    entry = schema["components"]["schemas"]["RankingEntry"]["properties"]["decided_by"]
    assert entry["nullable"] is True
    alert = schema["components"]["schemas"]["Alert"]["properties"]["recipient"]
    assert alert["nullable"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"period_start": "0001-01-01", "period_end": "0001-03-31"}, "period_start"),
        ({"period_start": "9999-10-01", "period_end": "9999-12-31"}, "period_start"),
        ({"cycle_time_days": 2**31 - 1}, "cycle_time_days"),
    ],
)
def test_a_plan_whose_needs_fall_outside_the_calendar_is_refused_not_stored_to_fail_later(
    marketer: APIClient, change: dict[str, Any], field: str
) -> None:
    plan = {"name": "FY", "period_start": "2026-01-01", "period_end": "2026-03-31",
            "revenue_target": "1000.00", "win_rate": "0.5", "average_deal_size": "100.00",
            "cycle_time_days": 30}  # fmt: skip
    answer = marketer.post("/api/pipeline-plans/", {**plan, **change}, format="json")
    assert answer.status_code == 400 and field in answer.json()
    stored = marketer.post("/api/pipeline-plans/", plan, format="json")
    assert stored.status_code == 201
    url = f"/api/pipeline-plans/{stored.json()['id']}/"
    assert marketer.patch(url, change, format="json").status_code == 400
    assert marketer.get(url).status_code == 200


def test_the_new_plan_page_refuses_a_period_in_year_1_beside_the_field(client: Client) -> None:
    client.force_login(UserFactory.create(username="planner", groups=["Marketer"]))
    page = client.post(
        "/reports/plans/new/",
        {"name": "Y1", "period_start": "0001-01-01", "period_end": "0001-03-31",
         "revenue_target": "1000", "currency": "USD", "lookback_days": "365"},
    )  # fmt: skip
    assert page.status_code == 400
    assert b"Out of range (dates from 1900-01-01 to 2999-12-31)" in page.content
