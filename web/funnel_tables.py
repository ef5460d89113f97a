"""The funnel and velocity page's tables, built from the report rows the REST
API serves (`campaigns.reports.funnel`, `.deals`, `.programs`, `.sources`):
the same figures, laid out as `web.report_tables` tables (page and CSV from
the same rows). No ORM and no arithmetic: every number comes from a report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from campaigns.models import Channel
from campaigns.reports.attribution import PERIOD_TOTAL
from web.report_tables import Column, Figure, Row, Table, count, decimal, missing, money, percent

STEP_LABELS = {
    "targeted": "Target accounts",
    "engaged": "Engaged",
    "qualified": "Qualified",
    "opportunity": "Opportunity",
    "won": "Won",
}
SPEND_HIDDEN_NOTE = "Spend hidden for your role: the cost figures need the right to see spend."

NO_STEP_BEFORE = "the step before has no accounts"
NO_DECIDED_DEAL = "no deal won or lost"
NO_WON_AMOUNT = "no won deal with an amount"
NO_WON_CLOSE = "no won deal with a close date"
NO_ENGAGED = "no engaged account"
NO_QUALIFIED = "no qualified account"
NO_OPPORTUNITY = "no opportunity"
NOT_A_CHANNEL = "counted per channel only"
NO_SPEND_LINE = "no spend is on this line"


# --- The funnel ------------------------------------------------------------------


def steps_table(funnel: Mapping[str, Any], *, shown: str) -> Table:
    """One funnel's steps (`funnel_report`): accounts, conversion from the step
    before and from the target accounts."""
    rows = []
    for step in funnel["steps"]:
        first = step["stage"] == "targeted"
        rows.append(Row(STEP_LABELS[step["stage"]], {
            "accounts": count(step["accounts"]),
            "from_previous": Figure("", "") if first
            else percent(step["from_previous"], why=NO_STEP_BEFORE),
            "from_first": Figure("", "") if first
            else percent(step["from_first"], why="no target account"),
        }, key=step["stage"]))  # fmt: skip
    return Table(
        id="funnel-steps",
        caption=f"Funnel: {shown}",
        label_heading="step",
        columns=[
            Column("accounts", "Accounts"),
            Column("from_previous", "From the step before", "Conversion from the step before"),
            Column("from_first", "From target accounts", "Conversion from the target accounts"),
        ],
        rows=rows,
        note="Target accounts: the treated (not held out) targets of campaigns running in "
        "the period. Engaged and qualified: their score reached the band on some day of the "
        "period. Opportunity and won: they have a deal opened in the period (won: closed won).",
    )


def _conversions(funnel: Mapping[str, Any]) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for step in funnel["steps"]:
        figures[step["stage"]] = count(step["accounts"])
        if step["stage"] != "targeted":
            figures[f"{step['stage']}_rate"] = percent(step["from_previous"], why=NO_STEP_BEFORE)
    won = funnel["steps"][-1]
    figures["overall"] = percent(won["from_first"], why="no target account")
    return figures


def _funnel_row_key(segment_id: int | None) -> str:
    return "all" if segment_id is None else f"segment-{segment_id}"


def segments_table(overall: Mapping[str, Any], segments: Sequence[Mapping[str, Any]]) -> Table:
    """Every segment's funnel with its step-to-step conversions, after all target accounts."""
    rows = [Row("All target accounts", _conversions(overall), kind="total", key="all")]
    rows += [
        Row(s["segment"], _conversions(s), key=_funnel_row_key(s["segment_id"])) for s in segments
    ]
    return Table(
        id="funnel-segments",
        caption="Funnel by segment",
        label_heading="segment",
        columns=[
            Column("targeted", "Target accounts"),
            Column("engaged", "Engaged"),
            Column("engaged_rate", "Engaged / target", "Engaged over target accounts"),
            Column("qualified", "Qualified"),
            Column("qualified_rate", "Qualified / engaged"),
            Column("opportunity", "Opportunity"),
            Column("opportunity_rate", "Opportunity / qualified"),
            Column("won", "Won"),
            Column("won_rate", "Won / opportunity"),
            Column("overall", "Won / target"),
        ],
        rows=rows,
        note="An account in several segments counts in each: the segments overlap and do "
        "not add up to all target accounts.",
    )


def _funnel_deals(funnel: Mapping[str, Any]) -> dict[str, Figure]:
    return {
        "opportunities": count(funnel["opportunities"]),
        "opportunities_without_amount": count(funnel["opportunities_without_amount"]),
        "win_rate": percent(funnel["win_rate"], why=NO_DECIDED_DEAL),
        "average_deal_size": money(funnel["average_deal_size"], why=NO_WON_AMOUNT),
        "won_without_amount": count(funnel["won_without_amount"]),
        "cycle_time_days": decimal(funnel["cycle_time_days"], why=NO_WON_CLOSE),
    }


