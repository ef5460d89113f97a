"""The report endpoints (`/api/reports/...`): programs (and the campaigns,
channels and sources views), one campaign, the funnel, the deal metrics and
the executive overview.
Each validates its period, loads the measurement rows once and renders the
report modules of `campaigns.reports`."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Opportunity
from campaigns import metrics, selectors
from campaigns.api.shared import CsvRenderer, ModelPermissionsWithView, period_checked
from campaigns.models import Campaign
from campaigns.periods import PeriodOutOfRange, previous_period
from campaigns.reports import deals
from campaigns.reports.campaign import campaign_report, campaign_report_period
from campaigns.reports.funnel import funnel_report, segment_members
from campaigns.reports.measurement import MeasurementData, measurement_load
from campaigns.reports.overview import overview_report
from campaigns.reports.programs import pipeline_report
from campaigns.reports.sources import source_rows
from campaigns.spend_visibility import report_for

ID_MAX = 2**63 - 1  # the largest BigAutoField key


class PeriodRequest(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    window_days = serializers.IntegerField(default=metrics.INFLUENCE_WINDOW_DAYS, min_value=0,
                                           max_value=730)  # fmt: skip
    # Ids within the database's 64-bit keys: a larger one was a 500 (issue 18).
    campaign = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    segment = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return period_checked(attrs)


class ReportApi(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]
    # As the report pages (web/campaignreport_pages.py, web/spendreport_pages.py):
    # reading a campaign report needs view_campaign, not only a login.
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    queryset = Campaign.objects.none()  # for the permission class: view_campaign

    def period(self, request: Request, **defaults: Any) -> dict[str, Any]:
        form = PeriodRequest(data={**defaults, **request.query_params.dict()})
        form.is_valid(raise_exception=True)
        return dict(form.validated_data)

    def load(self, query: Mapping[str, Any]) -> MeasurementData:
        return measurement_load(start=query["start"], end=query["end"],
                                window_days=query["window_days"])  # fmt: skip


def _head(query: Mapping[str, Any]) -> dict[str, Any]:
    return {"start": query["start"], "end": query["end"], "window_days": query["window_days"]}


class ProgramsReportApi(ReportApi):
    """Every program for `?start=&end=` (`window_days`, default 90): spend, reach,
    lift, influenced and attributed pipeline, efficiency. `?view=campaigns`,
    `channels` or `sources` for the other cuts; `?format=csv` for a download.
    Programs, campaigns and channels end with an "(influenced by no program)"
    line and the period's total: attributed plus that line equals the total.
    Spend and the figures drawn from it are null, with `spend_hidden` saying
    why, for a user without `campaigns.view_spend` (campaigns.spend_visibility)."""

    @extend_schema(parameters=[PeriodRequest], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, format: str | None = None) -> Response:
        query = self.period(request)
        data = self.load(query)
        view = request.query_params.get("view", "programs")
        views = ("programs", "campaigns", "channels", "sources")
        if view not in views:
            raise ValidationError({"view": f"use one of {', '.join(views)}"})
        rows = source_rows(data) if view == "sources" else pipeline_report(data, view=view)
        return Response(report_for(request.user, {**_head(query), "view": view, "rows": rows}))


class CampaignReportApi(ReportApi):
    """One campaign for a period (default: its own dates, up to today for a
    campaign still running): its numbers, its programs, its channels and its
    funnel."""

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE, description="Default: the campaign's."),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Default: the campaign's."),
            OpenApiParameter("window_days", OpenApiTypes.INT),
        ],
        # 400 also when the campaign's own dates are outside the days a report covers.
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, pk: int, format: str | None = None) -> Response:
        campaign = get_object_or_404(selectors.campaign_periods(), pk=pk)
        start, end = campaign_report_period(starts_on=campaign.starts_on, ends_on=campaign.ends_on)
        query = self.period(request, start=start.isoformat(), end=end.isoformat())
        data = self.load(query)
        report = {**_head(query), **campaign_report(data, campaign_id=pk)}
        return Response(report_for(request.user, report))


class OpportunitiesReadable(BasePermission):
    """The funnel counts deals: like its page (web/funnel_pages.py), it also
    needs accounts.view_opportunity."""

    message = "the funnel needs accounts.view_opportunity"

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.has_perm("accounts.view_opportunity"))


class FunnelReportApi(ReportApi):
    """Targeted -> engaged -> qualified -> opportunity -> won for a period, over all
    campaigns or `?campaign=`, optionally only a segment's members (`?segment=`)."""

    permission_classes = [*ReportApi.permission_classes, OpportunitiesReadable]

    @extend_schema(parameters=[PeriodRequest], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, format: str | None = None) -> Response:
        query = self.period(request)
        data = self.load(query)
        members = (segment_members(segment_id=query["segment"])
                   if "segment" in query else None)  # fmt: skip
        campaigns = {query["campaign"]} if "campaign" in query else None
        funnel = funnel_report(data, campaign_ids=campaigns, members=members)
        return Response({**_head(query), **funnel})


