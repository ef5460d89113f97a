"""Pipeline plans (`/api/pipeline-plans/`): a plan with its needs and plan
against actual, and filling it from the deal history."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import selectors, services
from campaigns.api.shared import CsvRenderer, ModelPermissionsWithView, refusals_as_400
from campaigns.models import PipelinePlan
from campaigns.reports.plans import plan_against_actual


class PipelinePlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = PipelinePlan
        fields = ["id", "name", "period_start", "period_end", "revenue_target", "win_rate",
                  "average_deal_size", "cycle_time_days", "currency", "created_at",
                  "updated_at"]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]


class FillRequest(serializers.Serializer):
    lookback_days = serializers.IntegerField(default=365, min_value=1, max_value=3650)


class PipelinePlanViewSet(viewsets.ModelViewSet):
    """Revenue plans. `GET {id}/` adds the needs (pipeline T/w, opportunities
    T/(w*d), the open-by window) and plan against actual by month;
    `POST {id}/fill_from_history/` sets win rate, deal size and cycle time from
    the deals closed in the year before the period (`reports.plans.history_deals`),
    refused (400) when none of them was won."""

    serializer_class = PipelinePlanSerializer
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    queryset = PipelinePlan.objects.none()
    # `GET {id}/?format=csv`: plan against actual, month by month.
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CsvRenderer]

    def get_queryset(self) -> QuerySet[PipelinePlan]:
        return selectors.pipeline_plan_list()

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        plan = self.get_object()
        return Response({**PipelinePlanSerializer(plan).data, **plan_against_actual(plan)})

    def perform_create(self, serializer: Any) -> None:
        with refusals_as_400():
            serializer.instance = services.pipeline_plan_save(
                plan_id=None, values={**serializer.validated_data, "created_by": self.request.user}
            )

    def perform_update(self, serializer: Any) -> None:
        with refusals_as_400():
            serializer.instance = services.pipeline_plan_save(
                plan_id=serializer.instance.pk, values=serializer.validated_data
            )

    @extend_schema(request=FillRequest, responses={200: PipelinePlanSerializer})
    @action(detail=True, methods=["post"])
    def fill_from_history(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        if not request.user.has_perm("campaigns.change_pipelineplan"):
            raise PermissionDenied("filling a plan needs campaigns.change_pipelineplan")
        form = FillRequest(data=request.data)
        form.is_valid(raise_exception=True)
        with refusals_as_400():
            plan = services.pipeline_plan_fill_from_history(
                plan_id=plan.pk, lookback_days=form.validated_data["lookback_days"]
            )
        return Response({**PipelinePlanSerializer(plan).data, **plan_against_actual(plan)})