def funnel_deals_table(overall: Mapping[str, Any], segments: Sequence[Mapping[str, Any]]) -> Table:
    """The target accounts' deals opened in the period, per segment (`funnel_report`)."""
    rows = [Row("All target accounts", _funnel_deals(overall), kind="total", key="all")]
    rows += [
        Row(s["segment"], _funnel_deals(s), key=_funnel_row_key(s["segment_id"])) for s in segments
    ]
    return Table(
        id="funnel-deals",
        caption="Deals of the target accounts, by segment",
        label_heading="segment",
        columns=[
            Column("opportunities", "Opportunities"),
            Column("opportunities_without_amount", "Without an amount"),
            Column("win_rate", "Win rate", "Won over won plus lost"),
            Column("average_deal_size", "Average won deal", "Won deals with an amount"),
            Column("won_without_amount", "Won without an amount"),
            Column("cycle_time_days", "Cycle time (days)", "Opened to closed, won deals"),
        ],
        rows=rows,
        note="Deals without an amount are counted (in the counts and rates) and left out of "
        "the average, never read as 0.",
    )


# --- Deal metrics ------------------------------------------------------------------

DEAL_COLUMNS = (
    Column("opportunities_opened", "Opened", "Opportunities opened in the period"),
    Column("opportunities_opened_without_amount", "Opened without an amount"),
    Column("pipeline", "Pipeline", "Amounts of the opportunities opened in the period"),
    Column("opportunities_closed", "Closed", "Won or lost in the period"),
    Column("opportunities_won", "Won"),
    Column("opportunities_lost", "Lost"),
    Column("won_without_amount", "Won without an amount"),
    Column("won_revenue", "Won revenue"),
    Column("win_rate", "Win rate", "Won over won plus lost"),
    Column("average_won_deal", "Average won deal", "Won deals with an amount"),
    Column("cycle_days_won", "Cycle days (won)", "Opened to closed, won deals"),
    Column("cycle_days_closed", "Cycle days (closed)", "Opened to closed, won and lost deals"),
)


def _deal_figures(row: Mapping[str, Any]) -> dict[str, Figure]:
    return {
        "opportunities_opened": count(row["opportunities_opened"]),
        "opportunities_opened_without_amount": count(row["opportunities_opened_without_amount"]),
        "pipeline": money(row["pipeline"]),
        "opportunities_closed": count(row["opportunities_closed"]),
        "opportunities_won": count(row["opportunities_won"]),
        "opportunities_lost": count(row["opportunities_lost"]),
        "won_without_amount": count(row["won_without_amount"]),
        "won_revenue": money(row["won_revenue"]),
        "win_rate": percent(row["win_rate"], why=NO_DECIDED_DEAL),
        "average_won_deal": money(row["average_won_deal"], why=NO_WON_AMOUNT),
        "cycle_days_won": decimal(row["cycle_days_won"], why="no deal won"),
        "cycle_days_closed": decimal(row["cycle_days_closed"], why=NO_DECIDED_DEAL),
    }


DEAL_SPLITS = (
    ("segment", "deals-segment", "Deal metrics by segment", "segment"),
    ("source", "deals-source", "Deal metrics by source", "source"),
    ("product_line", "deals-product-line", "Deal metrics by product line", "product line"),
)


def deal_tables(report: Mapping[str, Any]) -> list[Table]:
    """`deal_metrics`' rows, one table per split, each opening with all opportunities."""
    total = next(row for row in report["rows"] if row["split"] == "all")
    tables = []
    for split, table_id, caption, heading in DEAL_SPLITS:
        rows = [Row(total["group"], _deal_figures(total), kind="total", key="all")]
        for row in report["rows"]:
            if row["split"] == split:
                key = (f"segment-{row['segment_id']}" if split == "segment"
                       and row.get("segment_id") is not None else row["group"])  # fmt: skip
                rows.append(Row(row["group"], _deal_figures(row), key=key))
        note = (
            "A deal counts in every segment its account is in: the segments overlap."
            if split == "segment"
            else f"The {heading}s add up to all opportunities."
        )
        tables.append(Table(id=table_id, caption=caption, columns=DEAL_COLUMNS, rows=rows,
                            label_heading=heading, note=note))  # fmt: skip
    return tables


# --- Beyond the lead: cost per engaged, qualified, opportunity; sourced deals ---------


