"""Campaign measurement selectors (DESIGN 5): per program, campaign and channel,
for any period, in a fixed number of queries whatever the number of programs,
accounts or opportunities.

`measurement_load` reads everything a report needs in eleven queries (more only to compute
scores a snapshot is missing for: `target_scores`); the rest
is plain Python over those rows, with the math in `campaigns.metrics`.
Definitions (see also the README's "Campaign measurement" section):

- touched: an account with a touch by the program whose [first, last] touch
  overlaps the period; engaged / qualified: a touched (or, for the funnel,
  targeted) account whose score reached the segment model's engaged / qualified
  band on some day of the period (daily snapshots);
- lift: score change from the period's start day to its end day (each day's
  score is its snapshot, or where none was taken, the score computed exactly
  from the activity stored by the end of that day: `target_scores`); a
  campaign compares all its treated targets with its holdout (intention to
  treat); a program or channel compares the treated targets it touched with
  the holdouts of the campaigns involved;
- opportunities: opened in the period, on an account the program first touched
  at most `window_days` before (influenced: full credit; attributed: an even
  share among every program so influencing it, which adds up to the whole).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db.models import Max, Sum
from django.utils import timezone

from accounts.models import Opportunity, OpportunityStatus, SegmentMembership
from campaigns import metrics
from campaigns.models import Campaign, CampaignTarget, Channel, Program, Spend, Touch
from engagement.models import Activity, EngagementSnapshot, ScoringModel
from engagement.rollup import snapshots

INFLUENCE_WINDOW_DAYS = 90
ZERO = Decimal(0)


@dataclass(frozen=True)
class Deal:
    id: int
    # None: not assigned to an account yet. Such a deal counts in the period's
    # pipeline, no program influenced it (influence goes through the account)
    # and it is no targeted or engaged account's opportunity.
    account_id: int | None
    amount: Decimal
    status: str
    source: str
    opened_on: dt.date
    close_on: dt.date | None
    # False when the CRM gave no amount: `amount` is then 0 in sums, and the
    # deal is still counted, with `opportunities_without_amount` saying so.
    has_amount: bool = True


@dataclass
class MeasurementData:
    start: dt.date
    end: dt.date
    window_days: int
    programs: dict[int, dict[str, Any]]
    campaigns: dict[int, dict[str, Any]]
    spend: dict[int, Decimal]
    touched: dict[int, set[int]]
    engaged: set[int]
    qualified: set[int]
    # campaign -> account -> (in_holdout, score change or None)
    targets: dict[int, dict[int, tuple[bool, float | None]]]
    deals: dict[int, Deal]
    # opportunity -> programs influencing it (over all programs)
    influencers: dict[int, set[int]] = field(default_factory=dict)
    # Why no lift can be measured for the period (outside the data), else None.
    lift_reason: str | None = None


def _data_before(day: dt.date) -> bool:
    """Whether anything is stored on or before `day`: an activity before its end
    or a snapshot. Activity is stored in time order, so an EXISTS over it stops
    at one of the first rows whenever history goes back that far."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    return (
        Activity.objects.filter(occurred_at__lt=end).exists()
        or EngagementSnapshot.objects.filter(day__lte=day).exists()
    )


