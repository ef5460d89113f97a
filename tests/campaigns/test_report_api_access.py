"""The campaign report, programs report and funnel API ask what their pages
ask: a login was enough before (issue 18's access matrix found it), so a
signed-in user without a role read every campaign's report and the funnel's
deal counts while the pages answered 403."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from tests.factories import CampaignFactory, UserFactory

PERIOD = "start=2026-01-01&end=2026-06-30"


def _client_with(*codenames: str) -> APIClient:
    """A signed-in user of no role, holding only `codenames`."""
    user = UserFactory.create(username="-".join(["no-role", *codenames]))
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_a_user_without_view_campaign_reads_no_campaign_report() -> None:
    campaign = CampaignFactory.create()
    client = _client_with()
    for url in (
        f"/api/reports/programs/?{PERIOD}",
        f"/api/reports/campaigns/{campaign.pk}/",
        f"/api/reports/funnel/?{PERIOD}",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "permission" in response.json()["detail"], url


@pytest.mark.django_db
def test_the_funnel_also_needs_view_opportunity_as_its_page_does() -> None:
    campaign = CampaignFactory.create()
    client = _client_with("view_campaign")
    assert client.get(f"/api/reports/programs/?{PERIOD}").status_code == 200
    assert client.get(f"/api/reports/campaigns/{campaign.pk}/").status_code == 200
    refused = client.get(f"/api/reports/funnel/?{PERIOD}")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "the funnel needs accounts.view_opportunity"
    both = _client_with("view_campaign", "view_opportunity")
    assert both.get(f"/api/reports/funnel/?{PERIOD}").status_code == 200
