"""Reads of the campaigns app: lists for the API, target selection, audiences."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Aggregate,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from accounts.models import Account, Opportunity, SegmentMembership
from campaigns.models import (
    Campaign,
    CampaignTarget,
    PipelinePlan,
    Program,
    RankingDecision,
    RankingEntry,
    RankingRun,
    Spend,
)


@dataclass(frozen=True)
class TargetCriteria:
    """Which accounts a target list takes: segment members (optionally by fit)
    and firmographic filters; every given condition must hold."""

    segment_id: int | None = None
    fit_grades: Sequence[str] = ()
    min_fit: int | None = None
    tiers: Sequence[int] = ()
    industries: Sequence[str] = ()
    countries: Sequence[str] = ()
    is_target: bool | None = None
    is_customer: bool | None = None


def accounts_matching(*, criteria: TargetCriteria) -> QuerySet[Account, int]:
    """Ids of the accounts the criteria select (one query when evaluated)."""
    accounts = Account.objects.all()
    if criteria.segment_id is not None:
        members = SegmentMembership.objects.filter(segment_id=criteria.segment_id)
        if criteria.fit_grades:
            members = members.filter(fit_grade__in=list(criteria.fit_grades))
        if criteria.min_fit is not None:
            members = members.filter(fit_score__gte=criteria.min_fit)
        accounts = accounts.filter(pk__in=members.values("account_id"))
    if criteria.tiers:
        accounts = accounts.filter(tier__in=list(criteria.tiers))
    if criteria.industries:
        accounts = accounts.filter(industry__in=list(criteria.industries))
    if criteria.countries:
        accounts = accounts.filter(country__in=[c.upper() for c in criteria.countries])
    if criteria.is_target is not None:
        accounts = accounts.filter(is_target=criteria.is_target)
    if criteria.is_customer is not None:
        accounts = accounts.filter(is_customer=criteria.is_customer)
    return accounts.order_by("pk").values_list("pk", flat=True)


def _per_outer_row(rows: QuerySet[Any], *, outer: str, aggregate: Aggregate) -> QuerySet[Any]:
    """`aggregate` over those of `rows` whose `outer` field is the outer query's
    row: a correlated subquery giving one value per outer row (a count, a total).
    The empty order_by() matters: a default ordering would join the GROUP BY and
    split the groups."""
    return (
        rows.filter(**{outer: OuterRef("pk")})
        .order_by()
        .values(outer)
        .annotate(value=aggregate)
        .values("value")
    )


def campaign_list() -> QuerySet[Campaign]:
    """Campaigns with owner, target and holdout counts, program count and spend: one query."""
    programs = _per_outer_row(Program.objects.all(), outer="campaign_id", aggregate=Count("pk"))
    spend = _per_outer_row(
        Spend.objects.all(), outer="program__campaign_id", aggregate=Sum("amount")
    )
    return (
        Campaign.objects.select_related("owner", "segment")
        .annotate(
            target_count=Count("targets"),
            holdout_count=Count("targets", filter=Q(targets__in_holdout=True)),
            program_count=Coalesce(Subquery(programs, output_field=IntegerField()), 0),
            spend_total=Subquery(spend),
        )
        .order_by("-starts_on", "name")
    )


def campaign_audience(*, campaign_id: int) -> Iterator[tuple[int, str, str | None, str | None]]:
    """The accounts a campaign's audiences may reach: its targets minus the holdout,
    streamed (id, name, domain, external id)."""
    return (
        CampaignTarget.objects.filter(campaign_id=campaign_id, in_holdout=False)
        .order_by("account_id")
        .values_list("account_id", "account__name", "account__domain", "account__external_id")
        .iterator(chunk_size=2000)
    )


def program_list() -> QuerySet[Program]:
    """Programs with their campaign and total spend: one query."""
    spend = _per_outer_row(Spend.objects.all(), outer="program_id", aggregate=Sum("amount"))
    return (
        Program.objects.select_related("campaign")
        .annotate(spend_total=Subquery(spend))
        .order_by("campaign__name", "starts_on", "name")
    )


def spend_list() -> QuerySet[Spend]:
    return Spend.objects.select_related("program").order_by("-spent_on", "id")


def opportunity_list() -> QuerySet[Opportunity]:
    return Opportunity.objects.select_related("account").order_by("-opened_on", "id")


def ranking_runs() -> QuerySet[RankingRun]:
    """Runs with their entries, programs and deciders: two queries for a page."""
    entries = RankingEntry.objects.select_related("program", "decided_by").order_by(
        F("rank").asc(nulls_last=True), "program__name"
    )
    return (
        RankingRun.objects.select_related("created_by")
        .prefetch_related(Prefetch("entries", queryset=entries))
        .order_by("-created_at", "-id")
    )


def ranking_run_get(*, run_id: int) -> RankingRun:
    """One run as `ranking_runs` lists it (entries, programs, deciders)."""
    return ranking_runs().get(pk=run_id)


def ranking_run_summaries() -> QuerySet[RankingRun]:
    """Runs newest first, each with its counts, in one query whatever the
    number of entries: `judged` (ranked), `flagged`, `too_early_count`,
    `without_spend`, `decided` and `pending` (flagged, no decision yet)."""
    ranked = Q(entries__rank__isnull=False)
    flagged = Q(entries__is_flagged=True)
    return (
        RankingRun.objects.select_related("created_by")
        .annotate(
            judged=Count("entries", filter=ranked),
            flagged=Count("entries", filter=flagged),
            too_early_count=Count("entries", filter=Q(entries__too_early=True)),
            without_spend=Count(
                "entries", filter=Q(entries__rank__isnull=True, entries__too_early=False)
            ),
            decided=Count(
                "entries", filter=flagged & ~Q(entries__decision=RankingDecision.PENDING)
            ),
            pending=Count("entries", filter=flagged & Q(entries__decision=RankingDecision.PENDING)),
        )
        .order_by("-created_at", "-id")
    )


def ranking_entry_in_run(*, entry_id: int, run_id: int) -> bool:
    return RankingEntry.objects.filter(pk=entry_id, run_id=run_id).exists()


def campaign_periods() -> QuerySet[Campaign]:
    """Campaigns with their dates, from which a campaign report takes its period."""
    return Campaign.objects.all()


def pipeline_plan_list() -> QuerySet[PipelinePlan]:
    return PipelinePlan.objects.order_by("-period_start", "name")
