from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Account, Contact
from engagement.models import Activity, IPRange
from engagement.networks import InvalidNetwork, address_key, network_bounds
from engagement.selectors import account_ids_for_addresses
from engagement.services.sources import source_create
from tests.tracking_client import post


def test_address_keys_sort_like_addresses_and_map_ipv4_into_ipv6() -> None:
    assert address_key("10.0.0.2") > address_key("10.0.0.1")
    assert address_key("10.0.0.255") < address_key("10.0.1.0")
    assert address_key("10.0.0.1") == address_key("::ffff:10.0.0.1")
    assert len(address_key("2001:db8::1")) == 32


def test_network_bounds_normalise_the_cidr() -> None:
    bounds = network_bounds(" 203.0.113.77/24 ")
    assert bounds.network == "203.0.113.0/24"
    assert bounds.first_address == address_key("203.0.113.0")
    assert bounds.last_address == address_key("203.0.113.255")
    with pytest.raises(InvalidNetwork, match=r"'203\.0\.113/24' is not an IP network"):
        network_bounds("203.0.113/24")


@pytest.mark.django_db
def test_the_innermost_holding_range_wins_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    parent = Account.objects.create(name="Parent", domain="parent.example")
    child = Account.objects.create(name="Child", domain="child.example")
    same_start = Account.objects.create(name="Same start", domain="first-block.example")
    ip_range("10.0.0.0/8", "parent.example")
    ip_range("10.20.0.0/16", "child.example")
    ip_range("10.0.0.0/24", "first-block.example")
    ip_range("2001:db8::/32", "parent.example")
    addresses = {"10.20.3.4", "10.99.0.1", "10.0.0.9", "10.0.1.9", "192.0.2.1", "2001:db8::7"}
    with django_assert_num_queries(1):
        found = account_ids_for_addresses(addresses)
    assert found == {
        "10.20.3.4": child.pk,
        # After the child's block but inside the parent's: the walk goes past the child.
        "10.99.0.1": parent.pk,
        # Two blocks start at 10.0.0.0: the /24 is inside the /8.
        "10.0.0.9": same_start.pk,
        "10.0.1.9": parent.pk,
        "2001:db8::7": parent.pk,
    }


@pytest.mark.django_db
def test_an_address_whose_innermost_range_has_no_account_stays_unresolved() -> None:
    Account.objects.create(name="Parent", domain="parent.example")
    ip_range("10.0.0.0/8", "parent.example")
    ip_range("10.20.0.0/16", "not-yet-a-customer.example")
    assert account_ids_for_addresses({"10.20.3.4", "10.30.0.1"}) == {
        "10.30.0.1": Account.objects.get().pk
    }


def ip_range(cidr: str, domain: str) -> IPRange:
    bounds = network_bounds(cidr)
    return IPRange.objects.create(
        network=bounds.network,
        first_address=bounds.first_address,
        last_address=bounds.last_address,
        domain=domain,
    )


def send(client: Client, write_key: str, calls: list[dict[str, object]]) -> None:
    response = post(client, "/v1/batch", {"batch": calls}, write_key)
    assert response.status_code == 200, response.content


def visit(message_id: str, ip: str, anonymous_id: str = "anon-1") -> dict[str, object]:
    return {"type": "page", "messageId": message_id, "anonymousId": anonymous_id,
            "context": {"ip": ip}, "properties": {"path": "/pricing"}}  # fmt: skip


@pytest.mark.django_db
def test_an_anonymous_visit_is_resolved_to_the_company_owning_the_ip(client: Client) -> None:
    northwind = Account.objects.create(name="Northwind", domain="northwind.example")
    subsidiary = Account.objects.create(name="Northwind Labs", domain="labs.northwind.example")
    ip_range("198.51.100.0/24", "northwind.example")
    ip_range("198.51.100.128/25", "labs.northwind.example")
    ip_range("192.0.2.0/24", "not-yet-a-customer.example")
    key = source_create(name="Web").write_key
    send(client, key, [visit("v-1", "198.51.100.7"), visit("v-2", "198.51.100.200"),
                       visit("v-3", "192.0.2.9"), visit("v-4", "203.0.113.1")])  # fmt: skip
    assert dict(Activity.objects.values_list("message_id", "account_id")) == {
        "v-1": northwind.pk,
        "v-2": subsidiary.pk,
        "v-3": None,
        "v-4": None,
    }
    assert not Activity.objects.filter(contact__isnull=False).exists()


@pytest.mark.django_db
def test_a_visitor_resolved_by_ip_and_later_identified_keeps_history(client: Client) -> None:
    account = Account.objects.create(name="Northwind", domain="northwind.example")
    ip_range("198.51.100.0/24", "northwind.example")
    key = source_create(name="Web").write_key
    send(client, key, [visit("v-1", "198.51.100.7", "anon-7")])
    assert Activity.objects.get().account == account
    send(client, key, [{"type": "identify", "messageId": "i-1", "userId": "u-7",
                        "anonymousId": "anon-7", "traits": {"email": "bo@gmail.com"}}])  # fmt: skip
    activity = Activity.objects.get()
    # The person is known now; their company is still the one the network said.
    assert activity.contact == Contact.objects.get(external_id="u-7")
    assert activity.account == account


@pytest.mark.django_db
def test_an_identified_visitor_is_not_resolved_by_ip(client: Client) -> None:
    ip_range("198.51.100.0/24", "northwind.example")
    Account.objects.create(name="Northwind", domain="northwind.example")
    key = source_create(name="Web").write_key
    send(client, key, [{"type": "track", "messageId": "t-1", "userId": "u-1",
                        "event": "Demo Requested", "context": {"ip": "198.51.100.7"}}])  # fmt: skip
    activity = Activity.objects.get()
    assert activity.contact is not None
    assert activity.account is None


@pytest.mark.django_db
def test_a_known_visitor_s_new_visits_go_to_their_contact_not_the_network(
    client: Client,
) -> None:
    employer = Account.objects.create(name="Acme", domain="acme.example")
    Account.objects.create(name="Network owner", domain="northwind.example")
    ip_range("198.51.100.0/24", "northwind.example")
    key = source_create(name="Web").write_key
    send(client, key, [{"type": "identify", "messageId": "i-1", "userId": "u-1",
                        "anonymousId": "anon-1", "traits": {"email": "ana@acme.example"}},
                       {"type": "identify", "messageId": "i-2", "userId": "u-2",
                        "anonymousId": "anon-2", "traits": {"email": "bo@gmail.com"}}])  # fmt: skip
    send(client, key, [visit("v-1", "198.51.100.7", "anon-1"),
                       visit("v-2", "198.51.100.7", "anon-2")])  # fmt: skip
    ana, bo = Contact.objects.get(external_id="u-1"), Contact.objects.get(external_id="u-2")
    stored = {a.message_id: a for a in Activity.objects.filter(message_id__startswith="v-")}
    assert (stored["v-1"].contact, stored["v-1"].account) == (ana, employer)
    assert stored["v-1"].excluded_reason == ""
    # A free-mail contact without an account: junk, and not moved to the network's owner.
    assert bo.is_junk
    assert (stored["v-2"].contact, stored["v-2"].account) == (bo, None)
    assert stored["v-2"].excluded_reason == f"junk contact: {bo.junk_reason}"