def target_scores(
    *, start: dt.date, end: dt.date, segment_of: dict[int, int | None]
) -> tuple[dict[int, dict[int, tuple[bool, float | None]]], str | None]:
    """Each campaign target's score change from `start` to `end`: campaign ->
    account -> (in holdout, change or None), and why nothing can be measured
    for the period (None when it can).

    A target's score on a day, in its campaign's segment (`segment_of`; a
    campaign without one: the highest over the segments the account is in), is
    that day's snapshot, or where none was taken the score computed exactly
    from the activity stored by the end of the day (`snapshots.scores_as_of`):
    never guessed. A target with no activity by then scores 0, a real zero. A
    target outside the segment has no score there: its change is None (not
    measured). A period ending after today, or starting before any stored
    activity or snapshot, is outside the data: every change is None and the
    reason says why. Three queries, plus a fixed few per (segment, day) that
    lacks a snapshot for some member target, whatever the number of targets.
    """
    rows = list(
        CampaignTarget.objects.values_list("campaign_id", "account_id", "in_holdout").order_by(
            "campaign_id", "account_id"
        )
    )
    targets: dict[int, dict[int, tuple[bool, float | None]]] = defaultdict(dict)
    today = timezone.now().date()
    reason = None
    if end > today:
        reason = (
            f"the period ends on {end}, after today ({today}): scores on days to come are "
            "not known yet"
        )
    if reason is not None or not rows:
        for campaign_id, account_id, in_holdout in rows:
            targets[campaign_id][account_id] = (in_holdout, None)
        return dict(targets), reason
    target_accounts = CampaignTarget.objects.values("account_id")
    member_of: dict[int, set[int]] = defaultdict(set)
    for account_id, segment_id in SegmentMembership.objects.filter(
        account_id__in=target_accounts
    ).values_list("account_id", "segment_id"):
        member_of[account_id].add(segment_id)
    days = (start, end)
    scores: dict[tuple[int, int, dt.date], float] = {
        (account_id, segment_id, day): score
        for account_id, segment_id, day, score in EngagementSnapshot.objects.filter(
            account_id__in=target_accounts, day__in=days
        ).values_list("account_id", "segment_id", "day", "score")
    }

    def segments(campaign_id: int, account_id: int) -> set[int]:
        own = segment_of.get(campaign_id)
        return {own} if own is not None else member_of.get(account_id, set())

    missing = {
        (segment_id, day)
        for campaign_id, account_id, _ in rows
        for segment_id in segments(campaign_id, account_id) & member_of.get(account_id, set())
        for day in days
        if (account_id, segment_id, day) not in scores
    }
    if any(day == start for _, day in missing) and not _data_before(start):
        reason = (
            f"the period starts on {start}, before any stored activity or score: there is "
            "no history to measure its start from"
        )
        for campaign_id, account_id, in_holdout in rows:
            targets[campaign_id][account_id] = (in_holdout, None)
        return dict(targets), reason
    for segment_id, day in sorted(missing):
        for account_id, score in snapshots.scores_as_of(
            segment_id=segment_id, day=day, accounts=target_accounts
        ).items():
            scores.setdefault((account_id, segment_id, day), score)

    def score_on(campaign_id: int, account_id: int, day: dt.date) -> float | None:
        found = [
            scores[key]
            for segment_id in segments(campaign_id, account_id)
            if (key := (account_id, segment_id, day)) in scores
        ]
        return max(found, default=None)

    for campaign_id, account_id, in_holdout in rows:
        before, after = (
            score_on(campaign_id, account_id, start),
            score_on(campaign_id, account_id, end),
        )
        change = None if before is None or after is None else after - before
        targets[campaign_id][account_id] = (in_holdout, change)
    return dict(targets), None


