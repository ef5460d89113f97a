"""The executive overview page (issue 17, page 1, `/reports/`): a period's
headline figures against the previous period as cards and as a table, and
spend, pipeline and won revenue by month as a chart beside its table; each
table downloads as CSV (`?csv=<table id>`).

Every number comes from `campaigns.reports.overview.overview_report`, the
code `/api/reports/overview/` answers with, seen through the same spend rule
(`campaigns.spend_visibility.report_for`): a sales rep gets "spend hidden for
your role" where a spend figure would be, and no spend in any CSV. This
module only lays the figures out (`overview_section`, which the board pack
PDF renders too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.safestring import mark_safe
from django.views import View

from campaigns.reports.overview import overview_report
from campaigns.spend_visibility import report_for as spend_report_for
from campaigns.spend_visibility import spend_visible
from web import charts
from web.report_figures import SPEND_HIDDEN
from web.report_period import ReportPeriod, report_period
from web.report_tables import (
    Column,
    Figure,
    ReportSection,
    Row,
    Table,
    count,
    decimal,
    missing,
    money,
    percent,
    table_csv_response,
)


def _days(value: Any, *, why: str = "no figure") -> Figure:
    return decimal(value, places=1, why=why)


def _ratio(value: Any, *, why: str = "no figure") -> Figure:
    return decimal(value, places=2, why=why)


@dataclass(frozen=True)
class Headline:
    """One of the overview's figures: its key in the report, its label, how
    it is written, and whether it is drawn from spend."""

    key: str
    label: str
    shown: Callable[..., Figure]
    help: str
    spend: bool = False


HEADLINES = (
    Headline("spend", "Spend", money, "Spend lines dated in the period.", spend=True),
    Headline("pipeline", "Pipeline", money, "Amounts of the opportunities opened in the period."),
    Headline("won_revenue", "Won revenue", money, "Amounts of the deals won in the period."),
    Headline(
        "pipeline_per_spend",
        "Pipeline per unit of spend",
        _ratio,
        "Pipeline divided by spend.",
        spend=True,
    ),
    Headline(
        "accounts_engaged",
        "Accounts engaged",
        count,
        "Accounts whose score reached the engaged band on some day of the period.",
    ),
    Headline(
        "accounts_qualified",
        "Accounts qualified",
        count,
        "Accounts whose score reached the qualified band (MQA) on some day.",
    ),
    Headline(
        "opportunities_opened", "Opportunities opened", count, "Opportunities opened in the period."
    ),
    Headline("win_rate", "Win rate", percent, "Won over won plus lost, by close date."),
    Headline(
        "average_deal_size",
        "Average deal size",
        money,
        "Average amount of the deals won in the period.",
    ),
    Headline(
        "cycle_time_days",
        "Cycle time (days)",
        _days,
        "Mean days from opened to won, for the deals won in the period.",
    ),
)
# Counted apart, beside the figures (no change: they explain the figures).
COUNT_LINES = (
    ("opportunities_opened_without_amount", "Opened without an amount"),
    ("opportunities_won", "Deals won"),
    ("opportunities_lost", "Deals lost"),
    ("won_without_amount", "Won without an amount"),
)


def _change(value: float | None, why: str | None) -> Figure:
    """The report's relative change as a percentage; the CSV keeps the fraction."""
    if value is None:
        return missing(why or "no figure")
    return Figure(f"{value * 100:+.1f}%", f"{value:.4f}")


def _direction(value: float | None) -> tuple[str, str]:
    """An arrow and a word, so that a change never reads by colour alone."""
    if value is None:
        return "", "no comparison"
    if value > 0:
        return "▲", "up"
    if value < 0:
        return "▼", "down"
    return "▶", "no change"


def _figures_table(
    current: dict[str, Any], previous: dict[str, Any], change: dict[str, Any], shown: list[Headline]
) -> Table:
    columns = [
        Column("current", "This period"),
        Column("previous", "Previous period"),
        Column("change", "Change"),
    ]
    rows = []
    for headline in shown:
        rows.append(
            Row(
                headline.label,
                {
                    "current": headline.shown(
                        current[headline.key], why=current["missing"].get(headline.key) or ""
                    ),
                    "previous": headline.shown(
                        previous[headline.key], why=previous["missing"].get(headline.key) or ""
                    ),
                    "change": _change(change[headline.key], change["missing"].get(headline.key)),
                },
                key=headline.key,
            )
        )
    for key, label in COUNT_LINES:
        rows.append(
            Row(label, {"current": count(current[key]), "previous": count(previous[key])},
                kind="line", key=key)
        )  # fmt: skip
    return Table(
        id="overview-figures",
        caption="The period's figures against the previous period",
        columns=columns,
        rows=rows,
        label_heading="figure",
        note="Change is (this period - previous) / previous. Deals without an amount count in "
        "every count and rate, add nothing to an amount and are counted apart.",
    )


