"""The figures of a measurement report row (a row of `campaigns.reports`'
programs, campaigns, channels or one campaign's report) as the report pages
show them: lift with its interval, its counts and why it is missing; the
pipeline credit; spend and the ratios drawn from it, or why they cannot be
computed. Shared by the campaign's own report (web.spendreport_report) and the
executive campaign report (web.campaignreport_tables), so one row reads the
same on both. No arithmetic beyond rounding: every number is the report's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from campaigns.reports.attribution import NO_PROGRAM, OTHER_PROGRAMS, PERIOD_TOTAL
from web.report_tables import Column, Figure, count, missing, money

SPEND_HIDDEN = "spend hidden for your role"
NO_SPEND = "no spend recorded in the period"

REACH_COLUMNS = (
    Column("accounts_targeted", "Targeted", "treated targets of the campaign"),
    Column("accounts_touched", "Touched", "accounts the programs touched in the period"),
    Column("accounts_engaged", "Engaged", "touched accounts that reached the engaged band"),
    Column("accounts_qualified", "Qualified", "touched accounts that reached the qualified band"),
)
LIFT_COLUMNS = (
    Column("lift", "Lift", "mean score change of treated minus held-out accounts"),
    Column("lift_interval", "95% interval", "Welch's interval"),
    Column("lift_kind", "Against", "a holdout, or the treated accounts' own change"),
    Column("lift_treated", "Treated n", "treated accounts measured"),
    Column("lift_holdout", "Holdout n", "held-out accounts measured"),
    Column("lift_not_measured", "Not measured", "targets without a score on a day"),
)
PIPELINE_COLUMNS = (
    Column("opportunities_influenced", "Opportunities influenced"),
    Column("opportunities_attributed", "Opportunities attributed"),
    Column("pipeline_influenced", "Pipeline influenced"),
    Column("pipeline_attributed", "Pipeline attributed"),
)

# The ratios drawn from spend, and why each cannot be divided when its
# denominator is 0 (campaigns.metrics.ratio answers None then).
SPEND_RATIO_WHY = {
    "cost_per_engaged_account": "no engaged account",
    "cost_per_qualified_account": "no qualified account",
    "cost_per_opportunity": "no opportunity attributed",
    "pipeline_per_spend": "spend is 0",
    "won_revenue_per_spend": "spend is 0",
}

# The reconciling lines under a report's rows: their key in a page and label.
LINE_KEYS = {
    OTHER_PROGRAMS: "other-programs",
    NO_PROGRAM: "no-program",
    PERIOD_TOTAL: "period-total",
}
LINE_LABELS = {
    OTHER_PROGRAMS: "Other campaigns' programs (attributed share)",
    NO_PROGRAM: "Influenced by no program",
    PERIOD_TOTAL: "Period total: every opportunity opened",
}


def lift_figures(lift: Mapping[str, Any]) -> dict[str, Figure]:
    """Lift, its interval (as one figure and as its two bounds), what it is
    measured against and the measured counts; each missing one says why."""
    treated, holdout = lift["treated"], lift["holdout"]
    figures = {
        "lift_treated": count(treated),
        "lift_holdout": count(holdout),
        "lift_not_measured": count(lift["not_measured"]),
    }
    if lift["kind"] == "holdout":
        figures["lift_kind"] = Figure("holdout", "holdout")
    elif lift["kind"] == "pre_post":
        figures["lift_kind"] = Figure("pre/post", "pre_post", f"no holdout: {holdout} measured")
    else:
        figures["lift_kind"] = missing("nothing measured")
    if lift["estimate"] is None:
        why = lift["reason"] or "no treated target account was measured"
        figures["lift"] = missing(why)
        figures["lift_interval"] = figures["lift_low"] = figures["lift_high"] = missing(why)
        return figures
    figures["lift"] = money(lift["estimate"])
    if lift["low"] is None or lift["high"] is None:
        figures["lift_interval"] = figures["lift_low"] = figures["lift_high"] = missing(
            f"too few accounts for an interval (treated {treated}, holdout {holdout} measured)"
        )
    else:
        low, high = money(lift["low"]), money(lift["high"])
        figures["lift_low"], figures["lift_high"] = low, high
        figures["lift_interval"] = Figure(f"{low.text} to {high.text}", "")
    return figures


def spend_figures(
    row: Mapping[str, Any], *, recorded: bool, ratios: Iterable[str]
) -> dict[str, Figure]:
    """Spend and the `ratios` drawn from it; without a spend line in the
    period, every one of them says so (an absent spend is not a 0)."""
    keys = ["spend", *ratios]
    if not recorded:
        return {key: missing(NO_SPEND) for key in keys}
    figures = {"spend": money(row["spend"])}
    for key in keys[1:]:
        value = row[key]
        figures[key] = missing(SPEND_RATIO_WHY[key]) if value is None else money(value)
    return figures


def pipeline_figures(row: Mapping[str, Any]) -> dict[str, Figure]:
    """Opportunities, pipeline and won revenue, influenced and attributed."""
    return {
        "opportunities_influenced": count(row["opportunities_influenced"]),
        "opportunities_attributed": money(row["opportunities_attributed"]),
        "pipeline_influenced": money(row["pipeline_influenced"]),
        "pipeline_attributed": money(row["pipeline_attributed"]),
        "won_revenue_influenced": money(row["won_revenue_influenced"]),
        "won_revenue_attributed": money(row["won_revenue_attributed"]),
    }