def measurement_load(
    *, start: dt.date, end: dt.date, window_days: int = INFLUENCE_WINDOW_DAYS
) -> MeasurementData:
    """Everything a measurement report needs, in eleven queries while snapshots cover
    the targets' scores on the period's first and last days."""
    if end < start:
        raise ValueError(f"period end {end} is before its start {start}")
    campaigns: dict[int, dict[str, Any]] = {
        row["id"]: dict(row)
        for row in Campaign.objects.values("id", "name", "objective", "starts_on", "ends_on",
                                           "budget", "holdout_fraction", "segment_id")
    }  # fmt: skip
    programs: dict[int, dict[str, Any]] = {
        row["id"]: dict(row)
        for row in Program.objects.values("id", "name", "campaign_id", "channel", "status",
                                          "tracking_key", "starts_on", "ends_on")
    }  # fmt: skip
    spend = dict(
        Spend.objects.filter(spent_on__range=(start, end))
        .values("program_id")
        .annotate(total=Sum("amount"))
        .values_list("program_id", "total")
    )
    period_start = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    period_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    touched: dict[int, set[int]] = defaultdict(set)
    for program_id, account_id in Touch.objects.filter(
        first_touch_at__lt=period_end, last_touch_at__gte=period_start
    ).values_list("program_id", "account_id"):
        touched[program_id].add(account_id)

    # Engaged / qualified: the best score of each (account, segment, model
    # version) over the period against that version's bands.
    bands = {
        (segment, version): (engaged_min, qualified_min)
        for segment, version, engaged_min, qualified_min in ScoringModel.objects.values_list(
            "segment_id", "version", "engaged_min", "qualified_min"
        )
    }
    engaged: set[int] = set()
    qualified: set[int] = set()
    for account_id, segment_id, version, top in (
        EngagementSnapshot.objects.filter(day__range=(start, end))
        .values("account_id", "segment_id", "model_version")
        .annotate(top=Max("score"))
        .values_list("account_id", "segment_id", "model_version", "top")
    ):
        engaged_min, qualified_min = bands.get((segment_id, version), (41, 61))
        if top >= engaged_min:
            engaged.add(account_id)
        if top >= qualified_min:
            qualified.add(account_id)

    targets, lift_reason = target_scores(
        start=start, end=end,
        segment_of={pk: campaign["segment_id"] for pk, campaign in campaigns.items()},
    )  # fmt: skip

    deals = {
        row[0]: Deal(
            row[0], row[1], row[2] or ZERO, row[3], row[4], row[5], row[6], row[2] is not None
        )
        for row in Opportunity.objects.filter(opened_on__range=(start, end)).values_list(
            "id", "account_id", "amount", "status", "source", "opened_on", "close_on"
        )
    }
    data = MeasurementData(start, end, window_days, programs, campaigns, spend, dict(touched),
                           engaged, qualified, targets, deals,
                           lift_reason=lift_reason)  # fmt: skip
    # Influence: every program whose first touch on the deal's account came at
    # most window_days before it opened (coarse bounds in SQL, exact in Python).
    earliest = dt.datetime.combine(start - dt.timedelta(days=window_days + 1), dt.time.min,
                                   tzinfo=dt.UTC)  # fmt: skip
    influencers: dict[int, set[int]] = defaultdict(set)
    for program_id, first_touch_at, deal_id, opened_on in (
        Touch.objects.filter(first_touch_at__gte=earliest, first_touch_at__lt=period_end)
        .filter(account__opportunities__opened_on__range=(start, end))
        .values_list("program_id", "first_touch_at", "account__opportunities__id",
                     "account__opportunities__opened_on")
    ):  # fmt: skip
        if metrics.influenced(first_touch=first_touch_at.astimezone(dt.UTC).date(),
                              opened_on=opened_on, window_days=window_days):  # fmt: skip
            influencers[deal_id].add(program_id)
    data.influencers = dict(influencers)
    return data


# --- Aggregation over the loaded rows -----------------------------------------------


def _credit(data: MeasurementData, program_ids: set[int]) -> dict[str, Any]:
    """Opportunities, pipeline and won revenue the programs influenced and their
    attributed share (even split among all influencing programs)."""
    out: dict[str, Any] = {
        "opportunities_influenced": 0, "opportunities_attributed": 0.0,
        "pipeline_influenced": ZERO, "pipeline_attributed": ZERO,
        "won_influenced": 0, "won_attributed": 0.0,
        "won_revenue_influenced": ZERO, "won_revenue_attributed": ZERO,
    }  # fmt: skip
    deal_ids: set[int] = set()
    for deal_id, programs in data.influencers.items():
        mine = programs & program_ids
        if not mine:
            continue
        deal = data.deals[deal_id]
        deal_ids.add(deal_id)
        share = sum(metrics.even_split(deal.amount, programs)[p] for p in mine)
        count_share = len(mine) * metrics.even_share(len(programs))
        out["opportunities_influenced"] += 1
        out["opportunities_attributed"] += count_share
        out["pipeline_influenced"] += deal.amount
        out["pipeline_attributed"] += share
        if deal.status == OpportunityStatus.WON:
            out["won_influenced"] += 1
            out["won_attributed"] += count_share
            out["won_revenue_influenced"] += deal.amount
            out["won_revenue_attributed"] += share
    out["_deal_ids"] = deal_ids
    return out