class DealPeriodRequest(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the period (included).")
    end = serializers.DateField(help_text="Last day of the period (included).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return period_checked(attrs)


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2)


class DealFiguresSerializer(serializers.Serializer):
    """One line of the deal metrics (definitions: docs/measurement.md)."""

    split = serializers.ChoiceField(choices=["all", "segment", "source", "product_line"])
    group = serializers.CharField()
    segment_id = serializers.IntegerField(allow_null=True, required=False)
    opportunities_opened = serializers.IntegerField(help_text="Opened in the period.")
    opportunities_opened_without_amount = serializers.IntegerField()
    pipeline = _money()
    opportunities_closed = serializers.IntegerField(help_text="Won or lost in the period.")
    opportunities_won = serializers.IntegerField()
    opportunities_lost = serializers.IntegerField()
    won_without_amount = serializers.IntegerField()
    won_revenue = _money()
    win_rate = serializers.FloatField(allow_null=True, help_text="won / (won + lost)")
    average_won_deal = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    cycle_days_won = serializers.FloatField(allow_null=True)
    cycle_days_closed = serializers.FloatField(allow_null=True)


class DealMetricsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    rows = DealFiguresSerializer(many=True)


class DealMetricsReportApi(APIView):
    """Deal metrics for `?start=&end=` over all opportunities, targeted or not:
    pipeline and opened counts by opened date; won revenue, win rate, average won
    deal and cycle times by the close date of won and lost deals. The first row
    is the total, then by segment (overlapping), source and product line.
    `?format=csv` for a download. Deals without an amount are counted, never
    read as 0 (the `..._without_amount` columns)."""

    renderer_classes = [JSONRenderer, CsvRenderer]
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    queryset = Opportunity.objects.none()  # for the permission class: view_opportunity

    @extend_schema(parameters=[DealPeriodRequest], responses={200: DealMetricsSerializer})
    def get(self, request: Request, format: str | None = None) -> Response:
        form = DealPeriodRequest(data=request.query_params.dict())
        form.is_valid(raise_exception=True)
        report = deals.deal_metrics(start=form.validated_data["start"],
                                    end=form.validated_data["end"])  # fmt: skip
        return Response(DealMetricsSerializer(report).data)


class OverviewPeriodRequest(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the period (included).")
    end = serializers.DateField(help_text="Last day of the period (included).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = period_checked(attrs)
        try:
            previous_period(attrs["start"], attrs["end"])
        except PeriodOutOfRange as problem:
            raise serializers.ValidationError({"start": str(problem)}) from None
        return attrs


_WHY = "Why each figure that is null could not be computed (figure -> reason)."


@extend_schema_field(
    {"oneOf": [{"type": "string", "format": "decimal"}, {"type": "number"}], "nullable": True}
)
class OverviewFigureField(serializers.Field):
    """A figure of the period rows: money as a decimal string to the cent (as
    the other reports write money), counts as integers, rates, ratios, days and
    the change row's relative changes as numbers; null when it could not be
    computed (`missing` says why) or is hidden (`spend_hidden`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"{value.quantize(metrics.CENT, ROUND_HALF_UP)}"
        return value


class OverviewRowSerializer(serializers.Serializer):
    """The period, the previous period, or the relative change between them
    ((current - previous) / |previous|; definitions: docs/reports.md)."""

    period = serializers.ChoiceField(choices=["current", "previous", "change"])
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    spend = OverviewFigureField(help_text="Null for a role that may not see spend.")
    pipeline = OverviewFigureField(help_text="Amounts of the deals opened in the period.")
    won_revenue = OverviewFigureField(help_text="Amounts of the deals won in the period.")
    pipeline_per_spend = OverviewFigureField()
    accounts_engaged = OverviewFigureField()
    accounts_qualified = OverviewFigureField()
    opportunities_opened = OverviewFigureField()
    win_rate = OverviewFigureField(help_text="won / (won + lost), by close date")
    average_deal_size = OverviewFigureField(help_text="Average won deal with an amount.")
    cycle_time_days = OverviewFigureField(help_text="Mean days opened to won.")
    opportunities_opened_without_amount = serializers.IntegerField(required=False)
    opportunities_won = serializers.IntegerField(required=False)
    opportunities_lost = serializers.IntegerField(required=False)
    won_without_amount = serializers.IntegerField(required=False)
    missing = serializers.DictField(child=serializers.CharField(allow_null=True), help_text=_WHY)


class OverviewMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    start = serializers.DateField(help_text="The month's first day in the period.")
    end = serializers.DateField(help_text="The month's last day in the period.")
    spend = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    pipeline = _money()
    won_revenue = _money()
    opportunities_opened_without_amount = serializers.IntegerField()
    won_without_amount = serializers.IntegerField()
    missing = serializers.DictField(child=serializers.CharField(allow_null=True), help_text=_WHY)


class OverviewSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    previous_start = serializers.DateField()
    previous_end = serializers.DateField()
    rows = OverviewRowSerializer(many=True)
    months = OverviewMonthSerializer(many=True)
    spend_hidden = serializers.CharField(required=False, help_text="Why spend figures are null.")


class OverviewReportApi(APIView):
    """The executive overview for `?start=&end=` against the previous period
    (campaigns.periods.previous_period): `rows` are the period, the previous
    period and the relative change, with spend, pipeline, won revenue,
    pipeline per unit of spend, accounts engaged and qualified, opportunities
    opened, win rate, average deal size and cycle time; `months` holds spend,
    pipeline and won revenue per calendar month. A figure that cannot be
    computed is null and `missing` says why. `?format=csv` downloads `rows`.
    Spend and pipeline per spend are null, with `spend_hidden` saying why, for
    a user without `campaigns.view_spend`."""

    renderer_classes = [JSONRenderer, CsvRenderer]
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    queryset = Campaign.objects.none()  # for the permission class: view_campaign

    @extend_schema(parameters=[OverviewPeriodRequest], responses={200: OverviewSerializer})
    def get(self, request: Request, format: str | None = None) -> Response:
        form = OverviewPeriodRequest(data=request.query_params.dict())
        form.is_valid(raise_exception=True)
        report = overview_report(start=form.validated_data["start"],
                                 end=form.validated_data["end"])  # fmt: skip
        return Response(OverviewSerializer(report_for(request.user, report)).data)