def _months_table(report: dict[str, Any], *, spend_shown: bool) -> Table:
    columns = [
        *([Column("spend", "Spend")] if spend_shown else []),
        Column("pipeline", "Pipeline"),
        Column("won_revenue", "Won revenue"),
    ]

    def figures(row: dict[str, Any]) -> dict[str, Figure]:
        out = {"pipeline": money(row["pipeline"]), "won_revenue": money(row["won_revenue"])}
        if spend_shown:
            out["spend"] = money(row["spend"], why=row["missing"].get("spend") or "")
        return out

    rows = [Row(month["month"], figures(month), key=month["month"]) for month in report["months"]]
    # The period's own figures close the table: the months add up to them.
    rows.append(Row("Period", figures(report["rows"][0]), kind="total", key="total"))
    return Table(
        id="overview-months",
        caption=("Spend, pipeline" if spend_shown else "Pipeline") + " and won revenue by month",
        columns=columns,
        rows=rows,
        label_heading="month",
        note="The first and last months count only their days in the period; the period's "
        "deals without an amount are counted in the figures table.",
    )


def _months_chart(report: dict[str, Any], *, spend_shown: bool) -> str:
    keys = (["spend"] if spend_shown else []) + ["pipeline", "won_revenue"]
    names = {"spend": "Spend", "pipeline": "Pipeline", "won_revenue": "Won revenue"}
    groups = [
        charts.BarGroup(
            month["month"],
            [None if month[key] is None else float(month[key]) for key in keys],
        )
        for month in report["months"]
    ]
    return charts.bar_chart(
        chart_id="overview-months-chart",
        title=", ".join(names[key] for key in keys) + " by month",
        series_names=[names[key] for key in keys],
        groups=groups,
    )


def overview_section(*, period: ReportPeriod, user: Any) -> ReportSection:
    """The overview of `period` as `user` may see it, as the page and the
    board pack render it (`web/reports/overview_body.html`)."""
    spend_shown = spend_visible(user)
    report = spend_report_for(
        user, overview_report(start=period.current.start, end=period.current.end)
    )
    current, previous, change = report["rows"]
    shown = [h for h in HEADLINES if spend_shown or not h.spend]
    cards = []
    for headline in HEADLINES:
        if headline.spend and not spend_shown:
            cards.append({"label": headline.label, "key": headline.key, "hidden": True})
            continue
        arrow, word = _direction(change[headline.key])
        cards.append(
            {
                "label": headline.label,
                "key": headline.key,
                "help": headline.help,
                "value": headline.shown(
                    current[headline.key], why=current["missing"].get(headline.key) or ""
                ),
                "previous": headline.shown(
                    previous[headline.key], why=previous["missing"].get(headline.key) or ""
                ),
                "change": _change(change[headline.key], change["missing"].get(headline.key)),
                "arrow": arrow,
                "direction": word,
            }
        )
    figures_table = _figures_table(current, previous, change, shown)
    months_table = _months_table(report, spend_shown=spend_shown)
    return ReportSection(
        title="Overview",
        template_name="web/reports/overview_body.html",
        context={
            "period": period,
            "cards": cards,
            "spend_shown": spend_shown,
            "spend_hidden": SPEND_HIDDEN,
            "figures_table": figures_table,
            "months_table": months_table,
            "months_chart": mark_safe(_months_chart(report, spend_shown=spend_shown)),  # noqa: S308 (escaped by web.charts)  # nosec B308 B703
            "counts": {key: (current[key], previous[key]) for key, _ in COUNT_LINES},
        },
        tables=[figures_table, months_table],
    )


class OverviewPageView(PermissionRequiredMixin, View):
    """`/reports/`: the overview for `?start=&end=` (the quarter to date by
    default) against the previous period; `?csv=overview-figures` or
    `?csv=overview-months` downloads a table."""

    permission_required = "campaigns.view_campaign"

    def get(self, request: HttpRequest) -> HttpResponse:
        period = report_period(request)
        section = overview_section(period=period, user=request.user)
        if "csv" in request.GET:
            return table_csv_response(section.tables, request, name="overview")
        return render(
            request,
            "web/reports/overview.html",
            {"period": period, "section": section, "report": section.context, "printing": False},
        )


urlpatterns = [path("reports/", OverviewPageView.as_view(), name="report-overview")]