# --- Reconciliation: attributed + influenced by no program = the period's pipeline ---

NO_PROGRAM = "(influenced by no program)"
OTHER_PROGRAMS = "(attributed to programs not listed)"
PERIOD_TOTAL = "(period total: all opportunities opened in the period)"


def _deal_totals(deals: Iterable[Deal]) -> dict[str, Any]:
    """Counts and amounts of deals in the columns of the attributed credit."""
    chosen = list(deals)
    won = [d for d in chosen if d.status == OpportunityStatus.WON]
    count, won_count = len(chosen), len(won)
    pipeline = sum((d.amount for d in chosen), ZERO)
    won_revenue = sum((d.amount for d in won), ZERO)
    return {
        "opportunities_influenced": count, "opportunities_attributed": float(count),
        "pipeline_influenced": pipeline, "pipeline_attributed": pipeline,
        "won_influenced": won_count, "won_attributed": float(won_count),
        "won_revenue_influenced": won_revenue, "won_revenue_attributed": won_revenue,
        "opportunities_without_amount": sum(1 for d in chosen if not d.has_amount),
    }  # fmt: skip


def pipeline_no_program(data: MeasurementData) -> dict[str, Any]:
    """The period's opportunities that no program influenced (no first touch by
    any program in the influence window before the deal opened)."""
    return _deal_totals(d for pk, d in data.deals.items() if pk not in data.influencers)


def pipeline_period_total(data: MeasurementData) -> dict[str, Any]:
    """Every opportunity opened in the period, influenced or not."""
    return _deal_totals(data.deals.values())


def pipeline_lines(
    data: MeasurementData, *, label: str, listed_program_ids: set[int]
) -> list[dict[str, Any]]:
    """The lines under a pipeline report's rows that make it add up: what the
    listed rows do not cover (credit of programs not listed, when some are not),
    the "influenced by no program" line, then the period's total. The listed
    rows' attributed columns plus the lines before the total equal the total,
    in amount and in count."""
    lines: list[dict[str, Any]] = []
    others = set(data.programs) - listed_program_ids
    if others:
        credit = _credit(data, others)
        credit.pop("_deal_ids")
        lines.append({label: OTHER_PROGRAMS, **credit})
    lines.append({label: NO_PROGRAM, **pipeline_no_program(data)})
    lines.append({label: PERIOD_TOTAL, **pipeline_period_total(data)})
    return lines


def _lift(data: MeasurementData, *, campaign_ids: set[int], touched: set[int] | None) -> Any:
    """Treated (all, or only the touched) targets against the campaigns' holdouts."""
    treated: list[float] = []
    holdout: list[float] = []
    not_measured = 0
    for campaign_id in sorted(campaign_ids):
        for account_id, (in_holdout, delta) in data.targets.get(campaign_id, {}).items():
            if not in_holdout and touched is not None and account_id not in touched:
                continue
            if delta is None:
                not_measured += 1
            elif in_holdout:
                holdout.append(delta)
            else:
                treated.append(delta)
    if data.lift_reason is not None:
        return metrics.lift_unavailable(data.lift_reason, not_measured=not_measured)
    return replace(metrics.lift_welch(treated, holdout), not_measured=not_measured)


