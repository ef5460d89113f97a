"""Writes to campaigns, programs, targets and spend.

Campaigns sits above engagement and accounts; the demo seed (`demo.services`)
and the CSV import registry (`imports`) sit above campaigns.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import imports as account_imports
from accounts.models import Account, Opportunity
from accounts.services import (
    OpportunityRow,
    opportunities_bulk_upsert,
)
from campaigns import metrics, ranking, selectors
from campaigns.holdout import HOLDOUT_FRACTION_DEFAULT, holdout_draw, holdout_key
from campaigns.models import (
    Campaign,
    CampaignTarget,
    PipelinePlan,
    Program,
    ProgramStatus,
    RankingDecision,
    RankingEntry,
    RankingMetric,
    RankingRun,
    RankingTrigger,
    Spend,
)
from campaigns.reports.measurement import measurement_load, programs_with_spend
from campaigns.reports.plans import PlanHistory, plan_history
from campaigns.reports.programs import program_rows
from campaigns.tasks import program_touches_recompute_task
from core import bulk, csvimport
from core.csvimport import Column, ParsedRow, RowError, dates_out_of_range
from core.jobs import JobProgress
from engagement.tracking import tracking_key_normal

BATCH_SIZE = bulk.BATCH_SIZE

OnBatch = bulk.OnBatch


# --- Campaigns and programs -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CampaignRow:
    name: str
    objective: str
    starts_on: date
    ends_on: date
    description: str = ""
    budget: Decimal | None = None
    currency: str = "USD"
    holdout_fraction: Decimal = HOLDOUT_FRACTION_DEFAULT
    holdout_seed: int = 0
    owner_id: int | None = None
    # The segment whose scores measure the campaign's lift.
    segment_id: int | None = None


@transaction.atomic
def campaigns_bulk_upsert(*, rows: Sequence[CampaignRow]) -> dict[str, int]:
    """Insert or update campaigns by name; returns name -> id."""
    objects = [
        Campaign(
            name=row.name,
            objective=row.objective,
            description=row.description,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            budget=row.budget,
            currency=row.currency,
            holdout_fraction=row.holdout_fraction,
            holdout_seed=row.holdout_seed,
            owner_id=row.owner_id,
            segment_id=row.segment_id,
        )
        for row in rows
    ]
    return bulk.bulk_upsert_ids(
        model=Campaign,
        objects=objects,
        key="name",
        update_fields=[
            "objective",
            "description",
            "starts_on",
            "ends_on",
            "budget",
            "currency",
            "holdout_fraction",
            "holdout_seed",
            "owner",
            "segment",
            "updated_at",
        ],
        batch_size=BATCH_SIZE,
        on_batch=None,
    )


@dataclass(frozen=True, slots=True)
class ProgramRow:
    campaign_id: int
    name: str
    channel: str
    starts_on: date
    ends_on: date
    tracking_key: str
    status: str


@transaction.atomic
def programs_bulk_upsert(*, rows: Sequence[ProgramRow]) -> dict[str, int]:
    """Insert or update programs by tracking key (in its normal form,
    `tracking_key_normal`); returns tracking key -> id."""
    objects = [
        Program(
            campaign_id=row.campaign_id,
            name=row.name,
            channel=row.channel,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            tracking_key=tracking_key_normal(row.tracking_key),
            status=row.status,
        )
        for row in rows
    ]
    return bulk.bulk_upsert_ids(
        model=Program,
        objects=objects,
        key="tracking_key",
        update_fields=[
            "campaign",
            "name",
            "channel",
            "starts_on",
            "ends_on",
            "status",
            "updated_at",
        ],
        batch_size=BATCH_SIZE,
        on_batch=None,
    )


@dataclass(frozen=True, slots=True)
class TargetRow:
    campaign_id: int
    account_id: int
    in_holdout: bool


@transaction.atomic
def campaign_targets_bulk_upsert(
    *, rows: Sequence[TargetRow], batch_size: int = BATCH_SIZE, on_batch: OnBatch | None = None
) -> int:
    """Insert or update targets by (campaign, account), holdout flag included."""
    objects = [
        CampaignTarget(
            campaign_id=row.campaign_id, account_id=row.account_id, in_holdout=row.in_holdout
        )
        for row in rows
    ]
    bulk.bulk_upsert(
        model=CampaignTarget,
        objects=objects,
        unique_fields=["campaign", "account"],
        update_fields=["in_holdout"],
        batch_size=batch_size,
        on_batch=on_batch,
    )
    return len(objects)


@dataclass(frozen=True, slots=True)
class SpendRow:
    external_id: str
    program_id: int
    spent_on: date
    amount: Decimal
    currency: str = "USD"
    description: str = ""


@transaction.atomic
def spend_bulk_upsert(
    *, rows: Sequence[SpendRow], batch_size: int = BATCH_SIZE, on_batch: OnBatch | None = None
) -> int:
    """Insert or update spend lines by external_id (the id in the source they came from)."""
    for row in rows:
        if row.amount < 0:
            raise ValueError(f"spend {row.external_id} is negative")
    objects = [
        Spend(
            external_id=row.external_id,
            program_id=row.program_id,
            spent_on=row.spent_on,
            amount=row.amount,
            currency=row.currency,
            description=row.description,
        )
        for row in rows
    ]
    bulk.bulk_upsert(
        model=Spend,
        objects=objects,
        unique_fields=["external_id"],
        update_fields=["program", "spent_on", "amount", "currency", "description"],
        batch_size=batch_size,
        on_batch=on_batch,
    )
    return len(objects)


# --- Spend import (a kind of the `imports` registry) ---------------------------

Records = list[tuple[ParsedRow, dict[str, Any]]]


@transaction.atomic
def spend_import_write(
    *, records: Records, write: bool = True, on_batch: bulk.OnBatch | None = None
) -> bulk.UpsertCounts:
    return bulk.upsert_by_key(
        model=Spend, key="external_id", rows=[v for _, v in records],
        fields=("program_id", "spent_on", "amount", "currency", "description"),
        write=write, on_batch=on_batch,
    ).counts  # fmt: skip


# --- Target lists and the holdout -------------------------------------------------


class CampaignInvalid(ValueError):
    """A campaign write was refused; the message names the field and value."""


def campaign_create(*, values: Mapping[str, Any]) -> Campaign:
    """A new campaign. Without a seed one is drawn, and stored so the holdout is reproducible."""
    fields = dict(values)
    if fields.get("holdout_seed") is None:
        fields["holdout_seed"] = secrets.randbelow(2**62)
    campaign = Campaign(**fields)
    campaign.full_clean(validate_unique=False, validate_constraints=True)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(*, campaign_id: int, values: Mapping[str, Any]) -> Campaign:
    """Change a campaign; a new holdout fraction or seed redraws the holdout."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    before = (campaign.holdout_fraction, campaign.holdout_seed)
    for name, value in values.items():
        setattr(campaign, name, value)
    campaign.full_clean(validate_unique=False, validate_constraints=True)
    campaign.save()
    if (campaign.holdout_fraction, campaign.holdout_seed) != before:
        campaign_holdout_draw(campaign_id=campaign.pk)
    return campaign


