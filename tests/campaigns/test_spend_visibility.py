"""One spend rule for pages, reports and the API (campaigns.spend_visibility):
marketers and executives see spend and the figures drawn from it; sales reps
see none of them, and every answer that hides them says why."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from campaigns.spend_visibility import SPEND_KEYS
from tests.campaigns import scenario

pytestmark = pytest.mark.django_db

PERIOD = f"start={scenario.START}&end={scenario.END}"


def _spend_figures(value: Any) -> list[Any]:
    """Every spend figure anywhere in a JSON answer."""
    if isinstance(value, dict):
        found = [item for key, item in value.items() if key in SPEND_KEYS]
        return found + [f for item in value.values() for f in _spend_figures(item)]
    if isinstance(value, list):
        return [f for item in value for f in _spend_figures(item)]
    return []


def _reports(campaign_id: int) -> list[str]:
    return [
        f"/api/reports/programs/?{PERIOD}",
        f"/api/reports/programs/?{PERIOD}&view=campaigns",
        f"/api/reports/programs/?{PERIOD}&view=channels",
        f"/api/reports/programs/?{PERIOD}&view=sources",
        f"/api/reports/campaigns/{campaign_id}/?{PERIOD}",
    ]


def test_sales_reads_every_report_with_its_spend_figures_hidden_and_the_reason(
    sales: APIClient,
) -> None:
    s = scenario.build()
    for url in _reports(s.campaign.pk):
        body = sales.get(url).json()
        figures = _spend_figures(body)
        assert figures, url  # the report has spend figures to hide
        assert all(f is None for f in figures), url
        assert "campaigns.view_spend" in body["spend_hidden"], url


@pytest.mark.parametrize("role", ["marketer", "executive"])
def test_marketers_and_executives_see_spend_in_every_report(
    role: str, request: pytest.FixtureRequest
) -> None:
    client: APIClient = request.getfixturevalue(role)
    s = scenario.build()
    body = client.get(f"/api/reports/campaigns/{s.campaign.pk}/?{PERIOD}").json()
    assert "spend_hidden" not in body
    # P1 1,000 + P2 500 in the period (the scenario's spend lines).
    assert Decimal(str(body["campaign"]["spend"])) == Decimal("1500")
    for url in _reports(s.campaign.pk):
        assert any(f is not None for f in _spend_figures(client.get(url).json())), url


def test_the_campaign_and_program_lists_hide_spend_totals_from_sales_only(
    sales: APIClient, marketer: APIClient
) -> None:
    s = scenario.build()
    for url in ("/api/campaigns/", "/api/programs/"):
        for row in sales.get(url).json()["results"]:
            assert row["spend_total"] is None, url
    campaign = marketer.get(f"/api/campaigns/{s.campaign.pk}/").json()
    # Every spend line of the campaign: 1,000 + 500 + 100 the day before the period.
    assert Decimal(campaign["spend_total"]) == Decimal("1600.00")


def test_sales_is_refused_the_spend_lines_themselves(sales: APIClient) -> None:
    scenario.build()
    assert sales.get("/api/spend/").status_code == 403
