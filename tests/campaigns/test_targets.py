"""Target lists, the seeded holdout and the audience export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import SegmentMembership
from campaigns import services
from campaigns.holdout import holdout_draw, holdout_size
from campaigns.models import Campaign, CampaignTarget
from campaigns.selectors import TargetCriteria
from tests.factories import AccountFactory, CampaignFactory, ICPSegmentFactory, UserFactory


def test_holdout_size_rounds_the_fraction_half_up() -> None:
    assert holdout_size(targets=100, fraction=Decimal("0.1")) == 10
    assert holdout_size(targets=15, fraction=Decimal("0.1")) == 2  # 1.5 rounds up
    assert holdout_size(targets=14, fraction=Decimal("0.1")) == 1
    assert holdout_size(targets=4, fraction=0) == 0
    with pytest.raises(ValueError, match="outside"):
        holdout_size(targets=4, fraction=1)


def test_same_seed_gives_the_same_split_and_the_fraction_holds() -> None:
    ids = list(range(1, 1001))
    first = holdout_draw(ids, fraction=Decimal("0.1"), seed=42)
    assert len(first) == 100
    assert first == holdout_draw(list(reversed(ids)), fraction=Decimal("0.1"), seed=42)
    other = holdout_draw(ids, fraction=Decimal("0.1"), seed=43)
    assert len(other) == 100 and other != first
    # Random, not a block of ids: the held-out ids spread over the whole list.
    assert min(first) < 200 and max(first) > 800
    # A longer list keeps most of the earlier holdout (stable draws).
    grown = holdout_draw([*ids, *range(1001, 1101)], fraction=Decimal("0.1"), seed=42)
    assert len(grown) == 110 and len(first & grown) >= 90


@pytest.mark.django_db
def test_targets_from_a_segment_and_filters_draw_a_reproducible_holdout() -> None:
    segment = ICPSegmentFactory.create()
    members = AccountFactory.create_batch(30, tier=1)
    for account in members[:25]:
        SegmentMembership.objects.create(segment=segment, account=account, fit_grade="A")
    for account in members[25:]:
        SegmentMembership.objects.create(segment=segment, account=account, fit_grade="C")
    AccountFactory.create_batch(5, tier=1)  # not members
    campaign = CampaignFactory.create(holdout_fraction=Decimal("0.2"), holdout_seed=7)
    result = services.campaign_targets_from_criteria(
        campaign_id=campaign.pk,
        criteria=TargetCriteria(segment_id=segment.pk, fit_grades=["A", "B"], tiers=[1]),
    )
    assert (result.added, result.targets, result.holdout) == (25, 25, 5)
    held = set(
        CampaignTarget.objects.filter(campaign=campaign, in_holdout=True).values_list(
            "account_id", flat=True
        )
    )
    assert held == holdout_draw([a.pk for a in members[:25]], fraction=Decimal("0.2"), seed=7)
    # Redrawing with the same seed changes nothing; a new seed draws again.
    services.campaign_holdout_draw(campaign_id=campaign.pk)
    assert held == set(
        CampaignTarget.objects.filter(campaign=campaign, in_holdout=True).values_list(
            "account_id", flat=True
        )
    )
    services.campaign_update(campaign_id=campaign.pk, values={"holdout_seed": 8})
    assert CampaignTarget.objects.filter(campaign=campaign, in_holdout=True).count() == 5


@pytest.mark.django_db
def test_csv_target_list_is_all_or_nothing_and_names_the_bad_row() -> None:
    known = AccountFactory.create(domain="known.example")
    by_crm = AccountFactory.create(domain="other.example", external_id="CRM-9")
    campaign = CampaignFactory.create(holdout_fraction=Decimal("0"))
    bad = "domain,external_id\nhttps://www.Known.example/,\nmissing.example,\n"
    with pytest.raises(services.TargetsRejected) as rejected:
        services.campaign_targets_import(campaign_id=campaign.pk, data=bad)
    assert [(e.row, e.column, e.value) for e in rejected.value.errors] == [
        (3, "domain", "missing.example")
    ]
    assert not CampaignTarget.objects.filter(campaign=campaign).exists()
    good = "Website,CRM Id\nknown.example,\n,CRM-9\n"
    result = services.campaign_targets_import(campaign_id=campaign.pk, data=good)
    assert result.targets == 2
    assert set(CampaignTarget.objects.values_list("account_id", flat=True)) == {
        known.pk,
        by_crm.pk,
    }


@pytest.fixture
def marketer() -> APIClient:
    from django.contrib.auth.models import Group

    user = UserFactory.create(username="marketer")
    user.groups.add(Group.objects.get(name="Marketer"))
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_audience_export_leaves_the_holdout_out(marketer: APIClient) -> None:
    accounts = AccountFactory.create_batch(20)
    created = marketer.post(
        "/api/campaigns/",
        {"name": "Q3 push", "objective": "pipeline", "starts_on": "2026-07-01",
         "ends_on": "2026-09-30", "holdout_fraction": "0.25"},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    campaign = Campaign.objects.get(pk=created.json()["id"])
    assert campaign.holdout_seed != 0  # drawn and stored at creation
    ids = [a.pk for a in accounts]
    services.campaign_targets_set(campaign_id=campaign.pk, account_ids=ids)
    response = marketer.get(f"/api/campaigns/{campaign.pk}/audience/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    exported = {int(r["account_id"]) for r in rows}
    held = holdout_draw(ids, fraction=Decimal("0.25"), seed=campaign.holdout_seed)
    assert len(held) == 5 and len(exported) == 15
    assert exported == set(ids) - held


@pytest.mark.django_db
def test_targets_endpoint_takes_criteria_or_a_csv(marketer: APIClient) -> None:
    AccountFactory.create_batch(3, country="DE")
    AccountFactory.create_batch(2, country="US", domain=None)
    campaign = CampaignFactory.create(holdout_fraction=Decimal("0"))
    body = marketer.post(
        f"/api/campaigns/{campaign.pk}/targets/", {"countries": ["de"]}, format="json"
    ).json()
    assert body == {"added": 3, "removed": 0, "targets": 3, "holdout": 0}
    upload = io.BytesIO(b"domain\nnowhere.example\n")
    upload.name = "targets.csv"
    refused = marketer.post(
        f"/api/campaigns/{campaign.pk}/targets/", {"file": upload}, format="multipart"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"row": 2, "column": "domain", "value": "nowhere.example",
         "reason": "no account with this value"}
    ]  # fmt: skip
