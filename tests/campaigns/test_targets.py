"""Target lists, the seeded holdout and the audience export."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import SegmentMembership
from campaigns import services
from campaigns.holdout import holdout_draw, holdout_key
from campaigns.models import Campaign, CampaignTarget
from campaigns.selectors import TargetCriteria
from tests.factories import AccountFactory, CampaignFactory, ICPSegmentFactory, UserFactory


def drawn_by_hand(seed: int, key: str, fraction: str) -> bool:
    """The documented rule, recomputed independently: the first 8 bytes of
    sha256("<seed>:<key>") as a big-endian number, below fraction x 2^64."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()
    return int(digest[:16], 16) < Decimal(fraction) * 2**64


def test_each_account_is_held_out_by_its_own_seeded_draw() -> None:
    keys = [f"acct{n}.example" for n in range(2000)]
    held = holdout_draw(keys, fraction=Decimal("0.1"), seed=42)
    assert held == {key for key in keys if drawn_by_hand(42, key, "0.1")}
    assert held == holdout_draw(list(reversed(keys)), fraction=Decimal("0.1"), seed=42)
    assert held != holdout_draw(keys, fraction=Decimal("0.1"), seed=43)
    assert holdout_draw(keys, fraction=0, seed=42) == frozenset()
    # Raising the fraction only adds accounts.
    assert held < holdout_draw(keys, fraction=Decimal("0.2"), seed=42)
    with pytest.raises(ValueError, match="outside"):
        holdout_draw(keys, fraction=1, seed=42)
    assert holdout_key(account_id=7, domain="acme.example") == "acme.example"
    assert holdout_key(account_id=7, domain=None) == "id:7"


@pytest.mark.parametrize("fraction", ["0.1", "0.25", "0.05"])
def test_the_realised_fraction_is_near_the_asked_one_on_a_large_list(fraction: str) -> None:
    """Binomial: on 20,000 accounts four standard deviations are within 1 point."""
    n, share = 20_000, float(fraction)
    held = holdout_draw([f"a{i}.example" for i in range(n)], fraction=Decimal(fraction), seed=9)
    assert abs(len(held) - n * share) < 4 * math.sqrt(n * share * (1 - share))


@pytest.mark.django_db
def test_adding_targets_never_moves_an_existing_target_between_arms() -> None:
    campaign = CampaignFactory.create(holdout_fraction=Decimal("0.2"), holdout_seed=7)
    accounts = AccountFactory.create_batch(150)
    accounts += AccountFactory.create_batch(10, domain=None)  # drawn by id

    def arms() -> dict[int, bool]:
        return dict(
            CampaignTarget.objects.filter(campaign=campaign).values_list("account_id", "in_holdout")
        )

    first = services.campaign_targets_set(
        campaign_id=campaign.pk, account_ids=[a.pk for a in accounts[::2]]
    )
    before = arms()
    assert first.holdout == sum(before.values()) > 0
    for step in (accounts[1::4], accounts[3::4]):
        services.campaign_targets_set(campaign_id=campaign.pk, account_ids=[a.pk for a in step])
        after = arms()
        assert {pk: after[pk] for pk in before} == before
        before = after
    assert len(before) == 160
    # Drawn in three steps, the list holds what one draw of it holds, by hand.
    assert before == {a.pk: drawn_by_hand(7, a.domain or f"id:{a.pk}", "0.2") for a in accounts}


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
    held = set(
        CampaignTarget.objects.filter(campaign=campaign, in_holdout=True).values_list(
            "account_id", flat=True
        )
    )
    assert held == {a.pk for a in members[:25] if drawn_by_hand(7, str(a.domain), "0.2")}
    assert (result.added, result.targets, result.holdout) == (25, 25, len(held))
    # Redrawing with the same seed changes nothing; a new seed draws again.
    services.campaign_holdout_draw(campaign_id=campaign.pk)
    assert held == set(
        CampaignTarget.objects.filter(campaign=campaign, in_holdout=True).values_list(
            "account_id", flat=True
        )
    )
    services.campaign_update(campaign_id=campaign.pk, values={"holdout_seed": 8})
    assert set(
        CampaignTarget.objects.filter(campaign=campaign, in_holdout=True).values_list(
            "account_id", flat=True
        )
    ) == {a.pk for a in members[:25] if drawn_by_hand(8, str(a.domain), "0.2")}


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
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    exported = {int(r["account_id"]) for r in rows}
    held = {a.pk for a in accounts if drawn_by_hand(campaign.holdout_seed, str(a.domain), "0.25")}
    assert exported == set(ids) - held and len(exported) == 20 - len(held)


