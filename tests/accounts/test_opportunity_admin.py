"""The opportunity admin takes and shows a deal not assigned to an account yet."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Opportunity
from tests.factories import AccountFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(UserFactory.create(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_admin_adds_lists_and_filters_a_deal_without_an_account(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/accounts/opportunity/add/",
        {"external_id": "006U", "account": "", "name": "Deal without account", "amount": "1200",
         "currency": "USD", "crm_stage": "Engaging", "status": "open",
         "opened_on": "2026-03-01", "close_on": "", "source": "other", "product_line": "GTX"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    deal = Opportunity.objects.get(external_id="006U")
    assert (deal.account_id, deal.amount, deal.opened_on) == (
        None,
        Decimal("1200.00"),
        dt.date(2026, 3, 1),
    )
    OpportunityFactory.create(
        account=AccountFactory.create(name="Northwind"), name="Northwind renewal"
    )
    listing = admin_client.get("/admin/accounts/opportunity/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Deal without account" in page and "Northwind renewal" in page
    empty = admin_client.get("/admin/accounts/opportunity/?account__isempty=1").content.decode()
    assert "Deal without account" in empty and "Northwind renewal" not in empty
    change = admin_client.get(f"/admin/accounts/opportunity/{deal.pk}/change/")
    assert change.status_code == 200
