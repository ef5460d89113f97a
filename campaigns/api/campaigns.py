"""Campaigns (`/api/campaigns/`): the list with counts and spend, writes, the
target list (criteria or CSV, redrawing the holdout) and the audience export."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import FitGrade
from campaigns import selectors, services, target_services
from campaigns.api.shared import (
    ModelPermissionsWithView,
    SpendTotalField,
    audience_csv_response,
    refusals_as_400,
    row_errors_json,
)
from campaigns.models import Campaign
from core.api_parsers import BoundedJSONParser
from core.csvimport import FileRefused


class CampaignSerializer(serializers.ModelSerializer):
    # Null when the campaign has no owner.
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True)
    target_count = serializers.IntegerField(read_only=True, default=0)
    holdout_count = serializers.IntegerField(read_only=True, default=0)
    program_count = serializers.IntegerField(read_only=True, default=0)
    spend_total = SpendTotalField()
    holdout_seed = serializers.IntegerField(required=False, allow_null=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "objective", "description", "starts_on", "ends_on", "budget",
                  "currency", "holdout_fraction", "holdout_seed", "segment", "owner",
                  "target_count", "holdout_count", "program_count", "spend_total",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]


class CampaignFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    active_on = django_filters.DateFilter(method="active_on_filter", label="Running on this day")

    class Meta:
        model = Campaign
        fields = ["objective", "owner", "segment"]

    def active_on_filter(
        self, queryset: QuerySet[Campaign], name: str, value: Any
    ) -> QuerySet[Campaign]:
        return queryset.filter(starts_on__lte=value, ends_on__gte=value)


class TargetsRequest(serializers.Serializer):
    """Either criteria (JSON) or `file` (CSV with a domain or external_id column)."""

    file = serializers.FileField(required=False)
    replace = serializers.BooleanField(required=False, default=False)
    segment = serializers.IntegerField(required=False, allow_null=True, default=None)
    fit_grades = serializers.ListField(child=serializers.ChoiceField(choices=FitGrade.choices),
                                       required=False, default=list)  # fmt: skip
    min_fit = serializers.IntegerField(required=False, allow_null=True, default=None,
                                       min_value=0, max_value=100)  # fmt: skip
    tiers = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=3),
                                  required=False, default=list)  # fmt: skip
    industries = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    countries = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    is_target = serializers.BooleanField(required=False, allow_null=True, default=None)
    is_customer = serializers.BooleanField(required=False, allow_null=True, default=None)


def _targets_body(result: services.TargetsSet) -> dict[str, int]:
    return {"added": result.added, "removed": result.removed, "targets": result.targets,
            "holdout": result.holdout}  # fmt: skip


class CampaignViewSet(viewsets.ModelViewSet):
    """Campaigns; `POST {id}/targets/` builds the target list (criteria or CSV) and
    redraws the holdout; `GET {id}/audience/` exports (CSV) the targets minus the holdout."""

    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    parser_classes = [BoundedJSONParser, FormParser, MultiPartParser]
    queryset = Campaign.objects.none()  # for the permission class; rows come from the selector

    def get_queryset(self) -> QuerySet[Campaign]:
        return selectors.campaign_list()

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        values.setdefault("owner", self.request.user)
        with refusals_as_400():
            campaign = services.campaign_create(values=values)
        # Answered as read, with its counts and spend (the selector's annotations).
        serializer.instance = self.get_queryset().get(pk=campaign.pk)

    def perform_update(self, serializer: Any) -> None:
        with refusals_as_400():
            # The pages' edit: from the first day on, a new holdout fraction or
            # seed is refused (campaigns.holdout.holdout_frozen), not redrawn.
            campaign = target_services.campaign_edit(
                campaign_id=serializer.instance.pk,
                values=serializer.validated_data,
                today=timezone.localdate(),
            )
        # Answered as read: a PATCH answered without the counts, spend and owner
        # (a partial serializer skips fields it cannot read), a PUT with counts of 0.
        serializer.instance = self.get_queryset().get(pk=campaign.pk)

    @extend_schema(request=TargetsRequest, responses={200: dict, 400: dict})
    @action(detail=True, methods=["post"])
    def targets(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        form = TargetsRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            if data.get("file") is not None:
                result = services.campaign_targets_import(
                    campaign_id=campaign.pk, data=data["file"].read(), replace=data["replace"]
                )
            else:
                criteria = selectors.TargetCriteria(
                    segment_id=data["segment"], fit_grades=data["fit_grades"],
                    min_fit=data["min_fit"], tiers=data["tiers"], industries=data["industries"],
                    countries=data["countries"], is_target=data["is_target"],
                    is_customer=data["is_customer"],
                )  # fmt: skip
                result = services.campaign_targets_from_criteria(
                    campaign_id=campaign.pk, criteria=criteria, replace=data["replace"]
                )
        except FileRefused as problem:
            return Response({"code": "invalid_file", "message": str(problem)}, status=400)
        except services.TargetsRejected as rejected:
            return Response(
                {"code": "invalid_rows", "message": f"nothing changed: {rejected}",
                 "errors": row_errors_json(rejected.errors)},
                status=400,
            )  # fmt: skip
        return Response(_targets_body(result))

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def audience(self, request: Request, pk: str) -> StreamingHttpResponse:
        return audience_csv_response(campaign_id=self.get_object().pk)
