"""Reads of accounts for the pages and the API, with their related rows joined."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from accounts.junk import JunkRules
from accounts.models import Account, JunkRule, OpportunityStatus


def account_list(*, search: str = "", owner_id: int | None = None) -> QuerySet[Account]:
    """Accounts with owner joined and buying-team and open-deal counts annotated.

    One query per page, whatever the page size.
    """
    accounts = (
        Account.objects.select_related("owner")
        .annotate(
            contact_count=Count("contacts", distinct=True),
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
