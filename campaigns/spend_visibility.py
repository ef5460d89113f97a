"""Who may see spend, and what a report looks like to someone who may not.

The rule (issue 17, one rule for pages, reports and the API): spend and every
figure computed from it are shown to users holding `campaigns.view_spend`
(marketers and executives, by the roles migration); sales reps do not see
them anywhere. `/api/spend/` already refused sales by its model permission;
the reports, the campaign and program lists and every page apply this module.

A hidden figure is `None` with the response saying why (`spend_hidden`),
never a 0 that would read as "nothing was spent"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

VIEW_SPEND = "campaigns.view_spend"
SPEND_HIDDEN = "spend is hidden for your role (it needs campaigns.view_spend)"

# Every figure a report computes from spend (campaigns.reports.programs,
# .sources, the ranking's metrics, the list serializers' totals).
SPEND_KEYS = frozenset(
    {
        "spend",
        "spend_total",
        "cost_per_engaged_account",
        "cost_per_qualified_account",
        "cost_per_opportunity",
        "cost_per_acquisition",
        "pipeline_per_spend",
        "won_revenue_per_spend",
        "opportunities_per_spend",
        "lift_per_spend",
    }
)


def spend_visible(user: Any) -> bool:
    """Whether `user` may see spend and the figures drawn from it."""
    return bool(user is not None and user.is_authenticated and user.has_perm(VIEW_SPEND))


def spend_redacted(value: Any) -> Any:
    """`value` (a report: dicts and lists, nested) with every spend figure set
    to None. The caller adds `spend_hidden` where the response says why."""
    if isinstance(value, Mapping):
        return {
            key: None if key in SPEND_KEYS else spend_redacted(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [spend_redacted(item) for item in value]
    return value


def report_for(user: Any, report: dict[str, Any]) -> dict[str, Any]:
    """A report as `user` may see it: unchanged, or its spend figures hidden
    and `spend_hidden` saying why."""
    if spend_visible(user):
        return report
    return {**spend_redacted(report), "spend_hidden": SPEND_HIDDEN}
