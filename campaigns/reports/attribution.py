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
    attributed share (even split among all influencing programs), and under
    `_deal_ids` the deals influenced. A report asks for the same programs more
    than once (a program's row in two views, a campaign's programs as its own
    row): each set is computed once per `data` (`credit_memo`), the answer a
    copy the caller may change (the deal set itself is shared: read only)."""
    key = frozenset(program_ids)
    found = data.credit_memo.get(key)
    if found is None:
        found = data.credit_memo[key] = _credit(data, key)
    return dict(found)


def _credit(data: MeasurementData, program_ids: frozenset[int]) -> dict[str, Any]:
    influenced = (
        data.influenced_by.get(next(iter(program_ids)), [])
        if len(program_ids) == 1
        else sorted(
            set().union(*(data.influenced_by.get(p, ()) for p in program_ids)),
            key=data.influence_order.__getitem__,
        )
    )
    # Plain locals in the loop: it runs once per influenced deal and program
    # (200,000 times for a year's report at 10M activities).
    count = won = 0
    count_attributed = won_attributed = 0.0
    pipeline = pipeline_attributed = won_revenue = won_revenue_attributed = ZERO
    won_status = str(OpportunityStatus.WON)
    # A program's own row (most calls): its share, without a set per deal.
    alone = next(iter(program_ids)) if len(program_ids) == 1 else None
    for deal_id in influenced:
        programs = data.influencers[deal_id]
        deal = data.deals[deal_id]
        shares = data.deal_shares[deal_id]
        if alone is not None:
            share, count_share = shares[alone], metrics.even_share(len(programs))
        else:
            mine = programs & program_ids
            share = sum((shares[p] for p in mine), ZERO)
            count_share = len(mine) * metrics.even_share(len(programs))
        count += 1
        count_attributed += count_share
        pipeline += deal.amount
        pipeline_attributed += share
        if deal.status == won_status:
            won += 1
            won_attributed += count_share
            won_revenue += deal.amount
            won_revenue_attributed += share
    return {
        "opportunities_influenced": count, "opportunities_attributed": count_attributed,
        "pipeline_influenced": pipeline, "pipeline_attributed": pipeline_attributed,
        "won_influenced": won, "won_attributed": won_attributed,
        "won_revenue_influenced": won_revenue, "won_revenue_attributed": won_revenue_attributed,
        "_deal_ids": set(influenced),
    }  # fmt: skip


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
