"""The executive overview (issue 17, page 1): a period's headline figures,
the same for the period it is compared with (`campaigns.periods.previous_period`),
the relative change, and spend, pipeline and won revenue by calendar month.

Four queries whatever the amount of data: the deals of both periods, the
spend of both periods by day, and each period's engaged and qualified
accounts (compared with the scoring bands in the database). Every figure
comes from the module that owns its rule:

- spend: the spend lines dated in the period (as `measurement_load` sums them);
- pipeline, opportunities opened, won revenue, win rate, average deal size
  (the average won deal) and cycle time (opened to closed, won deals):
  `campaigns.metrics.deal_figures`, as the deal metrics report
  (`campaigns.reports.deals`) computes them over all opportunities: pipeline
  and opened by the opened date, the rest by the close date of won and lost
  deals; deals without an amount are counted apart and never read as 0;
- accounts engaged and qualified:
  `engagement.peak_selectors.accounts_reaching_bands`, the rule every
  measurement report uses (the best daily snapshot score in the
  period reached the segment model's band);
- pipeline per unit of spend: `campaigns.metrics.ratio`.

A figure that cannot be computed is None and `missing` says why (no spend
recorded, no deal closed, no snapshot taken ...), never 0. Definitions for a
person: docs/reports.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from campaigns import metrics
from campaigns.models import Spend
from campaigns.periods import previous_period
from campaigns.reports import deals
from engagement.peak_selectors import accounts_reaching_bands

# The headline figures in the order a page shows them.
FIGURES = (
    "spend",
    "pipeline",
    "won_revenue",
    "pipeline_per_spend",
    "accounts_engaged",
    "accounts_qualified",
    "opportunities_opened",
    "win_rate",
    "average_deal_size",
    "cycle_time_days",
)
# Counts shown beside the figures: what the amounts leave out, and what the
# win rate is made of.
COUNTS = (
    "opportunities_opened_without_amount",
    "opportunities_won",
    "opportunities_lost",
    "won_without_amount",
)
MONTH_FIGURES = ("spend", "pipeline", "won_revenue")

NO_SPEND = "no spend recorded in the period"
NO_SNAPSHOT = "no daily engagement snapshot in the period"
NO_CLOSED = "no deal was won or lost in the period"
NO_WON_AMOUNT = "no deal with an amount was won in the period"
NO_WON = "no deal was won in the period"
NO_CHANGE_FIGURE = "a period has no figure"
PREVIOUS_ZERO = "the previous period's figure is 0"


def relative_change(current: Any, previous: Any) -> tuple[float | None, str | None]:
    """(current - previous) / |previous|, or None and why there is none."""
    if current is None or previous is None:
        return None, NO_CHANGE_FIGURE
    if previous == 0:
        return None, PREVIOUS_ZERO
    return (float(current) - float(previous)) / abs(float(previous)), None


def _month_end(first: dt.date) -> dt.date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _spend_in(spend_by_day: dict[dt.date, Decimal], start: dt.date, end: dt.date) -> Decimal | None:
    """The spend dated in [start, end], None when no line is (a 0 line counts)."""
    days = [total for day, total in spend_by_day.items() if start <= day <= end]
    return sum(days, Decimal(0)) if days else None


def _period_row(
    label: str,
    start: dt.date,
    end: dt.date,
    *,
    facts: list[metrics.DealFacts],
    spend_by_day: dict[dt.date, Decimal],
) -> dict[str, Any]:
    deal = metrics.deal_figures(facts, start=start, end=end)
    spend = _spend_in(spend_by_day, start, end)
    engaged, qualified, measured = accounts_reaching_bands(start=start, end=end)
    row: dict[str, Any] = {
        "period": label,
        "start": start,
        "end": end,
        "spend": spend,
        "pipeline": deal["pipeline"],
        "won_revenue": deal["won_revenue"],
        "pipeline_per_spend": metrics.ratio(deal["pipeline"], spend),
        "accounts_engaged": len(engaged) if measured else None,
        "accounts_qualified": len(qualified) if measured else None,
        "opportunities_opened": deal["opportunities_opened"],
        "win_rate": deal["win_rate"],
        "average_deal_size": deal["average_won_deal"],
        "cycle_time_days": deal["cycle_days_won"],
        **{key: deal[key] for key in COUNTS},
    }
    why = {
        "spend": NO_SPEND if spend is None else None,
        "pipeline_per_spend": NO_SPEND if spend is None else "spend is 0" if spend == 0 else None,
        "accounts_engaged": None if measured else NO_SNAPSHOT,
        "accounts_qualified": None if measured else NO_SNAPSHOT,
        "win_rate": NO_CLOSED if deal["win_rate"] is None else None,
        "average_deal_size": NO_WON_AMOUNT if deal["average_won_deal"] is None else None,
        "cycle_time_days": NO_WON if deal["cycle_days_won"] is None else None,
    }
    row["missing"] = {key: reason for key, reason in why.items() if reason is not None}
    return row


def _change_row(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"period": "change", "start": None, "end": None}
    missing: dict[str, str] = {}
    for key in FIGURES:
        row[key], why = relative_change(current[key], previous[key])
        if why is not None:
            missing[key] = why
    row["missing"] = missing
    return row


def _facts_by_month(facts: list[metrics.DealFacts]) -> dict[dt.date, list[metrics.DealFacts]]:
    """Month (its first day) -> the deals opened or closed in it, in the order
    of `facts`. Every deal a figure of a month selects is opened or closed in
    that month (`metrics.deal_figures`), so a month's figures over its own
    list are those over every deal, summed in the same order; each month
    reads its own deals instead of all of them (a year's months read 50,000
    deals twelve times at 10M activities in the pages benchmark)."""
    by_month: dict[dt.date, list[metrics.DealFacts]] = defaultdict(list)
    for fact in facts:
        opened = fact.opened_on.replace(day=1)
        by_month[opened].append(fact)
        if fact.close_on is not None and (closed := fact.close_on.replace(day=1)) != opened:
            by_month[closed].append(fact)
    return by_month


def _month_rows(
    start: dt.date,
    end: dt.date,
    *,
    facts: list[metrics.DealFacts],
    spend_by_day: dict[dt.date, Decimal],
) -> list[dict[str, Any]]:
    """Spend, pipeline and won revenue per calendar month of [start, end]; the
    first and last months are cut to the period."""
    rows = []
    by_month = _facts_by_month(facts)
    for first in metrics.months_between(start, end):
        month_start, month_end = max(first, start), min(_month_end(first), end)
        deal = metrics.deal_figures(by_month.get(first, []), start=month_start, end=month_end)
        spend = _spend_in(spend_by_day, month_start, month_end)
        rows.append(
            {
                "month": first.strftime("%Y-%m"),
                "start": month_start,
                "end": month_end,
                "spend": spend,
                "pipeline": deal["pipeline"],
                "won_revenue": deal["won_revenue"],
                "opportunities_opened_without_amount": deal["opportunities_opened_without_amount"],
                "won_without_amount": deal["won_without_amount"],
                "missing": {"spend": "no spend recorded in the month"} if spend is None else {},
            }
        )
    return rows


def overview_report(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The overview of [start, end] against `previous_period(start, end)`:
    `rows` holds the period, the previous period and the change (one row
    each, the figures of FIGURES and COUNTS as columns, `missing` saying why a
    figure is None); `months` the period's calendar months. Four queries."""
    if end < start:
        raise ValueError(f"period end {end} is before its start {start}")
    previous = previous_period(start, end)
    periods = ((start, end), (previous.start, previous.end))
    facts = deals.deal_facts(*periods)
    spend_by_day: dict[dt.date, Decimal] = defaultdict(Decimal)
    in_periods = Q(spent_on__range=periods[0]) | Q(spent_on__range=periods[1])
    for day, total in (
        Spend.objects.filter(in_periods)
        .order_by()
        .values("spent_on")
        .annotate(total=Sum("amount"))
        .values_list("spent_on", "total")
    ):
        spend_by_day[day] += total
    current_row = _period_row("current", start, end, facts=facts, spend_by_day=spend_by_day)
    previous_row = _period_row(
        "previous", previous.start, previous.end, facts=facts, spend_by_day=spend_by_day
    )
    return {
        "start": start,
        "end": end,
        "previous_start": previous.start,
        "previous_end": previous.end,
        "rows": [current_row, previous_row, _change_row(current_row, previous_row)],
        "months": _month_rows(start, end, facts=facts, spend_by_day=spend_by_day),
    }