def channel_costs_table(rows: Sequence[Mapping[str, Any]], *, spend_shown: bool) -> Table:
    """`pipeline_report(view="channels")`: each channel's engaged and qualified
    accounts and attributed opportunities with their cost, then the lines that
    reconcile the opportunities to the period's total."""
    columns = [
        Column("spend", "Spend"),
        Column("accounts_engaged", "Engaged accounts", "Touched accounts that reached engaged"),
        Column("cost_per_engaged_account", "Cost per engaged account"),
        Column("accounts_qualified", "Qualified accounts"),
        Column("cost_per_qualified_account", "Cost per qualified account"),
        Column("opportunities_attributed", "Opportunities (attributed)",
               "An even share of each deal among the programs that influenced it"),
        Column("cost_per_opportunity", "Cost per opportunity"),
        Column("pipeline_attributed", "Pipeline (attributed)"),
    ]  # fmt: skip
    if not spend_shown:
        columns = [c for c in columns if c.key != "spend" and not c.key.startswith("cost_")]
    table_rows = []
    for row in rows:
        if "programs" in row:  # a channel's row
            figures = {
                "spend": money(row["spend"]),
                "accounts_engaged": count(row["accounts_engaged"]),
                "cost_per_engaged_account": money(row["cost_per_engaged_account"],
                                                  why=NO_ENGAGED),
                "accounts_qualified": count(row["accounts_qualified"]),
                "cost_per_qualified_account": money(row["cost_per_qualified_account"],
                                                    why=NO_QUALIFIED),
                "opportunities_attributed": decimal(row["opportunities_attributed"], places=2),
                "cost_per_opportunity": money(row["cost_per_opportunity"], why=NO_OPPORTUNITY),
                "pipeline_attributed": money(row["pipeline_attributed"]),
            }  # fmt: skip
            table_rows.append(Row(Channel(row["channel"]).label, figures, key=row["channel"]))
            continue
        total = row["channel"] == PERIOD_TOTAL
        figures = {key: missing(NO_SPEND_LINE) for key in ("spend", "cost_per_engaged_account",
                   "cost_per_qualified_account", "cost_per_opportunity")}  # fmt: skip
        figures |= {key: missing(NOT_A_CHANNEL) for key in ("accounts_engaged",
                    "accounts_qualified")}  # fmt: skip
        figures["opportunities_attributed"] = decimal(row["opportunities_attributed"], places=2)
        figures["pipeline_attributed"] = money(row["pipeline_attributed"])
        table_rows.append(Row(row["channel"], figures, kind="total" if total else "line",
                              key="period-total" if total else "no-program"
                              if "no program" in row["channel"] else "other-programs"))  # fmt: skip
    return Table(
        id="channel-costs",
        caption="Cost per engaged and qualified account and per opportunity, by channel",
        label_heading="channel",
        columns=columns,
        rows=table_rows,
        note=("" if spend_shown else SPEND_HIDDEN_NOTE + " ")
        + "The channels' attributed opportunities and the lines below them add up to the "
        "period's total.",
    )


def sources_table(rows: Sequence[Mapping[str, Any]], *, spend_shown: bool) -> Table:
    """`source_rows`: marketing-sourced deals against the rest, the figures
    that replace MQL counts."""
    columns = [
        Column("opportunities", "Opportunities", "Opened in the period"),
        Column("opportunities_without_amount", "Without an amount"),
        Column("won", "Won"),
        Column("close_rate", "Close rate", "Won over the opportunities opened"),
        Column("win_rate", "Win rate", "Won over won plus lost"),
        Column("pipeline", "Pipeline"),
        Column("won_revenue", "Won revenue"),
        Column("engaged_to_opportunity", "Engaged to opportunity",
               "Engaged accounts with such a deal over all engaged accounts"),
        Column("qualified_to_opportunity", "Qualified to opportunity"),
        Column("cost_per_qualified_account", "Cost per qualified account",
               "All the period's spend over the qualified accounts with such a deal"),
        Column("cost_per_opportunity", "Cost per opportunity",
               "All the period's spend over these opportunities"),
    ]  # fmt: skip
    if not spend_shown:
        columns = [c for c in columns if not c.key.startswith("cost_")]
    labels = {"marketing": "Marketing-sourced", "other": "Other sources"}
    table_rows = [
        Row(labels.get(row["source"], row["source"]), {
            "opportunities": count(row["opportunities"]),
            "opportunities_without_amount": count(row["opportunities_without_amount"]),
            "won": count(row["won"]),
            "close_rate": percent(row["close_rate"], why=NO_OPPORTUNITY),
            "win_rate": percent(row["win_rate"], why=NO_DECIDED_DEAL),
            "pipeline": money(row["pipeline"]),
            "won_revenue": money(row["won_revenue"]),
            "engaged_to_opportunity": percent(row["engaged_to_opportunity"], why=NO_ENGAGED),
            "qualified_to_opportunity": percent(row["qualified_to_opportunity"],
                                                why=NO_QUALIFIED),
            "cost_per_qualified_account": money(row["cost_per_qualified_account"],
                                                why="no qualified account with such a deal"),
            "cost_per_opportunity": money(row["cost_per_opportunity"], why=NO_OPPORTUNITY),
        }, key=row["source"])
        for row in rows
    ]  # fmt: skip
    return Table(
        id="sources",
        caption="Marketing-sourced deals against the rest",
        label_heading="source",
        columns=columns,
        rows=table_rows,
        note=("" if spend_shown else SPEND_HIDDEN_NOTE + " ")
        + "Opportunities opened in the period; close rate: won over those opened.",
    )