@dataclass(frozen=True)
class HoldoutDrawn:
    targets: int
    holdout: int


def _held_out(campaign: Campaign, account_ids: Sequence[int]) -> list[int]:
    """Those of `account_ids` that the campaign's seed and fraction hold out
    (campaigns.holdout: each account decided on its own, by its domain or id)."""
    keys: dict[str, int] = {}
    for chunk in bulk.chunks(sorted(account_ids), bulk.LOOKUP_CHUNK):
        for pk, domain in Account.objects.filter(pk__in=chunk).values_list("pk", "domain"):
            keys[holdout_key(account_id=pk, domain=domain)] = pk
    held = holdout_draw(keys, fraction=campaign.holdout_fraction, seed=campaign.holdout_seed)
    return sorted(keys[key] for key in held)


def _holdout_drawn(campaign_id: int) -> HoldoutDrawn:
    targets = CampaignTarget.objects.filter(campaign_id=campaign_id)
    return HoldoutDrawn(targets=targets.count(), holdout=targets.filter(in_holdout=True).count())


@transaction.atomic
def campaign_holdout_draw(*, campaign_id: int) -> HoldoutDrawn:
    """Draw the holdout of the whole target list again from the campaign's stored
    seed and fraction: what a change of either does. With both unchanged no
    target moves, since each account's arm depends only on them."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    targets = CampaignTarget.objects.filter(campaign_id=campaign_id)
    held = _held_out(campaign, list(targets.values_list("account_id", flat=True)))
    targets.filter(in_holdout=True).update(in_holdout=False)
    for chunk in bulk.chunks(held, bulk.LOOKUP_CHUNK):
        targets.filter(account_id__in=chunk).update(in_holdout=True)
    return _holdout_drawn(campaign_id)


@dataclass(frozen=True)
class TargetsSet:
    added: int
    removed: int
    targets: int
    holdout: int


@transaction.atomic
def campaign_targets_set(
    *, campaign_id: int, account_ids: Sequence[int], replace: bool = False
) -> TargetsSet:
    """Add accounts to a campaign's target list (or make it exactly them). Only
    the new targets are drawn: no existing target changes arm."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    wanted = sorted(set(account_ids))
    existing = set(
        CampaignTarget.objects.filter(campaign_id=campaign_id).values_list("account_id", flat=True)
    )
    new = [pk for pk in wanted if pk not in existing]
    held = set(_held_out(campaign, new))
    CampaignTarget.objects.bulk_create(
        [
            CampaignTarget(campaign_id=campaign_id, account_id=pk, in_holdout=pk in held)
            for pk in new
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )
    removed = 0
    if replace:
        leaving = sorted(existing - set(wanted))
        for chunk in bulk.chunks(leaving, bulk.LOOKUP_CHUNK):
            removed += CampaignTarget.objects.filter(
                campaign_id=campaign_id, account_id__in=chunk
            ).delete()[0]
    drawn = _holdout_drawn(campaign_id)
    return TargetsSet(added=len(new), removed=removed, targets=drawn.targets, holdout=drawn.holdout)


def campaign_targets_from_criteria(
    *, campaign_id: int, criteria: selectors.TargetCriteria, replace: bool = False
) -> TargetsSet:
    """Target the accounts a segment and firmographic filters select."""
    return campaign_targets_set(
        campaign_id=campaign_id,
        account_ids=list(selectors.accounts_matching(criteria=criteria)),
        replace=replace,
    )


TARGET_COLUMNS = (
    Column("domain", account_imports._domain,
           aliases=("account_domain", "company_domain", "company_domain_name", "website")),
    Column("external_id", csvimport.text(100),
           aliases=("account_external_id", "account_id", "crm_id", "record_id")),
)  # fmt: skip


class TargetsRejected(ValueError):
    """Rows of a target list name no known account; nothing was changed."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:20]))
        self.errors = errors


def campaign_targets_import(
    *, campaign_id: int, data: bytes | str, replace: bool = False
) -> TargetsSet:
    """A target list uploaded as CSV: one account per row, by domain or CRM id.
    All or nothing: any unknown account refuses the whole file (TargetsRejected)."""
    parsed = csvimport.read_rows(data, columns=TARGET_COLUMNS)
    domains = sorted({v for r in parsed.rows if (v := r.values.get("domain"))})
    external_ids = sorted({v for r in parsed.rows if (v := r.values.get("external_id"))})
    by_domain = bulk.ids_by_natural_key(model=Account, field_name="domain", keys=domains)
    by_external = bulk.ids_by_natural_key(
        model=Account, field_name="external_id", keys=external_ids
    )
    account_ids: list[int] = []
    for row in parsed.rows:
        domain, external_id = row.values.get("domain"), row.values.get("external_id")
        found = by_domain.get(domain) if domain else None
        if found is None and external_id:
            found = by_external.get(external_id)
        if found is not None:
            account_ids.append(found)
        elif not domain and not external_id and not row.errors:
            row.errors.append(RowError(row.row, "domain", "", "needs a domain or external_id"))
        elif not row.errors:
            column, value = ("domain", row.raw.get("domain", domain)) if domain else (
                "external_id", external_id)  # fmt: skip
            row.errors.append(RowError(row.row, column, str(value), "no account with this value"))
    errors = [error for row in parsed.rows for error in row.errors]
    if errors:
        raise TargetsRejected(errors)
    return campaign_targets_set(campaign_id=campaign_id, account_ids=account_ids, replace=replace)


# --- Programs, spend and opportunities through the API ------------------------------


def _model_write(instance: Any, values: Mapping[str, Any]) -> Any:
    for name, value in values.items():
        setattr(instance, name, value)
    instance.full_clean(validate_unique=False, validate_constraints=True)
    instance.save()
    return instance


@transaction.atomic
def program_save(*, program_id: int | None, values: Mapping[str, Any]) -> Program:
    """Create or change a program."""
    program = Program() if program_id is None else Program.objects.get(pk=program_id)
    key_before = program.tracking_key
    program = _model_write(program, values)
    if program.tracking_key != key_before:
        # Activity may carry the key already (ads run before the program is entered).
        pk = program.pk
        transaction.on_commit(lambda: program_touches_recompute_task.delay(pk))
    return program


@transaction.atomic
def spend_save(*, spend_id: int | None, values: Mapping[str, Any]) -> Spend:
    """Create or change one spend line."""
    spend = Spend() if spend_id is None else Spend.objects.get(pk=spend_id)
    return _model_write(spend, values)


@transaction.atomic
def spend_delete(*, spend_id: int) -> None:
    """Remove one spend line (Spend.DoesNotExist when it is already gone)."""
    Spend.objects.select_for_update().get(pk=spend_id).delete()


@transaction.atomic
def opportunity_upsert(*, values: Mapping[str, Any]) -> Opportunity:
    """An opportunity from the API, upserted by its CRM id like the CSV import."""
    fields = {"close_on": None, "source": "other", "amount": None, **values}
    Opportunity(**fields).full_clean(validate_unique=False, validate_constraints=True)
    opportunities_bulk_upsert(rows=[OpportunityRow(**fields)])
    return Opportunity.objects.get(external_id=values["external_id"])


# --- Program ranking ---------------------------------------------------------------


_METRIC_COLUMN = {
    RankingMetric.PIPELINE_PER_SPEND: "pipeline_per_spend",
    RankingMetric.WON_PER_SPEND: "won_revenue_per_spend",
    RankingMetric.LIFT_PER_SPEND: "lift_per_spend",
    RankingMetric.OPPORTUNITIES_PER_SPEND: "opportunities_per_spend",
}


@transaction.atomic
def ranking_run(
    *,
    start: date,
    end: date,
    metric: str = RankingMetric.PIPELINE_PER_SPEND,
    flag_fraction: Decimal = Decimal("0.1"),
    trigger: str = RankingTrigger.MANUAL,
    user_id: int | None = None,
    window_days: int = metrics.INFLUENCE_WINDOW_DAYS,
    progress: JobProgress | None = None,
) -> RankingRun:
    """Rank the programs with spend in the period whose influence window has
    closed by its end and flag the bottom ceil(fraction * n) of those; programs
    with spend whose window is still open are stored unranked as too early to
    judge, and programs running in the period without spend unranked, listed
    apart. Stored whole in one transaction. Run as a job (from the ranking
    page), it reports one step for reading the period and one per program
    measured, and ends with what the run found."""
    if metric not in _METRIC_COLUMN:
        raise ValueError(f"metric {metric!r} is not one of {', '.join(_METRIC_COLUMN)}")
    data = measurement_load(start=start, end=end, window_days=window_days)
    spenders = sorted(programs_with_spend(data))
    if progress is not None:
        progress.set_total(len(spenders) + 1)
        progress.advance(message="Read the period's spend, touches and deals")
    rows: dict[int, dict[str, Any]] = {}
    for program_id in spenders:
        # One program at a time (the same rows as all at once), so a job can
        # report as it goes.
        rows.update(
            {row["program_id"]: row for row in program_rows(data, program_ids=[program_id])}
        )
        if progress is not None:
            progress.advance()
    for row in rows.values():
        row["opportunities_per_spend"] = metrics.ratio(
            row["opportunities_attributed"], row["spend"]
        )
    column = _METRIC_COLUMN[RankingMetric(metric)]
    too_early = {
        pk for pk in rows
        if ranking.too_early_to_judge(program_ends_on=data.programs[pk]["ends_on"],
                                      period_end=end, window_days=window_days)
    }  # fmt: skip
    ranked = ranking.programs_rank(
        [ranking.Candidate(pk, row["spend"], row[column]) for pk, row in rows.items()
         if pk not in too_early],
        fraction=flag_fraction,
    )  # fmt: skip
    run = RankingRun.objects.create(
        period_start=start, period_end=end, metric=metric, flag_fraction=flag_fraction,
        trigger=trigger, created_by_id=user_id, window_days=window_days,
    )  # fmt: skip
    entries = [
        RankingEntry(run=run, program_id=r.program_id, rank=r.rank, is_flagged=r.flagged,
                     spend=rows[r.program_id]["spend"], metric_value=rows[r.program_id][column],
                     pipeline=rows[r.program_id]["pipeline_attributed"],
                     lift=rows[r.program_id]["lift"])
        for r in ranked
    ]  # fmt: skip
    entries += [
        RankingEntry(run=run, program_id=pk, rank=None, too_early=True, spend=rows[pk]["spend"],
                     metric_value=rows[pk][column], pipeline=rows[pk]["pipeline_attributed"],
                     lift=rows[pk]["lift"])
        for pk in sorted(too_early)
    ]  # fmt: skip
    idle = [
        pk for pk, p in sorted(data.programs.items())
        if pk not in rows and p["starts_on"] <= end and p["ends_on"] >= start
    ]  # fmt: skip
    entries += [RankingEntry(run=run, program_id=pk, rank=None) for pk in idle]
    RankingEntry.objects.bulk_create(entries, batch_size=BATCH_SIZE)
    if progress is not None:
        flagged = sum(r.flagged for r in ranked)
        progress.finish(
            message=f"Run {run.pk} stored: {len(ranked)} programs judged, {flagged} flagged, "
            f"{len(too_early)} too early to judge.",
            result={"run_id": run.pk},
        )
    return run


class DecisionRefused(ValueError):
    """Only flagged entries take a cut/kept decision."""


@transaction.atomic
def ranking_entry_decide(
    *, entry_id: int, decision: str, note: str, user_id: int | None
) -> RankingEntry:
    """A marketer's call on a flagged program: cut (the program's status becomes
    cut) or kept, with a note."""
    entry = RankingEntry.objects.select_for_update().get(pk=entry_id)
    if not entry.is_flagged:
        raise DecisionRefused(
            f"{entry.program.name} (entry {entry_id}) is not flagged in this run: only "
            "flagged programs are marked cut or kept"
        )
    if decision not in (RankingDecision.CUT, RankingDecision.KEPT):
        raise DecisionRefused(f"decision {decision!r} must be cut or kept")
    entry.decision, entry.decision_note = decision, note
    entry.decided_by_id, entry.decided_at = user_id, timezone.now()
    entry.save(update_fields=["decision", "decision_note", "decided_by", "decided_at"])
    if decision == RankingDecision.CUT:
        Program.objects.filter(pk=entry.program_id).update(
            status=ProgramStatus.CUT, updated_at=timezone.now()
        )
    return entry


# --- Pipeline plan -----------------------------------------------------------------


PLAN_FIGURES = ("win_rate", "average_deal_size", "cycle_time_days")


def _history_figures(history: PlanHistory) -> dict[str, Any]:
    """The plan figures the history gives, as the plan stores them; a figure
    it cannot give (no closed deal, no won deal, no won amount) is absent."""
    figures = history.figures
    given: dict[str, Any] = {}
    if figures.win_rate is not None and figures.win_rate > 0:
        given["win_rate"] = Decimal(str(round(figures.win_rate, 4)))
    if figures.average_deal_size:
        given["average_deal_size"] = Decimal(str(round(figures.average_deal_size, 2)))
    if figures.cycle_time_days is not None:
        given["cycle_time_days"] = round(figures.cycle_time_days)
    return given


def _too_little_history(history: PlanHistory, names: Sequence[str]) -> ValidationError:
    window = f"between {history.since:%d %b %Y} and {history.last_day:%d %b %Y}"
    figures = history.figures
    said = (
        f"Too little history to fill this: {figures.won} deal(s) won and {figures.lost} lost "
        f"{window}. Enter it by hand or look further back."
    )
    return ValidationError(dict.fromkeys(names, said))


@transaction.atomic
def pipeline_plan_fill_from_history(*, plan_id: int, lookback_days: int = 365) -> PipelinePlan:
    """Win rate, average deal size and cycle time from the deals closed in the
    `lookback_days` before the plan's period (`reports.plans.plan_history`, the
    deals the plan page lists). Refused when no deal was won in that window
    (history then gives none of the three); a single figure it cannot give
    (won deals without amounts: no deal size) is left as it was."""
    plan = PipelinePlan.objects.select_for_update().get(pk=plan_id)
    history = plan_history(period_start=plan.period_start, lookback_days=lookback_days)
    given = _history_figures(history)
    if not given:
        raise _too_little_history(history, ["lookback_days"])
    return _model_write(plan, given)


@transaction.atomic
def pipeline_plan_create(*, values: Mapping[str, Any], lookback_days: int = 365) -> PipelinePlan:
    """A plan from its revenue target (name, period, target, currency); each of
    win rate, deal size and cycle time not given (None) is filled from the
    deals closed in the `lookback_days` before the period, as the fill does.
    Refused, naming the figures, when history cannot give one that is missing."""
    wanted = {name: value for name, value in values.items() if value is not None}
    # Before the history is read: its window before the period would leave the calendar.
    refused = dates_out_of_range(
        period_start=wanted.get("period_start"), period_end=wanted.get("period_end")
    )
    if refused:
        raise ValidationError(refused)
    missing = [name for name in PLAN_FIGURES if name not in wanted]
    if missing:
        history = plan_history(period_start=wanted["period_start"], lookback_days=lookback_days)
        given = _history_figures(history)
        unfilled = [name for name in missing if name not in given]
        if unfilled:
            raise _too_little_history(history, unfilled)
        wanted.update({name: given[name] for name in missing})
    return _model_write(PipelinePlan(), wanted)


def pipeline_plan_save(*, plan_id: int | None, values: Mapping[str, Any]) -> PipelinePlan:
    plan = PipelinePlan() if plan_id is None else PipelinePlan.objects.get(pk=plan_id)
    return _model_write(plan, values)
