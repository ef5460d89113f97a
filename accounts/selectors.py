"""Reads of accounts for the pages and the API, with their related rows joined."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Concat

from accounts.junk import JunkRules
from accounts.models import (
    Account,
    AccountFollow,
    Contact,
    ICPSegment,
    JunkRule,
    OpportunityStatus,
)
from accounts.roles import ROLES

# Who counts in an account's buying team, over its `contacts` relation: junk
# contacts (DESIGN 4: free-mail, competitors, job seekers ...) are kept with
# their reason but are nobody's buying team.
BUYING_TEAM = Q(contacts__is_junk=False)


def account_list(*, search: str = "", owner_id: int | None = None) -> QuerySet[Account]:
    """Accounts with owner joined and buying-team and open-deal counts annotated.

    The buying team is the account's contacts less the junk ones (BUYING_TEAM).
    One query per page, whatever the page size.
    """
    accounts = (
        Account.objects.select_related("owner")
        .annotate(
            contact_count=Count("contacts", filter=BUYING_TEAM, distinct=True),
            open_opportunity_count=Count(
                "opportunities",
                filter=Q(opportunities__status=OpportunityStatus.OPEN),
                distinct=True,
            ),
        )
        .order_by("name", "id")
    )
    if search:
        accounts = accounts.filter(Q(name__icontains=search) | Q(domain__icontains=search))
    if owner_id is not None:
        accounts = accounts.filter(owner_id=owner_id)
    return accounts


def junk_rules() -> JunkRules:
    """The built-in junk lists extended with the marketer's JunkRule rows."""
    return JunkRules().extended(JunkRule.objects.values_list("kind", "value"))


FIRMOGRAPHIC_FIELDS = (
    "industry", "employees", "annual_revenue", "country", "tier", "is_customer", "is_target",
    "tags",
)  # fmt: skip


def firmographics_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values segment criteria are evaluated on, from an Account's fields."""
    revenue = values.get("annual_revenue")
    return {
        **{name: values.get(name) for name in FIRMOGRAPHIC_FIELDS},
        "annual_revenue": float(revenue) if revenue is not None else None,
    }


# The global search box shows this many of each kind as you type.
SEARCH_LIMIT = 8


def accounts_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Account]:
    """Accounts whose name or domain contains `query`, by name. One query."""
    return list(
        Account.objects.filter(Q(name__icontains=query) | Q(domain__icontains=query)).order_by(
            "name", "id"
        )[:limit]
    )


def contacts_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Contact]:
    """Contacts whose full name or email contains `query`, with their account
    joined, by name. One query."""
    full_name = Concat("first_name", Value(" "), "last_name")
    return list(
        Contact.objects.select_related("account")
        .annotate(full_name=full_name)
        .filter(Q(full_name__icontains=query) | Q(email__icontains=query))
        .order_by("last_name", "first_name", "id")[:limit]
    )


def segment_choices() -> list[tuple[int, str]]:
    """(id, name) of the active segments, by name, for a page's segment picker. One query."""
    return list(
        ICPSegment.objects.filter(is_active=True).order_by("name").values_list("id", "name")
    )


def account_with_owner(*, account_id: int) -> Account | None:
    """The account with its owner joined, or None. One query."""
    return Account.objects.select_related("owner").filter(pk=account_id).first()


def account_is_followed(*, user_id: int, account_id: int) -> bool:
    """Whether the user follows the account. One query."""
    return AccountFollow.objects.filter(user_id=user_id, account_id=account_id).exists()


def user_roles(*, user_id: int) -> list[str]:
    """The product roles (accounts.roles.ROLES) the user holds, in that order. One query."""
    groups = Group.objects.filter(user__id=user_id, name__in=ROLES)
    held = set(groups.values_list("name", flat=True))
    return [role for role in ROLES if role in held]
