"""What the campaign pages add to the campaigns app: the UTM link (and that its
link really attributes a visit to the program), a running campaign's fixed
holdout, removing targets and targets pasted as domains, the filter preview."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import Account
from campaigns import selectors, touches
from campaigns.holdout import holdout_frozen
from campaigns.models import Campaign, CampaignTarget, Touch
from campaigns.services import TargetsRejected, campaign_targets_set
from campaigns.target_services import (
    campaign_edit,
    campaign_holdout_reseed,
    campaign_targets_paste,
    campaign_targets_remove,
)
from campaigns.utm import InvalidDestination, utm_link
from engagement.models import Activity
from engagement.services.sources import source_create
from tests.factories import AccountFactory, CampaignFactory, ContactFactory, ProgramFactory
from tests.tracking_client import post

DAY = dt.date(2026, 3, 1)


def drawn_by_hand(seed: int, key: str, fraction: str) -> bool:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()
    return int(digest[:16], 16) < Decimal(fraction) * 2**64


# --- The UTM link -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("destination", "fields", "expected"),
    [
        ("https://acme.example", {}, "https://acme.example/?utm_campaign=q3"),
        ("https://acme.example/p?a=1&b=two#top", {"source": "linkedin", "medium": "cpc"},
         "https://acme.example/p?a=1&b=two&utm_source=linkedin&utm_medium=cpc&utm_campaign=q3#top"),
        # A value given replaces the destination's own; a blank one leaves it.
        ("http://acme.example/?utm_source=old&utm_medium=email&utm_campaign=old",
         {"source": "new"},
         "http://acme.example/?utm_medium=email&utm_source=new&utm_campaign=q3"),
        ("https://acme.example/x", {"content": "hero banner", "term": "a&b=c/é"},
         "https://acme.example/x?utm_campaign=q3&utm_content=hero%20banner"
         "&utm_term=a%26b%3Dc%2F%C3%A9"),
        ("  https://acme.example/x?empty=&plus=a+b  ", {"source": "  "},
         "https://acme.example/x?empty=&plus=a%20b&utm_campaign=q3"),
    ],
)  # fmt: skip
def test_the_link_carries_the_tracking_key_as_utm_campaign(
    destination: str, fields: dict[str, str], expected: str
) -> None:
    assert utm_link(destination=destination, tracking_key="q3", **fields) == expected


@pytest.mark.parametrize(
    "destination", ["acme.example/landing", "ftp://acme.example/", "https:///nohost", ""]
)
def test_a_destination_that_is_not_a_web_address_is_refused(destination: str) -> None:
    with pytest.raises(InvalidDestination, match="http:// or https://"):
        utm_link(destination=destination, tracking_key="q3")


@pytest.mark.django_db
def test_a_page_view_from_the_built_link_is_attributed_to_the_program(client: Client) -> None:
    """The tracking library reads utm_campaign from the landing page's address
    into context.campaign.name; the tracker stores it as the activity's key and
    the touches match it to the program."""
    program = ProgramFactory.create(tracking_key="q3-webinar")
    person = ContactFactory.create(external_id="u-7")
    link = utm_link(
        destination="https://www.vendor.example/webinar?lang=en",
        tracking_key=program.tracking_key,
        source="linkedin",
        medium="paid social",
    )
    query = parse_qs(urlsplit(link).query)
    page_view = {
        "type": "page", "messageId": "m-utm", "userId": "u-7", "name": "Webinar",
        "timestamp": "2026-03-02T10:00:00Z",
        "properties": {"url": link},
        "context": {"page": {"url": link}, "campaign": {
            "name": query["utm_campaign"][0], "source": query["utm_source"][0],
            "medium": query["utm_medium"][0]}},
    }  # fmt: skip
    issued = source_create(name="Website")
    assert post(client, "/v1/page", page_view, issued.write_key).status_code == 200
    activity = Activity.objects.get(message_id="m-utm")
    assert (activity.tracking_key, activity.account_id) == ("q3-webinar", person.account_id)
    touches.touches_refresh(activity_ids=[activity.pk])
    touch = Touch.objects.get()
    assert (touch.program_id, touch.account_id, touch.touch_count) == (
        program.pk, person.account_id, 1,
    )  # fmt: skip


# --- The holdout once the campaign runs ---------------------------------------------


def test_the_holdout_is_frozen_from_the_first_day() -> None:
    assert not holdout_frozen(starts_on=DAY, today=DAY - dt.timedelta(days=1))
    assert holdout_frozen(starts_on=DAY, today=DAY)
    assert holdout_frozen(starts_on=DAY, today=DAY + dt.timedelta(days=90))


@pytest.mark.django_db
def test_a_running_campaign_keeps_its_holdout_fraction_and_seed() -> None:
    campaign = CampaignFactory.create(starts_on=DAY, holdout_fraction=Decimal("0.1"),
                                      holdout_seed=4)  # fmt: skip
    for values in ({"holdout_fraction": Decimal("0.2")}, {"holdout_seed": 5}):
        with pytest.raises(ValidationError) as refused:
            campaign_edit(campaign_id=campaign.pk, values=values, today=DAY)
        assert list(refused.value.message_dict) == list(values)
    with pytest.raises(ValidationError):
        campaign_holdout_reseed(campaign_id=campaign.pk, today=DAY)
    # The same values, and any other field, are still accepted.
    campaign_edit(campaign_id=campaign.pk, today=DAY,
                  values={"holdout_fraction": Decimal("0.100"), "name": "Renamed"})  # fmt: skip
    campaign.refresh_from_db()
    assert (campaign.name, campaign.holdout_fraction, campaign.holdout_seed) == (
        "Renamed", Decimal("0.1"), 4,
    )  # fmt: skip


@pytest.mark.django_db
def test_before_the_start_a_new_seed_redraws_every_target_by_the_rule() -> None:
    campaign = CampaignFactory.create(starts_on=DAY, holdout_fraction=Decimal("0.3"),
                                      holdout_seed=4)  # fmt: skip
    accounts = [AccountFactory.create(domain=f"r{n}.example") for n in range(30)]
    campaign_targets_set(campaign_id=campaign.pk, account_ids=[a.pk for a in accounts])
    drawn = campaign_holdout_reseed(campaign_id=campaign.pk, today=DAY - dt.timedelta(days=1))
    seed = Campaign.objects.get(pk=campaign.pk).holdout_seed
    assert seed != 4
    held = {f"r{n}.example" for n in range(30) if drawn_by_hand(seed, f"r{n}.example", "0.3")}
    stored = set(
        CampaignTarget.objects.filter(campaign=campaign, in_holdout=True).values_list(
            "account__domain", flat=True
        )
    )
    assert stored == held and (drawn.targets, drawn.holdout) == (30, len(held))


# --- Targets ------------------------------------------------------------------------


@pytest.mark.django_db
def test_removing_targets_leaves_the_others_in_their_arm() -> None:
    campaign = CampaignFactory.create(holdout_fraction=Decimal("0.5"), holdout_seed=8)
    accounts = [AccountFactory.create(domain=f"x{n}.example") for n in range(10)]
    campaign_targets_set(campaign_id=campaign.pk, account_ids=[a.pk for a in accounts])
    result = campaign_targets_remove(
        campaign_id=campaign.pk, account_ids=[accounts[0].pk, accounts[1].pk, 999_999]
    )
    kept = {f"x{n}.example" for n in range(2, 10)}
    held = {d for d in kept if drawn_by_hand(8, d, "0.5")}
    assert (result.removed, result.targets, result.holdout) == (2, 8, len(held))
    assert (
        set(
            CampaignTarget.objects.filter(campaign=campaign, in_holdout=True).values_list(
                "account__domain", flat=True
            )
        )
        == held
    )


@pytest.mark.django_db
def test_pasted_domains_are_all_or_nothing_with_errors_by_line() -> None:
    campaign = CampaignFactory.create(holdout_fraction=Decimal("0"))
    AccountFactory.create(domain="one.example")
    AccountFactory.create(domain="two.example")
    with pytest.raises(TargetsRejected) as rejected:
        campaign_targets_paste(
            campaign_id=campaign.pk, text="one.example\nfoo\n\n two.example \nthree.example"
        )
    assert [(e.row, e.value, e.reason) for e in rejected.value.errors] == [
        (2, "foo", "is not a web domain"),
        (5, "three.example", "no account has this domain"),
    ]
    assert not CampaignTarget.objects.exists()
    result = campaign_targets_paste(
        campaign_id=campaign.pk, text="ONE.example\r\nhttp://www.two.example/a\none.example\n"
    )
    assert (result.added, result.targets, result.holdout) == (2, 2, 0)


@pytest.mark.django_db
def test_the_preview_counts_the_matches_and_those_already_on_the_list() -> None:
    campaign = CampaignFactory.create(holdout_fraction=Decimal("0"))
    tier_one = [AccountFactory.create(tier=1) for _ in range(5)]
    AccountFactory.create(tier=2)
    campaign_targets_set(campaign_id=campaign.pk, account_ids=[tier_one[0].pk, tier_one[1].pk])
    preview = selectors.targets_preview(
        campaign_id=campaign.pk, accounts=Account.objects.filter(tier=1).order_by("name")
    )
    assert (preview.matching, preview.already, preview.new) == (5, 2, 3)