def group_metrics(
    data: MeasurementData, *, program_ids: set[int], campaign_ids: set[int], whole_campaign: bool
) -> dict[str, Any]:
    """Every DESIGN 5 number for a set of programs (a program, a campaign's, a channel's)."""
    spend = sum((data.spend.get(p, ZERO) for p in program_ids), ZERO)
    touched: set[int] = set().union(*(data.touched.get(p, set()) for p in program_ids))
    targeted = {a for c in campaign_ids for a, (held, _) in data.targets.get(c, {}).items()
                if not held}  # fmt: skip
    engaged, qualified = touched & data.engaged, touched & data.qualified
    lift = _lift(data, campaign_ids=campaign_ids, touched=None if whole_campaign else touched)
    credit = _credit(data, program_ids)
    deal_ids = credit.pop("_deal_ids")
    deal_accounts = {data.deals[d].account_id for d in deal_ids}
    row: dict[str, Any] = {
        "spend": spend,
        "accounts_targeted": len(targeted),
        "accounts_touched": len(touched),
        "accounts_engaged": len(engaged),
        "accounts_qualified": len(qualified),
        "lift": asdict(lift),
        **credit,
        "cost_per_engaged_account": metrics.ratio(spend, len(engaged)),
        "cost_per_qualified_account": metrics.ratio(spend, len(qualified)),
        "cost_per_opportunity": metrics.ratio(spend, credit["opportunities_attributed"]),
        "cost_per_acquisition": metrics.ratio(spend, credit["won_attributed"]),
        "pipeline_per_spend": metrics.ratio(credit["pipeline_attributed"], spend),
        "won_revenue_per_spend": metrics.ratio(credit["won_revenue_attributed"], spend),
        "lift_per_spend": metrics.ratio(lift.estimate, spend),
        "engaged_to_opportunity": metrics.ratio(len(engaged & deal_accounts), len(engaged)),
        "qualified_to_opportunity": metrics.ratio(len(qualified & deal_accounts), len(qualified)),
        "close_rate": metrics.ratio(credit["won_influenced"], credit["opportunities_influenced"]),
        "win_rate": _win_rate(data.deals[d] for d in deal_ids),
    }
    return row


def _win_rate(deals: Iterable[Deal]) -> float | None:
    statuses = [d.status for d in deals]
    return metrics.win_rate(won=statuses.count("won"), lost=statuses.count("lost"))


def _program_ids_of(data: MeasurementData, campaign_id: int) -> set[int]:
    return {pk for pk, p in data.programs.items() if p["campaign_id"] == campaign_id}


def program_rows(data: MeasurementData, *, program_ids: Sequence[int] | None = None) -> list[dict]:
    rows = []
    for pk in sorted(program_ids if program_ids is not None else data.programs):
        program = data.programs[pk]
        campaign = data.campaigns[program["campaign_id"]]
        rows.append({
            "program_id": pk, "program": program["name"], "campaign_id": campaign["id"],
            "campaign": campaign["name"], "channel": program["channel"],
            "status": program["status"],
            **group_metrics(data, program_ids={pk}, campaign_ids={campaign["id"]},
                            whole_campaign=False),
        })  # fmt: skip
    return rows


def campaign_rows(
    data: MeasurementData, *, campaign_ids: Sequence[int] | None = None
) -> list[dict]:
    rows = []
    for pk in sorted(campaign_ids if campaign_ids is not None else data.campaigns):
        campaign = data.campaigns[pk]
        rows.append({
            "campaign_id": pk, "campaign": campaign["name"], "objective": campaign["objective"],
            "budget": campaign["budget"],
            **group_metrics(data, program_ids=_program_ids_of(data, pk), campaign_ids={pk},
                            whole_campaign=True),
        })  # fmt: skip
    return rows


def channel_rows(data: MeasurementData) -> list[dict]:
    rows = []
    for channel in Channel.values:
        program_ids = {pk for pk, p in data.programs.items() if p["channel"] == channel}
        if not program_ids:
            continue
        campaign_ids = {data.programs[p]["campaign_id"] for p in program_ids}
        rows.append({
            "channel": channel, "programs": len(program_ids),
            **group_metrics(data, program_ids=program_ids, campaign_ids=campaign_ids,
                            whole_campaign=False),
        })  # fmt: skip
    return rows


