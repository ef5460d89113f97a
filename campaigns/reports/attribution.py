"""Opportunity credit of programs (DESIGN 5): influenced (full credit to
every program that first touched the deal's account at most `window_days`
before it opened) and attributed (an even share among them), and the lines
that reconcile a report to the period's pipeline: attributed plus "influenced
by no program" equals every opportunity opened in the period."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from accounts.models import OpportunityStatus
from campaigns import metrics
from campaigns.reports.measurement import ZERO, Deal, MeasurementData


def program_credit(data: MeasurementData, program_ids: set[int]) -> dict[str, Any]:
    """Opportunities, pipeline and won revenue the programs influenced and their
    attributed share (even split among all influencing programs)."""
    out: dict[str, Any] = {
        "opportunities_influenced": 0, "opportunities_attributed": 0.0,
        "pipeline_influenced": ZERO, "pipeline_attributed": ZERO,
        "won_influenced": 0, "won_attributed": 0.0,
        "won_revenue_influenced": ZERO, "won_revenue_attributed": ZERO,
    }  # fmt: skip
    deal_ids: set[int] = set()
    influenced = (
        data.influenced_by.get(next(iter(program_ids)), [])
        if len(program_ids) == 1
        else sorted(
            set().union(*(data.influenced_by.get(p, ()) for p in program_ids)),
            key=data.influence_order.__getitem__,
        )
    )
    for deal_id in influenced:
        programs = data.influencers[deal_id]
        mine = programs & program_ids
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
        credit = program_credit(data, others)
        credit.pop("_deal_ids")
        lines.append({label: OTHER_PROGRAMS, **credit})
    lines.append({label: NO_PROGRAM, **pipeline_no_program(data)})
    lines.append({label: PERIOD_TOTAL, **pipeline_period_total(data)})
    return lines
