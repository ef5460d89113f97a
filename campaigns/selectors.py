"""Reads of the campaigns app: lists for the API, target selection, audiences."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Aggregate,
    Count,
    Exists,
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


def pipeline_plan_get(*, plan_id: int) -> PipelinePlan:
    """One plan (PipelinePlan.DoesNotExist when there is none)."""
    return PipelinePlan.objects.get(pk=plan_id)


# --- The campaign pages -------------------------------------------------------------


def campaign_get(*, campaign_id: int) -> Campaign:
    """One campaign as `campaign_list` gives it (owner, segment, counts, spend): one query."""
    return campaign_list().get(pk=campaign_id)


def campaign_targets(*, campaign_id: int) -> QuerySet[CampaignTarget]:
    """A campaign's targets with their accounts, by account name (a page of it
    is one query, its count another)."""
    return (
        CampaignTarget.objects.filter(campaign_id=campaign_id)
        .select_related("account")
        .order_by("account__name", "account_id")
    )


def campaign_programs(*, campaign_id: int) -> QuerySet[Program]:
    """A campaign's programs with their spend, by start: one query."""
    return program_list().filter(campaign_id=campaign_id).order_by("starts_on", "name")


def campaign_program_get(*, campaign_id: int, program_id: int) -> Program:
    """One program of the campaign (DoesNotExist when it belongs to another)."""
    return Program.objects.get(pk=program_id, campaign_id=campaign_id)


@dataclass(frozen=True)
class TargetsPreview:
    matching: int
    already: int

    @property
    def new(self) -> int:
        return self.matching - self.already


def targets_preview(*, campaign_id: int, accounts: QuerySet[Any]) -> TargetsPreview:
    """How many of `accounts` (any account queryset: the account list's filters)
    there are and how many are already the campaign's targets: one query."""
    chosen = Account.objects.filter(pk__in=accounts.order_by().values("pk"))
    on_list = CampaignTarget.objects.filter(campaign_id=campaign_id, account_id=OuterRef("pk"))
    counts = chosen.annotate(on_list=Exists(on_list)).aggregate(
        matching=Count("pk"), already=Count("pk", filter=Q(on_list=True))
    )
    return TargetsPreview(matching=counts["matching"], already=counts["already"])


def campaign_name_taken(*, name: str, except_id: int | None = None) -> bool:
    """Whether another campaign has this name (names are unique)."""
    others = Campaign.objects.filter(name=name)
    if except_id is not None:
        others = others.exclude(pk=except_id)
    return others.exists()


def program_clash(*, campaign_id: int, name: str, tracking_key: str,
                  except_id: int | None = None) -> set[str]:  # fmt: skip
    """Which of `name` (within the campaign) and `tracking_key` (anywhere)
    another program already has: one query."""
    others = Program.objects.filter(
        Q(campaign_id=campaign_id, name=name) | Q(tracking_key=tracking_key)
    )
    if except_id is not None:
        others = others.exclude(pk=except_id)
    clash: set[str] = set()
    for other_name, other_campaign, other_key in others.values_list(
        "name", "campaign_id", "tracking_key"
    ):
        if other_key == tracking_key:
            clash.add("tracking_key")
        if other_campaign == campaign_id and other_name == name:
            clash.add("name")
    return clash


# --- One campaign's spend lines (the spend page) -------------------------------------


@dataclass(frozen=True)
class ProgramSpend:
    """A program of the campaign, its spend lines (newest first) and their
    totals by currency (no line: no total, not a total of 0)."""

    program: Program
    lines: list[Spend]
    totals: dict[str, Decimal]


@dataclass(frozen=True)
class CampaignSpend:
    """A campaign's programs with their spend, the totals by currency, and the
    spend in the campaign's own currency against its budget. Lines in another
    currency are totalled apart and never converted."""

    campaign: Campaign
    programs: list[ProgramSpend]
    totals: dict[str, Decimal]
    in_budget_currency: Decimal
    budget_left: Decimal | None
    other_currencies: list[str]

    @property
    def line_count(self) -> int:
        return sum(len(row.lines) for row in self.programs)

    @property
    def over_budget(self) -> Decimal | None:
        """How much the spend in the campaign's currency exceeds the budget, if it does."""
        left = self.budget_left
        return -left if left is not None and left < 0 else None


def _totals(lines: Sequence[Spend]) -> dict[str, Any]:
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.currency] = totals.get(line.currency, Decimal(0)) + line.amount
    return dict(sorted(totals.items()))


def campaign_spend(*, campaign_id: int) -> CampaignSpend:
    """The spend page of one campaign in three queries whatever the number of
    programs and lines (Campaign.DoesNotExist for an unknown id)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    lines = Spend.objects.order_by("-spent_on", "-id")
    programs = list(
        Program.objects.filter(campaign_id=campaign_id)
        .order_by("starts_on", "name", "id")
        .prefetch_related(Prefetch("spend", queryset=lines, to_attr="lines"))
    )
    rows = [ProgramSpend(p, list(p.lines), _totals(p.lines)) for p in programs]
    every_line = [line for row in rows for line in row.lines]
    totals = _totals(every_line)
    in_budget_currency = totals.get(campaign.currency, Decimal(0))
    budget_left = None if campaign.budget is None else campaign.budget - in_budget_currency
    return CampaignSpend(
        campaign=campaign,
        programs=rows,
        totals=totals,
        in_budget_currency=in_budget_currency,
        budget_left=budget_left,
        other_currencies=[c for c in totals if c != campaign.currency],
    )


def spend_line_in_campaign(*, campaign_id: int, spend_id: int) -> Spend:
    """One spend line of one of the campaign's programs, with its program and
    campaign (Spend.DoesNotExist when the line is not the campaign's)."""
    return Spend.objects.select_related("program__campaign").get(
        pk=spend_id, program__campaign_id=campaign_id
    )


def spend_program_choices(*, campaign_id: int) -> list[Program]:
    """The programs a spend line of the campaign may go to, in the page's order."""
    return list(Program.objects.filter(campaign_id=campaign_id).order_by("starts_on", "name", "id"))
