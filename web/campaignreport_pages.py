"""The executive campaign report (`/reports/campaigns/`, issue 17): for a
period (quarter to date by default), every campaign with its programs and
every channel: spend, accounts, lift with its interval, opportunities,
pipeline and won revenue, and what spend bought; the "influenced by no
program" line closes each pipeline table to the period's total.

The numbers are the REST API's (`/api/reports/programs/?view=campaigns`,
`programs`, `channels`): the same `measurement_load` and `pipeline_report`,
the same spend rule (`campaigns.spend_visibility.report_for`); the layout is
`web.campaignreport_tables`. `campaign_report_section` is the report as the
page and the board pack PDF render it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views import View

from campaigns.reports.measurement import measurement_load
from campaigns.reports.programs import pipeline_report
from campaigns.spend_visibility import report_for, spend_visible
from web import campaignreport_tables as layout
from web.report_figures import SPEND_HIDDEN
from web.report_period import ReportPeriod, report_period
from web.report_tables import ReportSection, table_csv_response

TITLE = "Campaign report"
BODY_TEMPLATE = "web/reports/campaigns_body.html"


def _rows(user: Any, data: Any, view: str) -> list[dict[str, Any]]:
    """A view of the programs report as the API answers `user` (spend hidden
    for a role without campaigns.view_spend)."""
    rows: list[dict[str, Any]] = report_for(user, {"rows": pipeline_report(data, view=view)})[
        "rows"
    ]
    return rows


def campaign_report_section(*, period: ReportPeriod, user: Any) -> ReportSection:
    """The campaign report for `period.current` as `user` may see it: its
    tables (served as CSV by the page), charts and notes, in `context`, which
    the body template reads as `report`."""
    shown = period.current
    data = measurement_load(start=shown.start, end=shown.end)
    spend_shown = spend_visible(user)
    campaigns = layout.campaign_rows(
        data,
        campaigns=_rows(user, data, "campaigns"),
        programs=_rows(user, data, "programs"),
        spend_shown=spend_shown,
    )
    channels = layout.channel_rows(data, channels=_rows(user, data, "channels"),
                                   spend_shown=spend_shown)  # fmt: skip
    by_campaign = layout.hierarchy_tables(
        campaigns, prefix="", subject="campaign and program",
        label_heading="Campaign / program", spend_shown=spend_shown,
    )  # fmt: skip
    by_channel = layout.hierarchy_tables(
        channels, prefix="channel-", subject="channel", label_heading="Channel",
        spend_shown=spend_shown,
    )  # fmt: skip
    campaign_intervals = layout.lift_intervals(campaigns.measured)
    channel_intervals = layout.lift_intervals(channels.measured)
    context: dict[str, Any] = {
        "period": shown,
        "window_days": data.window_days,
        "lift_reason": data.lift_reason,
        "spend_shown": spend_shown,
        "spend_hidden": SPEND_HIDDEN,
        "campaigns": by_campaign,
        "channels": by_channel,
        "lift_drawn": campaign_intervals,
        "lift_chart": layout.lift_chart(chart_id="lift-campaigns", subject="campaign and program",
                                        drawn=campaign_intervals),
        "channel_lift_drawn": channel_intervals,
        "channel_lift_chart": layout.lift_chart(chart_id="lift-channels", subject="channel",
                                                drawn=channel_intervals),
        "scatter": None,
        "scatter_chart": None,
        "api_query": f"start={shown.start.isoformat()}&end={shown.end.isoformat()}",
    }  # fmt: skip
    tables = [by_campaign.lift, by_campaign.pipeline, by_channel.lift, by_channel.pipeline]
    if spend_shown:
        scatter_table, points = layout.scatter(campaigns)
        context.update(scatter=scatter_table, scatter_points=points,
                       scatter_chart=layout.scatter_svg(points))  # fmt: skip
        tables += [t for t in (by_campaign.spend, by_channel.spend) if t is not None]
        tables.append(scatter_table)
    return ReportSection(TITLE, BODY_TEMPLATE, context, tables)


class CampaignReportView(PermissionRequiredMixin, View):
    """The report for `?start=&end=` (quarter to date by default); `?csv=<table
    id>` downloads one of its tables."""

    permission_required = "campaigns.view_campaign"

    def get(self, request: HttpRequest) -> HttpResponse:
        period = report_period(request)
        section = campaign_report_section(period=period, user=request.user)
        if "csv" in request.GET:
            shown = period.current
            name = f"campaign-report-{shown.start:%Y%m%d}-{shown.end:%Y%m%d}"
            return table_csv_response(section.tables, request, name=name)
        context = {"period": period, "section": section, "report": section.context,
                   "printing": False}  # fmt: skip
        return render(request, "web/reports/campaigns.html", context)


urlpatterns = [
    path("reports/campaigns/", CampaignReportView.as_view(), name="report-campaigns"),
]
