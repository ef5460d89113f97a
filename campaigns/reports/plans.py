"""Pipeline plans (`/api/pipeline-plans/`): the deal history a plan is
filled from, and a plan's needs and its planned pipeline against the actual,
month by month. The arithmetic is `campaigns.metrics.plan_needs`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

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
