"""`GET /api/reports/conversion/`: what converts (issue 19, part 5). For a
`dimension` (program, channel, content, activity_type, first_touch_source),
a period (`start`, `end`) and optionally a `segment`, each group's share of
touched accounts that opened an opportunity within 90 days of their first
touch by it, with a 95% Wilson interval and the number of accounts, ranked,
against the segment's base rate (campaigns.reports.conversion).
`?format=csv` downloads the rows. The page /reports/conversion/ shows the
same report."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api.reports import OpportunitiesReadable
from campaigns.api.shared import CsvRenderer, ModelPermissionsWithView, period_checked
from campaigns.models import Campaign
from campaigns.reports.conversion import (
    DIMENSIONS,
    ConversionQuery,
    SegmentNotFound,
    conversion_report,
)

# The reports read years of history at most (as web.report_period): a wider
# period is a typo, and every account's touches would be read for it.
LONGEST_PERIOD_DAYS = 3 * 366


class ConversionRequest(serializers.Serializer):
    dimension = serializers.ChoiceField(choices=list(DIMENSIONS), default="program")
    start = serializers.DateField(help_text="First day of the period (included).")
    end = serializers.DateField(help_text="Last day of the period (included).")
    segment = serializers.IntegerField(required=False, min_value=1,
                                       help_text="Only this ICP segment's members.")  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = period_checked(attrs)
        if (attrs["end"] - attrs["start"]).days + 1 > LONGEST_PERIOD_DAYS:
            raise ValidationError({"end": "a report covers at most three years"})
        return attrs


class ConversionReportApi(APIView):
    """What converts: `base` (the segment's touched accounts) and `rows`, the
    groups with at least 30 measured accounts ranked by their interval's
    lower bound, then the smaller groups (`ranked` false, `rank` null).
    Needs campaigns.view_campaign and accounts.view_opportunity, as the funnel."""

    renderer_classes = [JSONRenderer, CsvRenderer]
    permission_classes = [IsAuthenticated, ModelPermissionsWithView, OpportunitiesReadable]
    queryset = Campaign.objects.none()  # for the permission class: view_campaign

    @extend_schema(parameters=[ConversionRequest], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, format: str | None = None) -> Response:
        form = ConversionRequest(data=request.query_params.dict())
        form.is_valid(raise_exception=True)
        query = form.validated_data
        try:
            report = conversion_report(ConversionQuery(
                dimension=query["dimension"], start=query["start"], end=query["end"],
                segment_id=query.get("segment"),
            ))  # fmt: skip
        except SegmentNotFound as problem:
            raise ValidationError({"segment": str(problem)}) from None
        return Response(report)
