"""Campaigns, programs, spend and opportunities through the REST API."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Opportunity
from campaigns.models import Program
from tests.api_clients import api_client_as
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    CampaignTargetFactory,
    OpportunityFactory,
    ProgramFactory,
    SpendFactory,
)

pytestmark = pytest.mark.django_db

Persona = Callable[[str], APIClient]


@pytest.fixture
def persona() -> Persona:
    def client_for(role: str) -> APIClient:
        return api_client_as(role, username=role.lower())

    return client_for


def test_lists_cost_a_fixed_number_of_queries(
    persona: Persona, django_assert_num_queries: Any
) -> None:
    executive = persona("Executive")

    def populate(n: int) -> None:
        for _ in range(n):
            program = ProgramFactory.create()
            SpendFactory.create_batch(2, program=program)
            CampaignTargetFactory.create_batch(2, campaign=program.campaign)
            OpportunityFactory.create()
            OpportunityFactory.create(account=None)  # not assigned to an account yet

    executive.get("/api/campaigns/")  # loads the user's permissions once (2 queries)
    for size in (1, 4):
        populate(size)
        # the page's count and the page itself, whatever the number of rows
        for url in ("/api/campaigns/", "/api/programs/", "/api/spend/", "/api/opportunities/"):
            with django_assert_num_queries(2):
                assert executive.get(url).status_code == 200


def test_list_rows_carry_their_totals_and_filters_apply(persona: Persona) -> None:
    executive = persona("Executive")
    campaign = CampaignFactory.create(name="Spring")
    webinar = ProgramFactory.create(campaign=campaign, channel="webinar")
    ProgramFactory.create(campaign=campaign, channel="email")
    SpendFactory.create(program=webinar, amount=Decimal("100.50"))
    SpendFactory.create(program=webinar, amount=Decimal("200.00"))
    CampaignTargetFactory.create_batch(3, campaign=campaign)
    CampaignTargetFactory.create(campaign=campaign, in_holdout=True)
    row = executive.get("/api/campaigns/?q=spr").json()["results"][0]
    assert (row["target_count"], row["holdout_count"], row["program_count"]) == (4, 1, 2)
    assert Decimal(row["spend_total"]) == Decimal("300.50")
    webinars = executive.get("/api/programs/?channel=webinar").json()["results"]
    assert [(p["id"], Decimal(p["spend_total"])) for p in webinars] == [
        (webinar.pk, Decimal("300.50"))
    ]
    assert executive.get("/api/spend/?channel=email").json()["count"] == 0
    assert executive.get(f"/api/spend/?campaign={campaign.pk}").json()["count"] == 2


def test_role_grants_decide_who_reads_and_writes(persona: Persona) -> None:
    campaign = CampaignFactory.create()
    sales, executive, marketer = persona("Sales"), persona("Executive"), persona("Marketer")
    assert sales.get("/api/programs/").status_code == 200
    assert sales.get("/api/spend/").status_code == 403  # sales has no view on spend
    program = {
        "campaign": campaign.pk, "name": "Webinar", "channel": "webinar",
        "starts_on": "2026-02-01", "ends_on": "2026-02-28", "tracking_key": "web-1",
    }  # fmt: skip
    assert executive.post("/api/programs/", program, format="json").status_code == 403
    created = marketer.post("/api/programs/", program, format="json")
    assert created.status_code == 201, created.json()
    assert Program.objects.get(tracking_key="web-1").status == "planned"
    clash = marketer.post("/api/programs/", {**program, "name": "Again"}, format="json")
    assert clash.status_code == 400 and "tracking_key" in clash.json()
    backwards = marketer.post(
        "/api/programs/", {**program, "tracking_key": "web-2", "name": "B",
                           "ends_on": "2026-01-01"}, format="json",
    )  # fmt: skip
    assert backwards.status_code == 400
    line = {"program": created.json()["id"], "spent_on": "2026-02-03", "amount": "-5"}
    assert marketer.post("/api/spend/", line, format="json").status_code == 400
    line["amount"] = "1250.00"
    assert marketer.post("/api/spend/", line, format="json").status_code == 201
    anonymous = APIClient()
    assert anonymous.get("/api/campaigns/").status_code in (401, 403)


def test_opportunities_are_upserted_by_crm_id(persona: Persona) -> None:
    marketer = persona("Marketer")
    account = AccountFactory.create()
    deal = {"external_id": "006A", "account": account.pk, "name": "Big deal",
            "amount": "50000", "status": "open", "opened_on": "2026-03-01",
            "source": "marketing"}  # fmt: skip
    assert marketer.post("/api/opportunities/", deal, format="json").status_code == 201
    won = {**deal, "status": "won", "close_on": "2026-05-01"}
    again = marketer.post("/api/opportunities/", won, format="json")
    assert again.status_code == 201, again.json()
    assert Opportunity.objects.get().status == "won"
    no_close = marketer.post("/api/opportunities/", {**deal, "status": "lost"}, format="json")
    assert no_close.status_code == 400
    assert marketer.get("/api/opportunities/?source=marketing").json()["count"] == 1
    assert persona("Executive").post("/api/opportunities/", deal, format="json").status_code == 403


def test_a_deal_without_a_status_is_refused_by_field_and_nothing_is_written(
    persona: Persona,
) -> None:
    """Issue 18: it answered 500. A status is required, so an upsert never turns a
    won deal back to open because a caller left it out."""
    marketer = persona("Marketer")
    deal = {"external_id": "006S", "name": "No status", "amount": "10", "opened_on": "2026-03-01"}
    refused = marketer.post("/api/opportunities/", deal, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"status": ["This field is required."]}
    assert not Opportunity.objects.exists()


def test_a_deal_without_an_account_through_the_api(persona: Persona) -> None:
    """Posted without an account (or with null), stored unassigned, listed
    with a null account, and found by `?has_account=false`; it can be assigned later."""
    marketer = persona("Marketer")
    account = AccountFactory.create(name="Northwind")
    deal = {"external_id": "006U", "name": "Unassigned", "amount": "1200",
            "status": "open", "opened_on": "2026-03-01"}  # fmt: skip
    created = marketer.post("/api/opportunities/", deal, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["account"], created.json()["account_name"]) == (None, None)
    again = marketer.post("/api/opportunities/", {**deal, "account": None}, format="json")
    assert again.status_code == 201, again.json()
    OpportunityFactory.create(account=account, external_id="006A")
    listed = marketer.get("/api/opportunities/?has_account=false").json()
    assert [(r["external_id"], r["account"], r["account_name"]) for r in listed["results"]] == [
        ("006U", None, None)
    ]
    assigned = marketer.get("/api/opportunities/?has_account=true").json()["results"]
    assert [(r["external_id"], r["account_name"]) for r in assigned] == [("006A", "Northwind")]
    one = marketer.get(f"/api/opportunities/{created.json()['id']}/").json()
    assert one["account"] is None and one["account_name"] is None
    later = marketer.post("/api/opportunities/", {**deal, "account": account.pk}, format="json")
    assert later.status_code == 201 and later.json()["account_name"] == "Northwind"
    assert Opportunity.objects.get(external_id="006U").account_id == account.pk