def campaign_running(campaign: dict[str, Any] | None, *, start: dt.date, end: dt.date) -> bool:
    """A campaign runs in [start, end] when its own dates overlap the period."""
    return (campaign is not None and campaign["starts_on"] <= end
            and campaign["ends_on"] >= start)  # fmt: skip


def pipeline_report(data: MeasurementData, *, view: str) -> list[dict]:
    """A pipeline report's rows by program, campaign or channel, followed by
    the lines that reconcile them to the period's pipeline (`pipeline_lines`)."""
    if view == "programs":
        rows, label = program_rows(data), "program"
        listed = {row["program_id"] for row in rows}
    elif view == "campaigns":
        rows, label = campaign_rows(data), "campaign"
        listed = set().union(*(_program_ids_of(data, row["campaign_id"]) for row in rows))
    elif view == "channels":
        rows, label = channel_rows(data), "channel"
        listed = {pk for pk, p in data.programs.items() if p["channel"] in
                  {row["channel"] for row in rows}}  # fmt: skip
    else:
        raise ValueError(f"view {view!r} is not programs, campaigns or channels")
    return rows + pipeline_lines(data, label=label, listed_program_ids=listed)


def funnel_report(
    data: MeasurementData, *, campaign_ids: set[int] | None = None, members: set[int] | None = None
) -> dict[str, Any]:
    """Targeted (treated) accounts -> engaged -> qualified -> opportunity -> won,
    with conversions, win rate, average deal size and cycle time. Targeted means
    a treated target of a campaign running in the period (its dates overlap it):
    a campaign that had not started, or had ended, targeted nobody then."""
    chosen = {
        pk for pk in (data.targets if campaign_ids is None else campaign_ids)
        if campaign_running(data.campaigns.get(pk), start=data.start, end=data.end)
    }  # fmt: skip
    targeted = {a for c in chosen for a, (held, _) in data.targets.get(c, {}).items() if not held}
    if members is not None:
        targeted &= members
    deals = [d for d in data.deals.values() if d.account_id in targeted]
    won = [d for d in deals if d.status == OpportunityStatus.WON]
    counts = {
        "targeted": len(targeted),
        "engaged": len(targeted & data.engaged),
        "qualified": len(targeted & data.qualified),
        "opportunity": len({d.account_id for d in deals}),
        "won": len({d.account_id for d in won}),
    }
    return {
        "steps": [asdict(step) for step in metrics.funnel(counts)],
        "opportunities": len(deals),
        "win_rate": _win_rate(deals),
        # A won deal without an amount is not a deal of 0: left out of the average.
        "average_deal_size": metrics.average([d.amount for d in won if d.has_amount]),
        "cycle_time_days": metrics.cycle_days(
            (d.opened_on, d.close_on) for d in won if d.close_on is not None
        ),
    }


def source_rows(data: MeasurementData) -> list[dict]:
    """The numbers that replace MQL counts, marketing-sourced against the rest:
    close and win rates (also by month), conversion from engaged and qualified
    account to opportunity, cost per qualified account and per opportunity."""
    total_spend = sum(data.spend.values(), ZERO)
    rows = []
    for label, wanted in (("marketing", True), ("other", False)):
        deals = [d for d in data.deals.values() if (d.source == "marketing") is wanted]
        accounts = {d.account_id for d in deals if d.account_id is not None}
        won = sum(1 for d in deals if d.status == OpportunityStatus.WON)
        by_month: dict[str, list[Deal]] = defaultdict(list)
        for deal in deals:
            by_month[deal.opened_on.strftime("%Y-%m")].append(deal)
        rows.append({
            "source": label, "opportunities": len(deals), "won": won,
            "pipeline": sum((d.amount for d in deals), ZERO),
            "won_revenue": sum((d.amount for d in deals if d.status == "won"), ZERO),
            "close_rate": metrics.ratio(won, len(deals)),
            "win_rate": _win_rate(deals),
            "win_rate_by_month": {m: _win_rate(by_month[m]) for m in sorted(by_month)},
            "engaged_to_opportunity": metrics.ratio(len(data.engaged & accounts),
                                                    len(data.engaged)),
            "qualified_to_opportunity": metrics.ratio(len(data.qualified & accounts),
                                                      len(data.qualified)),
            # Marketing's spend against what it sourced; for the rest, for comparison.
            "cost_per_qualified_account": metrics.ratio(
                total_spend, len(data.qualified & accounts)),
            "cost_per_opportunity": metrics.ratio(total_spend, len(deals)),
        })  # fmt: skip
    return rows


