"""Reads for the engagement app."""

from __future__ import annotations

import hashlib

from django.db.models import Q

from accounts.models import Account
from engagement.models import EventTypeMapping, IPRange, Source
from engagement.networks import address_key, narrowest_ranges


def write_key_digest(write_key: str) -> str:
    """What is stored for a write key: its SHA-256, never the key itself."""
    return hashlib.sha256(write_key.encode()).hexdigest()


def source_for_write_key(write_key: str) -> Source | None:
    """The active source a write key belongs to, or None (unknown or revoked)."""
    if not write_key:
        return None
    return Source.objects.filter(write_key_hash=write_key_digest(write_key), is_active=True).first()


def event_type_mapping() -> dict[str, str]:
    """The marketer-configured event names, over the built-in defaults."""
    return dict(EventTypeMapping.objects.values_list("event_name", "activity_type"))


def account_ids_for_addresses(addresses: set[str]) -> dict[str, int]:
    """address -> id of the account whose IP range holds it (the narrowest range wins).

    Two queries whatever the number of addresses.
    """
    if not addresses:
        return {}
    keys = {address_key(a) for a in addresses}
    holding = Q()
    for key in keys:
        holding |= Q(first_address__lte=key, last_address__gte=key)
    ranges = IPRange.objects.filter(holding).values_list("first_address", "last_address", "domain")
    domain_by_address = narrowest_ranges(addresses, ranges)
    if not domain_by_address:
        return {}
    account_by_domain = dict(
        Account.objects.filter(domain__in=set(domain_by_address.values())).values_list(
            "domain", "id"
        )
    )
    return {
        address: account_by_domain[domain]
        for address, domain in domain_by_address.items()
        if domain in account_by_domain
    }
