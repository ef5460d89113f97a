"""What converts (issue 19, part 5; `/reports/conversion/`): for a period
(the last 12 months by default) and a dimension (program, channel, content,
activity type, first-touch source), optionally one segment, each group's
conversion rate to an opportunity within 90 days with its 95% interval and
number of accounts, ranked, against the segment's base rate. The table
downloads as CSV (`?csv=conversion`).

The numbers are the REST API's (`/api/reports/conversion/`): the page calls
`campaigns.reports.conversion` on the same query and lays it out
(`web.conversion_tables`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views import View

from accounts.models import ICPSegment
from campaigns.periods import period_presets
from campaigns.reports.conversion import DIMENSIONS, ConversionQuery, conversion_report
from web.conversion_tables import CHART_ROWS, conversion_chart, conversion_table
from web.report_period import report_period
from web.report_tables import ReportSection, table_csv_response

ALL_ACCOUNTS = "All accounts"
LAST_12_MONTHS = -1  # the presets' index of "Last 12 months"


class ConversionForm(forms.Form):
    """What the table groups by, and over which segment's accounts."""

    dimension = forms.ChoiceField(label="Group by", choices=list(DIMENSIONS.items()))
    segment = forms.TypedChoiceField(label="Segment", required=False, coerce=int, empty_value=None)

    def __init__(self, data: Any, *, segments: list[tuple[int, str]]) -> None:
        super().__init__(data)
        field = self.fields["segment"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", ALL_ACCOUNTS), *segments]


class ConversionReportView(PermissionRequiredMixin, View):
    """The page: the period, dimension and segment forms, then the table.
    Reading needs what the API needs (as the funnel)."""

    permission_required = ("campaigns.view_campaign", "accounts.view_opportunity")

    def get(self, request: HttpRequest) -> HttpResponse:
        today = timezone.localdate()
        period = report_period(request, today=today,
                               default=period_presets(today)[LAST_12_MONTHS])  # fmt: skip
        segments = list(ICPSegment.objects.order_by("name", "id").values_list("id", "name"))
        form = ConversionForm({"dimension": request.GET.get("dimension") or "program",
                               "segment": request.GET.get("segment", "")},
                              segments=segments)  # fmt: skip
        valid = form.is_valid()
        # An unknown value: the error beside the field, the defaults meanwhile.
        dimension = (form.cleaned_data.get("dimension") if valid else None) or "program"
        segment_id = form.cleaned_data.get("segment") if valid else None
        report = conversion_report(ConversionQuery(
            dimension=dimension, start=period.current.start, end=period.current.end,
            segment_id=segment_id,
        ))  # fmt: skip
        shown = report["segment"] or ALL_ACCOUNTS
        table = conversion_table(report, dimension_label=DIMENSIONS[dimension], shown=shown)
        if "csv" in request.GET:
            return table_csv_response([table], request, name="conversion")
        section = ReportSection("What converts", "web/reports/conversion_body.html",
                                {"table": table, "report": report, "shown": shown,
                                 "chart": conversion_chart(report), "chart_rows": CHART_ROWS,
                                 "dimension_label": DIMENSIONS[dimension]}, [table])  # fmt: skip
        extra = [("dimension", dimension)]
        if segment_id is not None:
            extra.append(("segment", segment_id))
        return render(
            request,
            "web/reports/conversion.html",
            {"period": period, "period_extra": extra, "form": form, "section": section,
             "report": section.context, "printing": False},
            status=200 if period.valid and valid else 400,
        )  # fmt: skip


urlpatterns = [path("reports/conversion/", ConversionReportView.as_view(),
                    name="report-conversion")]  # fmt: skip
