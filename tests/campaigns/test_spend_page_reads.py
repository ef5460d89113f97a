"""The spend page's reads and the spend delete service (campaigns.selectors,
campaigns.services), against totals worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from campaigns import selectors, services
from campaigns.models import Campaign, Spend
from tests.factories import CampaignFactory, ProgramFactory, SpendFactory

pytestmark = pytest.mark.django_db


def test_campaign_spend_totals_by_program_and_currency() -> None:
    campaign = CampaignFactory.create(budget=Decimal("1000.00"), currency="EUR")
    first = ProgramFactory.create(campaign=campaign, name="A")
    second = ProgramFactory.create(campaign=campaign, name="B")
    SpendFactory.create(program=first, amount=Decimal("400.10"), currency="EUR")
    SpendFactory.create(program=first, amount=Decimal("99.90"), currency="EUR")
    SpendFactory.create(program=second, amount=Decimal("50.00"), currency="USD")
    SpendFactory.create(amount=Decimal("777"))  # another campaign's
    spend = selectors.campaign_spend(campaign_id=campaign.pk)
    assert [row.program.name for row in spend.programs] == ["A", "B"]
    assert spend.programs[0].totals == {"EUR": Decimal("500.00")}
    assert spend.programs[1].totals == {"USD": Decimal("50.00")}
    assert spend.totals == {"EUR": Decimal("500.00"), "USD": Decimal("50.00")}
    # Only the campaign's currency counts against its budget.
    assert spend.in_budget_currency == Decimal("500.00")
    assert spend.budget_left == Decimal("500.00") and spend.over_budget is None
    assert spend.other_currencies == ["USD"] and spend.line_count == 3


def test_campaign_spend_over_budget_without_budget_and_without_lines() -> None:
    campaign = CampaignFactory.create(budget=Decimal("100"))
    SpendFactory.create(program=ProgramFactory.create(campaign=campaign), amount=Decimal("130"))
    spend = selectors.campaign_spend(campaign_id=campaign.pk)
    assert spend.budget_left == Decimal("-30") and spend.over_budget == Decimal("30")
    bare = CampaignFactory.create(budget=None)
    ProgramFactory.create(campaign=bare)
    spend = selectors.campaign_spend(campaign_id=bare.pk)
    assert spend.totals == {} and spend.budget_left is None and spend.programs[0].totals == {}
    with pytest.raises(Campaign.DoesNotExist):
        selectors.campaign_spend(campaign_id=999999)


def test_campaign_spend_reads_in_three_queries(django_assert_num_queries: Any) -> None:
    campaign = CampaignFactory.create()
    for program in ProgramFactory.create_batch(5, campaign=campaign):
        SpendFactory.create_batch(4, program=program)
    with django_assert_num_queries(3):
        assert selectors.campaign_spend(campaign_id=campaign.pk).line_count == 20


def test_a_line_is_found_only_in_its_own_campaign() -> None:
    line = SpendFactory.create()
    found = selectors.spend_line_in_campaign(campaign_id=line.program.campaign_id, spend_id=line.pk)
    assert found == line
    with pytest.raises(Spend.DoesNotExist):
        selectors.spend_line_in_campaign(campaign_id=CampaignFactory.create().pk, spend_id=line.pk)


def test_spend_delete_removes_one_line() -> None:
    line, kept = SpendFactory.create(), SpendFactory.create()
    services.spend_delete(spend_id=line.pk)
    assert list(Spend.objects.values_list("pk", flat=True)) == [kept.pk]
    with pytest.raises(Spend.DoesNotExist):
        services.spend_delete(spend_id=line.pk)
