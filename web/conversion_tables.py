"""The "what converts" page's table, built from the rows the REST API serves
(`campaigns.reports.conversion`): the same figures as `web.report_tables`
rows (page and CSV from the same rows). No ORM and no arithmetic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from web.charts import Interval, interval_chart
from web.report_tables import Column, Figure, Row, Table, count, missing, percent, text

# The chart draws at most this many ranked groups (the table holds them all).
CHART_ROWS = 15

TOO_FEW = "too few accounts to rank"
NO_MEASURED = "no account whose 90 days are over"
AGAINST_BASE = {"above": "Above", "below": "Below", "within": "Within"}


def _figures(figures: Mapping[str, Any]) -> dict[str, Figure]:
    return {
        "accounts": count(figures["accounts"]),
        "converted": count(figures["converted"]),
        "rate": percent(figures["rate"], why=NO_MEASURED),
        "low": percent(figures["low"], why=NO_MEASURED),
        "high": percent(figures["high"], why=NO_MEASURED),
        "window_open": count(figures["window_open"]),
        "in_a_deal": count(figures["in_a_deal"]),
    }


def conversion_table(report: Mapping[str, Any], *, dimension_label: str, shown: str) -> Table:
    """The base line (the segment's touched accounts), then each group: ranked
    ones with their rank, small ones marked and unranked."""
    base = report["base"]
    rows = [Row(f"Base rate: {shown}", {**_figures(base), "rank": Figure("", ""),
                                        "against_base": Figure("", "")},
                kind="total", key="base")]  # fmt: skip
    for row in report["rows"]:
        figures = _figures(row)
        if row["ranked"]:
            figures["rank"] = count(row["rank"])
        else:
            figures["rank"] = missing(TOO_FEW)
        verdict = row["against_base"]
        figures["against_base"] = (text(AGAINST_BASE[verdict]) if verdict
                                   else missing(NO_MEASURED))  # fmt: skip
        rows.append(Row(row["group"], figures, key=row["key"],
                        mark="" if row["ranked"] else "small"))  # fmt: skip
    minimum = report["min_accounts_to_rank"]
    return Table(
        id="conversion",
        caption=f"What converts, by {dimension_label.lower()}: {shown}",
        label_heading=dimension_label.lower(),
        columns=[
            Column(
                "rank",
                "Rank",
                f"By the interval's lower bound; groups under {minimum} accounts are not ranked",
            ),
            Column("accounts", "Accounts", "Touched accounts whose 90 days are over"),
            Column("converted", "Opened a deal", "Opened an opportunity within 90 days"),
            Column("rate", "Rate", "Share of the accounts that opened a deal"),
            Column("low", "95% low", "Wilson interval, lower bound"),
            Column("high", "95% high", "Wilson interval, upper bound"),
            Column(
                "against_base",
                "Vs base rate",
                "Above, below: the whole interval is; within: it holds the base rate",
                numeric=False,
            ),
            Column("window_open", "Too recent", "Touched too recently: left out"),
            Column("in_a_deal", "In a deal", "A deal was open at the first touch: left out"),
        ],
        rows=rows,
        note=f"An account converts when it opens an opportunity on the day of its first "
        f"touch by the group or within the 90 days after. Groups with fewer than {minimum} "
        "accounts are listed after the ranked ones and never ranked: their interval is too "
        "wide to tell them apart.",
    )


def conversion_chart(report: Mapping[str, Any]) -> SafeString | None:
    """The ranked groups' intervals against the base rate, in percentage points
    (rate - base rate): the dark line is the base rate, so an interval wholly
    right of it is above it. Small groups are not drawn (never shown as if
    ranked); None when nothing is ranked or there is no base rate."""
    base = report["base"]["rate"]
    ranked = [row for row in report["rows"] if row["ranked"]][:CHART_ROWS]
    if base is None or not ranked:
        return None
    rows = [
        Interval(f"{row['rank']}. {row['group']}", 100 * (row["rate"] - base),
                 100 * (row["low"] - base), 100 * (row["high"] - base))
        for row in ranked
    ]  # fmt: skip
    return mark_safe(  # noqa: S308 - web.charts escapes every text it writes  # nosec B308 B703
        interval_chart(
            chart_id="conversion-chart",
            title="Conversion rate against the base rate, percentage points, with 95% intervals",
            rows=rows,
        )
    )
