"""The programs report (`/api/reports/programs/`): every DESIGN 5 number
(spend, reach, engaged and qualified accounts, lift, influenced and
attributed pipeline, efficiency ratios) per program, campaign and channel,
over the rows `measurement_load` read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from campaigns import metrics
from campaigns.models import Channel
from campaigns.reports.attribution import pipeline_lines, program_credit
from campaigns.reports.measurement import ZERO, MeasurementData, deals_win_rate


def _lift(data: MeasurementData, *, campaign_ids: set[int], touched: set[int] | None) -> Any:
    """Treated (all, or only the touched) targets against the campaigns' holdouts."""
    treated: list[float] = []
    holdout: list[float] = []
    not_measured = 0
    for campaign_id in sorted(campaign_ids):
        split = data.target_split(campaign_id)
        holdout.extend(split.holdout_changes)
        not_measured += split.holdout_not_measured
        for change in split.treated_changes_of(touched):
            if change is None:
                not_measured += 1
            else:
                treated.append(change)
    if data.lift_reason is not None:
        return metrics.lift_unavailable(data.lift_reason, not_measured=not_measured)
    return replace(metrics.lift_welch(treated, holdout), not_measured=not_measured)


def group_metrics(
    data: MeasurementData, *, program_ids: set[int], campaign_ids: set[int], whole_campaign: bool
) -> dict[str, Any]:
    """Every DESIGN 5 number for a set of programs (a program, a campaign's, a channel's)."""
    spend = sum((data.spend.get(p, ZERO) for p in program_ids), ZERO)
    touched: set[int] = set().union(*(data.touched.get(p, set()) for p in program_ids))
    # One campaign (a program's row): its treated targets counted, not copied
    # (a copy per program was programs x targets again).
    accounts_targeted = (
        len(data.target_split(next(iter(campaign_ids))).treated)
        if len(campaign_ids) == 1
        else len(set().union(*(data.target_split(c).treated for c in campaign_ids)))
    )
    engaged, qualified = touched & data.engaged, touched & data.qualified
    lift = _lift(data, campaign_ids=campaign_ids, touched=None if whole_campaign else touched)
    credit = program_credit(data, program_ids)
    deal_ids = credit.pop("_deal_ids")
    deal_accounts = {data.deals[d].account_id for d in deal_ids}
    row: dict[str, Any] = {
        "spend": spend,
        "accounts_targeted": accounts_targeted,
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
        "win_rate": deals_win_rate(data.deals[d] for d in deal_ids),
    }
    return row


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
