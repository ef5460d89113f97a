"""Pipeline plans (`/api/pipeline-plans/`): the deal history a plan is
filled from, and a plan's needs and its planned pipeline against the actual,
month by month. The arithmetic is `campaigns.metrics.plan_needs`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from accounts.models import Opportunity, OpportunityStatus
from campaigns import metrics
from campaigns.reports.measurement import ZERO


@dataclass(frozen=True)
class DealHistory:
    won: int
    lost: int
    win_rate: float | None
    average_deal_size: float | None
    cycle_time_days: float | None


@dataclass(frozen=True)
class PlanHistory:
    """What a fill reads: the deals closed in [since, until) and the figures
    they give. `until` is the plan's first day, so the window's last day is
    the day before it."""

    since: dt.date
    until: dt.date
    deals: list[Opportunity]
    figures: DealHistory

    @property
    def last_day(self) -> dt.date:
        return self.until - dt.timedelta(days=1)


def history_deals(*, since: dt.date, until: dt.date) -> QuerySet[Opportunity]:
    """THE selection a plan is filled from: every deal won or lost with its
    close date in [since, until), assigned to an account or not, newest close
    first. The fill's figures and the deals a page lists both come from here."""
    return (
        Opportunity.objects.filter(close_on__gte=since, close_on__lt=until)
        .exclude(status=OpportunityStatus.OPEN)
        .select_related("account")
        .order_by("-close_on", "id")
    )


def _figures(deals: list[Opportunity], *, since: dt.date, until: dt.date) -> DealHistory:
    """Win rate over closed, average won amount (deals without an amount left
    out), mean days from opening to winning: the deal metrics' own formulas
    (`metrics.deal_figures`)."""
    facts = [metrics.DealFacts(d.amount, d.status, d.opened_on, d.close_on) for d in deals]
    figures = metrics.deal_figures(facts, start=since, end=until - dt.timedelta(days=1))
    average = figures["average_won_deal"]
    return DealHistory(
        won=figures["opportunities_won"], lost=figures["opportunities_lost"],
        win_rate=figures["win_rate"], average_deal_size=None if average is None else float(average),
        cycle_time_days=figures["cycle_days_won"],
    )  # fmt: skip


def plan_history(*, period_start: dt.date, lookback_days: int) -> PlanHistory:
    """The deals closed in the `lookback_days` before a plan's period and the
    figures they give: what `services.pipeline_plan_fill_from_history` writes
    and what the plan page lists. One query."""
    since, until = period_start - dt.timedelta(days=lookback_days), period_start
    deals = list(history_deals(since=since, until=until))
    return PlanHistory(since, until, deals, _figures(deals, since=since, until=until))


def plan_against_actual(plan: Any) -> dict[str, Any]:
    """The plan's needs and, month by month over the window in which its
    opportunities must open, the planned pipeline (spread by days) against the
    pipeline actually opened, each also summed from the window's start
    (cumulative: how far ahead or behind the plan stands). One query."""
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
    months: list[dict[str, Any]] = []
    planned_so_far, actual_so_far = ZERO, ZERO
    days_so_far = 0
    for month in metrics.months_between(needs.open_from, needs.open_until):
        following = (month + dt.timedelta(days=32)).replace(day=1)
        days = (min(following - dt.timedelta(days=1), needs.open_until)
                - max(month, needs.open_from)).days + 1  # fmt: skip
        days_so_far += days
        # Rounded to the cent as a running total, each month the difference:
        # the months add up to the pipeline required exactly, with no cent lost.
        planned_to_date = (needs.required_pipeline * days_so_far / window_days).quantize(
            metrics.CENT
        )
        planned = planned_to_date - planned_so_far
        got = sum(actual[month], ZERO)
        planned_so_far, actual_so_far = planned_to_date, actual_so_far + got
        months.append({
            "month": month.strftime("%Y-%m"), "planned_pipeline": planned,
            "actual_pipeline": got, "actual_opportunities": len(actual[month]),
            "planned_opportunities": round(needs.opportunities_to_open * days / window_days, 2),
            "attainment": metrics.ratio(got, planned),
            "planned_pipeline_cumulative": planned_so_far,
            "actual_pipeline_cumulative": actual_so_far,
        })  # fmt: skip
    return {"needs": asdict(needs), "by_month": months}
