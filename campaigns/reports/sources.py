"""The sources view of the programs report (`?view=sources`):
marketing-sourced opportunities against the rest, the numbers that replace
MQL counts."""

from __future__ import annotations

from collections import defaultdict

from accounts.models import OpportunityStatus
from campaigns import metrics
from campaigns.reports.measurement import ZERO, Deal, MeasurementData, deals_win_rate


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
            # A deal without an amount adds nothing to an amount: counted apart.
            "opportunities_without_amount": sum(1 for d in deals if not d.has_amount),
            "pipeline": sum((d.amount for d in deals), ZERO),
            "won_revenue": sum((d.amount for d in deals if d.status == "won"), ZERO),
            "close_rate": metrics.ratio(won, len(deals)),
            "win_rate": deals_win_rate(deals),
            "win_rate_by_month": {m: deals_win_rate(by_month[m]) for m in sorted(by_month)},
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
