"""The funnel and velocity report (issue 17, `/reports/funnel/`): for a period
(quarter to date by default), target accounts -> engaged -> qualified ->
opportunity -> won with the conversions, overall and for a chosen segment
(chart and table) and by segment; deal metrics by segment, source and product
line; and the figures the old MQL reports hid: cost per engaged and qualified
account and per opportunity by channel, and the close rate of
marketing-sourced deals. Every table downloads as CSV (`?csv=<table id>`).

The numbers are the REST API's (`/api/reports/funnel/`, `/api/reports/deals/`,
`/api/reports/programs/?view=channels` and `?view=sources`): the page calls
the same `campaigns.reports` functions on the same period and lays them out
(`web.funnel_tables`). Sales (no `campaigns.view_spend`) sees no cost figure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.safestring import mark_safe
from django.views import View

from campaigns.reports import deals
from campaigns.reports.funnel import funnel_report, segment_funnels
from campaigns.reports.measurement import measurement_load
from campaigns.reports.programs import pipeline_report
from campaigns.reports.sources import source_rows
from campaigns.spend_visibility import report_for, spend_visible
from web import funnel_tables
from web.charts import BarGroup, bar_chart
from web.report_period import report_period
from web.report_tables import ReportSection, Table, table_csv_response

ALL_SEGMENTS = "All target accounts"


class FunnelSegmentForm(forms.Form):
    """Which segment the funnel chart and its steps show (all by default)."""

    segment = forms.TypedChoiceField(label="Segment", required=False, coerce=int, empty_value=None)

    def __init__(self, data: Any, *, segments: list[tuple[int, str]]) -> None:
        super().__init__(data)
        field = self.fields["segment"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", ALL_SEGMENTS), *segments]


@dataclass(frozen=True)
class FunnelReport:
    """What the page shows: the reports' rows for the period and the chosen segment."""

    start: dt.date
    end: dt.date
    overall: dict[str, Any]
    segments: list[dict[str, Any]]
    chosen: dict[str, Any] | None
    deal_metrics: dict[str, Any]
    channels: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    spend_shown: bool


def funnel_page_report(user: Any, *, start: dt.date, end: dt.date) -> FunnelReport:
    """Every report the page shows, as the API computes it for the same period
    (influence window: the API's default) and as `user` may see it. A fixed
    number of queries whatever the number of segments: measurement_load's,
    segment_funnels' two and deal_metrics' three."""
    data = measurement_load(start=start, end=end)
    segments = segment_funnels(data)
    hidden = report_for(user, {
        "channels": pipeline_report(data, view="channels"), "sources": source_rows(data),
    })  # fmt: skip
    return FunnelReport(
        start=start, end=end, overall=funnel_report(data), segments=segments, chosen=None,
        deal_metrics=deals.deal_metrics(start=start, end=end),
        channels=hidden["channels"], sources=hidden["sources"], spend_shown=spend_visible(user),
    )  # fmt: skip


def funnel_chart(report: FunnelReport) -> str:
    """The steps as bars: all target accounts, and beside them the chosen segment's."""
    series = [ALL_SEGMENTS]
    funnels = [report.overall]
    if report.chosen is not None:
        series.append(report.chosen["segment"])
        funnels.append(report.chosen)
    groups = [
        BarGroup(funnel_tables.STEP_LABELS[step["stage"]],
                 [float(f["steps"][index]["accounts"]) for f in funnels])
        for index, step in enumerate(report.overall["steps"])
    ]  # fmt: skip
    return bar_chart(chart_id="funnel-chart", title="Accounts at each step of the funnel",
                     series_names=series, groups=groups)  # fmt: skip


def funnel_section(report: FunnelReport) -> ReportSection:
    """The report as its page and a board pack render it (no shell, no forms)."""
    shown = report.chosen or report.overall
    shown_label = report.chosen["segment"] if report.chosen else ALL_SEGMENTS
    steps = funnel_tables.steps_table(shown, shown=shown_label)
    by_segment = funnel_tables.segments_table(report.overall, report.segments)
    segment_deals = funnel_tables.funnel_deals_table(report.overall, report.segments)
    deal_tables = funnel_tables.deal_tables(report.deal_metrics)
    channels = funnel_tables.channel_costs_table(report.channels,
                                                 spend_shown=report.spend_shown)  # fmt: skip
    sources = funnel_tables.sources_table(report.sources, spend_shown=report.spend_shown)
    tables: list[Table] = [steps, by_segment, segment_deals, *deal_tables, channels, sources]
    context = {
        "steps": steps, "by_segment": by_segment, "segment_deals": segment_deals,
        "deal_tables": deal_tables, "channels": channels, "sources": sources,
        "chart": mark_safe(funnel_chart(report)),  # noqa: S308 - web.charts escapes its text  # nosec B308 B703
        "chart_series": [ALL_SEGMENTS] + ([shown_label] if report.chosen else []),
        "shown_label": shown_label, "spend_shown": report.spend_shown,
    }  # fmt: skip
    return ReportSection("Funnel and velocity", "web/reports/funnel_body.html", context, tables)


class FunnelReportView(PermissionRequiredMixin, View):
    """The page: the period and segment forms, then the report's section. Reading
    needs what the reports' tab and the deal metrics API need; anonymous
    visitors go to log in, others without the right get the 403 page."""

    permission_required = ("campaigns.view_campaign", "accounts.view_opportunity")

    def get(self, request: HttpRequest) -> HttpResponse:
        period = report_period(request)
        report = funnel_page_report(
            request.user, start=period.current.start, end=period.current.end
        )
        choices = [(s["segment_id"], s["segment"]) for s in report.segments]
        form = FunnelSegmentForm({"segment": request.GET.get("segment", "")}, segments=choices)
        # An unknown segment: the error beside the field, all target accounts meanwhile.
        segment_id = form.cleaned_data["segment"] if form.is_valid() else None
        chosen = next((s for s in report.segments if s["segment_id"] == segment_id), None)
        report = replace(report, chosen=chosen)
        section = funnel_section(report)
        if "csv" in request.GET:
            return table_csv_response(section.tables, request, name="funnel")
        status = 200 if period.valid and form.is_valid() else 400
        extra = [("segment", segment_id)] if segment_id is not None else []
        return render(
            request,
            "web/reports/funnel.html",
            {
                "period": period,
                "period_extra": extra,
                "segment_form": form,
                "section": section,
                "report": section.context,
                "printing": False,
            },
            status=status,
        )


urlpatterns = [path("reports/funnel/", FunnelReportView.as_view(), name="report-funnel")]
