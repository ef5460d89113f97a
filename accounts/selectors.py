"""Reads of accounts for the pages and the API, with their related rows joined."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat

from accounts.fit import GRADE_THRESHOLDS, LOWEST_GRADE, Fit, segment_member
from accounts.junk import JunkRules
from accounts.models import (
    Account,
    AccountFollow,
    Contact,
    ICPSegment,
    JunkRule,
    Opportunity,
    OpportunityStatus,
)
from accounts.roles import ROLES
from core import bulk

# Who counts in an account's buying team: junk contacts (DESIGN 4: free-mail,
# competitors, job seekers ...) are kept with their reason but are nobody's
# buying team.
BUYING_TEAM = Q(is_junk=False)


def _count_per_account(rows: QuerySet) -> Coalesce:
    """The number of `rows` (a queryset of a model with an `account` key) of
    the outer query's account, as a correlated subquery: 0 where it has none."""
    counted = (
        rows.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def account_list(*, search: str = "", owner_id: int | None = None) -> QuerySet[Account]:
    """Accounts with owner joined and buying-team and open-deal counts annotated.

    The buying team is the account's contacts less the junk ones (BUYING_TEAM).
    One query per page, whatever the page size. The counts are correlated
    subqueries, not joins with GROUP BY: joined, every other annotation a
    caller adds (the account list's score, stage and changes) was computed
    once per contact row before grouping (70,813 rows for 8,995 accounts in
    the 1M pages benchmark, docs/benchmarks.md), while a subquery is computed
    only for the page's rows once PostgreSQL has sorted and limited them.
    """
    accounts = (
        Account.objects.select_related("owner")
        .annotate(
            contact_count=_count_per_account(Contact.objects.filter(BUYING_TEAM)),
            open_opportunity_count=_count_per_account(
                Opportunity.objects.filter(status=OpportunityStatus.OPEN)
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


def segment_members_evaluate(
    *, criteria: Mapping[str, Any], extra_fields: tuple[str, ...] = ()
) -> Iterator[tuple[dict[str, Any], Fit | None]]:
    """Every account (its id, `extra_fields` and firmographics) with its fit if it
    belongs under `criteria` (accounts.fit.segment_member), else None: the one
    membership computation, behind the refresh and the segment form's preview.
    One streamed query; raises accounts.fit.InvalidCriteria on criteria it
    cannot evaluate."""
    rows = Account.objects.values("id", *extra_fields, *FIRMOGRAPHIC_FIELDS).order_by("id")
    for row in rows.iterator(chunk_size=bulk.BATCH_SIZE):
        yield row, segment_member(criteria=criteria, firmographics=firmographics_of(row))


GRADES = (*(grade for _, grade in GRADE_THRESHOLDS), LOWEST_GRADE)
PREVIEW_SAMPLE = 10


@dataclass(frozen=True)
class PreviewAccount:
    id: int
    name: str
    fit_score: int
    fit_grade: str


@dataclass(frozen=True)
class SegmentPreview:
    """Who would belong to a segment with these criteria, before it is saved."""

    accounts_total: int
    members: int
    grades: dict[str, int] = field(default_factory=dict)
    sample: list[PreviewAccount] = field(default_factory=list)


def segment_preview(
    *, criteria: Mapping[str, Any], sample_size: int = PREVIEW_SAMPLE
) -> SegmentPreview:
    """How many accounts would belong under `criteria`, by grade, and the
    best-fitting `sample_size` of them (fit, then name). The refresh's own
    computation (segment_members_evaluate), one streamed query."""
    total = 0
    grades = dict.fromkeys(GRADES, 0)

    def members() -> Iterator[tuple[int, str, int, str]]:
        nonlocal total
        for row, fit in segment_members_evaluate(criteria=criteria, extra_fields=("name",)):
            total += 1
            if fit is not None:
                grades[fit.grade] += 1
                yield -fit.score, row["name"], row["id"], fit.grade

    # nsmallest keeps a heap of sample_size entries, not every member.
    best = heapq.nsmallest(sample_size, members())
    return SegmentPreview(
        accounts_total=total,
        members=sum(grades.values()),
        grades=grades,
        sample=[
            PreviewAccount(id=account_id, name=name, fit_score=-negative, fit_grade=grade)
            for negative, name, account_id, grade in best
        ],
    )


def segment_list_graded() -> list[ICPSegment]:
    """Segments by name, each with its member count and members per fit grade
    (`member_count`, `grade_a` ... `grade_d`). One query."""
    per_grade = {
        f"grade_{grade.lower()}": Count("memberships", filter=Q(memberships__fit_grade=grade))
        for grade in GRADES
    }
    return list(
        ICPSegment.objects.annotate(member_count=Count("memberships"), **per_grade).order_by(
            "name", "id"
        )
    )


def segment_get(*, segment_id: int) -> ICPSegment | None:
    """One segment, or None. One query."""
    return ICPSegment.objects.filter(pk=segment_id).first()


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