@pytest.mark.django_db
def test_a_campaign_created_without_a_holdout_fraction_holds_out_the_default_10_percent(
    marketer: APIClient,
) -> None:
    created = marketer.post(
        "/api/campaigns/",
        {"name": "Q4 push", "objective": "pipeline", "starts_on": "2026-10-01",
         "ends_on": "2026-12-31"},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    assert created.json()["holdout_fraction"] == "0.100"
    assert Campaign.objects.get(pk=created.json()["id"]).holdout_fraction == Decimal("0.1")


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


@pytest.mark.django_db
def test_the_admin_draws_a_seed_and_redraws_on_a_new_fraction(client: Any) -> None:
    admin_user = UserFactory.create(username="boss", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    inline = {f"programs-{k}": v for k, v in
              {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0", "MIN_NUM_FORMS": "0",
               "MAX_NUM_FORMS": "1000"}.items()}  # fmt: skip
    form = {"name": "Admin push", "objective": "pipeline", "starts_on": "2026-07-01",
            "ends_on": "2026-09-30", "currency": "USD", "holdout_fraction": "0.100",
            "holdout_seed": "0", **inline}  # fmt: skip
    response = client.post("/admin/campaigns/campaign/add/", form)
    assert response.status_code == 302, response.content[:2000]
    campaign = Campaign.objects.get(name="Admin push")
    assert campaign.holdout_seed != 0  # drawn, as the API does
    accounts = AccountFactory.create_batch(40)
    services.campaign_targets_set(campaign_id=campaign.pk, account_ids=[a.pk for a in accounts])
    changed = {**form, "holdout_fraction": "0.500", "holdout_seed": str(campaign.holdout_seed)}
    response = client.post(f"/admin/campaigns/campaign/{campaign.pk}/change/", changed)
    assert response.status_code == 302
    held = set(
        CampaignTarget.objects.filter(campaign=campaign, in_holdout=True).values_list(
            "account_id", flat=True
        )
    )
    assert held == {
        a.pk for a in accounts if drawn_by_hand(campaign.holdout_seed, str(a.domain), "0.5")
    }


@pytest.mark.django_db
def test_the_api_keeps_a_started_campaigns_holdout_and_redraws_a_future_ones(
    marketer: APIClient,
) -> None:
    today = timezone.localdate()
    started = CampaignFactory.create(
        starts_on=today - dt.timedelta(days=1), ends_on=today + dt.timedelta(days=30),
        holdout_fraction=Decimal("0.100"), holdout_seed=7,
    )  # fmt: skip
    future = CampaignFactory.create(
        starts_on=today + dt.timedelta(days=1), ends_on=today + dt.timedelta(days=30),
        holdout_fraction=Decimal("0.100"), holdout_seed=7,
    )  # fmt: skip
    accounts = AccountFactory.create_batch(40)
    for campaign in (started, future):
        services.campaign_targets_set(campaign_id=campaign.pk, account_ids=[a.pk for a in accounts])

    def held(campaign: Campaign) -> set[int]:
        rows = CampaignTarget.objects.filter(campaign=campaign, in_holdout=True)
        return set(rows.values_list("account_id", flat=True))

    def by_hand(fraction: str) -> set[int]:
        return {a.pk for a in accounts if drawn_by_hand(7, str(a.domain), fraction)}

    frozen = "The campaign has started, so its holdout is fixed"
    for field, value in (("holdout_fraction", "0.500"), ("holdout_seed", 8)):
        refused = marketer.patch(f"/api/campaigns/{started.pk}/", {field: value}, format="json")
        assert refused.status_code == 400
        assert list(refused.json()) == [field] and refused.json()[field][0].startswith(frozen)
    assert held(started) == by_hand("0.1")
    assert Campaign.objects.get(pk=started.pk).holdout_fraction == Decimal("0.100")
    renamed = marketer.patch(f"/api/campaigns/{started.pk}/", {"name": "Renamed"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"

    redrawn = marketer.patch(
        f"/api/campaigns/{future.pk}/", {"holdout_fraction": "0.500"}, format="json"
    )
    assert redrawn.status_code == 200, redrawn.json()
    assert held(future) == by_hand("0.5") != by_hand("0.1")