def segment_members(*, segment_id: int) -> set[int]:
    return set(
        SegmentMembership.objects.filter(segment_id=segment_id).values_list("account_id", flat=True)
    )


def programs_with_spend(data: MeasurementData) -> set[int]:
    return {pk for pk, total in data.spend.items() if total > 0}


# --- Pipeline plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class DealHistory:
    won: int
    lost: int
    win_rate: float | None
    average_deal_size: float | None
    cycle_time_days: float | None


def deal_history(*, since: dt.date, until: dt.date) -> DealHistory:
    """Deals closed in [since, until): win rate over closed, average won amount
    (deals without an amount left out), mean days from opening to winning; the
    deal metrics' own formulas (`metrics.deal_figures`). One query."""
    facts = [
        metrics.DealFacts(amount, status, opened_on, close_on)
        for status, amount, opened_on, close_on in Opportunity.objects.filter(
            close_on__gte=since, close_on__lt=until
        )
        .exclude(status=OpportunityStatus.OPEN)
        .values_list("status", "amount", "opened_on", "close_on")
    ]
    figures = metrics.deal_figures(facts, start=since, end=until - dt.timedelta(days=1))
    average = figures["average_won_deal"]
    return DealHistory(
        won=figures["opportunities_won"], lost=figures["opportunities_lost"],
        win_rate=figures["win_rate"], average_deal_size=None if average is None else float(average),
        cycle_time_days=figures["cycle_days_won"],
    )  # fmt: skip


def plan_against_actual(plan: Any) -> dict[str, Any]:
    """The plan's needs and, month by month over the window in which its
    opportunities must open, the planned pipeline (spread by days) against the
    pipeline actually opened. One query."""
    needs = metrics.plan_needs(
        revenue_target=plan.revenue_target, win_rate=plan.win_rate,
        average_deal_size=plan.average_deal_size, cycle_time_days=plan.cycle_time_days,
        period_start=plan.period_start, period_end=plan.period_end,
    )  # fmt: skip
    opened = Opportunity.objects.filter(opened_on__range=(needs.open_from, needs.open_until))
    actual: dict[dt.date, list[Decimal]] = defaultdict(list)
    for opened_on, amount in opened.values_list("opened_on", "amount"):
        actual[opened_on.replace(day=1)].append(amount or ZERO)
    window_days = (needs.open_until - needs.open_from).days + 1
    months = []
    for month in metrics.months_between(needs.open_from, needs.open_until):
        following = (month + dt.timedelta(days=32)).replace(day=1)
        days = (min(following - dt.timedelta(days=1), needs.open_until)
                - max(month, needs.open_from)).days + 1  # fmt: skip
        planned = (needs.required_pipeline * days / window_days).quantize(metrics.CENT)
        got = sum(actual[month], ZERO)
        months.append({
            "month": month.strftime("%Y-%m"), "planned_pipeline": planned,
            "actual_pipeline": got, "actual_opportunities": len(actual[month]),
            "planned_opportunities": round(needs.opportunities_to_open * days / window_days, 2),
            "attainment": metrics.ratio(got, planned),
        })  # fmt: skip
    return {"needs": asdict(needs), "by_month": months}
