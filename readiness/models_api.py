"""The readiness models on the REST API (issue 19, part 4):

- `GET /api/readiness/models/`: the latest version of each segment (the one
  that serves), `?all=1` every version; with its status, the fallback's
  reason, the counts it trained on and its backtest (AUC, Brier, ECE,
  top-decile lift of the model and both baselines). Needs
  readiness.view_readinessmodel, as the readiness page does.
- `POST /api/readiness/models/train/`: a training run as a core Job (body
  optional: {"segments": [ids]}, default every active segment); 202 with the
  job's id and the URL of its progress. Needs readiness.add_readinessmodel."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_parsers import BoundedJSONParser
from core.api_permissions import ModelPermissionsWithView
from readiness.model_selectors import (
    FIGURES,
    backtest_comparisons,
    backtest_figures,
    readiness_model_list,
)
from readiness.model_services import SegmentsUnknown, readiness_train_job_start
from readiness.models import ReadinessModel


class MethodFiguresSerializer(serializers.Serializer):
    method = serializers.CharField()
    # A declared field (popped by DRF's metaclass), not Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    auc = serializers.FloatField(allow_null=True)
    brier = serializers.FloatField(allow_null=True)
    ece = serializers.FloatField(allow_null=True)
    top_decile_lift = serializers.FloatField(allow_null=True)
    top_decile_rate = serializers.FloatField(allow_null=True)
    base_rate = serializers.FloatField(allow_null=True)
    rows = serializers.IntegerField(allow_null=True)
    positives = serializers.IntegerField(allow_null=True)


class ComparisonSerializer(serializers.Serializer):
    baseline = serializers.CharField()
    # A declared field (popped by DRF's metaclass), not Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    auc = serializers.FloatField()
    auc_low = serializers.FloatField()
    auc_high = serializers.FloatField()
    brier = serializers.FloatField()
    brier_low = serializers.FloatField()
    brier_high = serializers.FloatField()
    verdict = serializers.ChoiceField(choices=["better", "tie", "worse"])
    accounts = serializers.IntegerField()
    resamples = serializers.IntegerField()


class ReadinessModelSerializer(serializers.ModelSerializer):
    segment = serializers.CharField(source="segment.name", read_only=True)
    backtest = serializers.SerializerMethodField()
    comparisons = serializers.SerializerMethodField()

    class Meta:
        model = ReadinessModel
        fields = ["id", "segment", "segment_id", "version", "status", "reason", "trained_at",
                  "as_of", "trained_through", "rows", "positive_rows", "accounts",
                  "positive_accounts", "negative_accounts", "backtest",
                  "comparisons"]  # fmt: skip

    @extend_schema_field(MethodFiguresSerializer(many=True))
    def get_backtest(self, version: ReadinessModel) -> list[dict[str, Any]]:
        """The pooled backtest of the model, the engagement score and the MQL
        rule ([] for a fallback version: it has none)."""
        return [
            {"method": row.method, "label": row.label, **{name: getattr(row, name)
                                                          for name in FIGURES}}
            for row in backtest_figures(version.metrics)
        ]  # fmt: skip

    @extend_schema_field(ComparisonSerializer(many=True))
    def get_comparisons(self, version: ReadinessModel) -> list[dict[str, Any]]:
        """The model minus each baseline in the backtest, with 95% intervals
        from a paired bootstrap over accounts, and the verdict ([] for a
        fallback or a version trained before comparisons were stored)."""
        return [asdict(row) for row in backtest_comparisons(version.metrics)]


class ReadinessModelListApi(generics.ListAPIView):
    """Readiness model versions by segment, newest first: the latest of each
    segment, `?all=1` every version."""

    serializer_class = ReadinessModelSerializer
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]

    def get_queryset(self) -> QuerySet[ReadinessModel]:
        return readiness_model_list(all_versions=bool(self.request.query_params.get("all")))


class TrainRequest(serializers.Serializer):
    segments = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),  # a 64-bit key
        required=False,
        allow_empty=False,
        max_length=500,
        help_text="Segment ids to train (active segments); default every active segment.",
    )


class TrainStarted(serializers.Serializer):
    job = serializers.IntegerField()
    url = serializers.CharField()
    status = serializers.CharField()
    segments = serializers.ListField(child=serializers.IntegerField(), allow_null=True)


class ReadinessTrainApi(generics.GenericAPIView):
    """Start a training run: a new model version per segment, then every
    member scored with it. The run is a core Job; `url` is its progress page."""

    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    # JSON only: a form body repeats `segments` once per id, and past
    # DATA_UPLOAD_MAX_NUMBER_FIELDS Django answers an HTML 400 (the fuzz found it).
    parser_classes = [BoundedJSONParser]
    # POST needs readiness.add_readinessmodel (ModelPermissionsWithView).
    queryset = ReadinessModel.objects.none()
    serializer_class = TrainRequest

    @extend_schema(
        request=TrainRequest,
        responses={
            202: TrainStarted,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="{segments: [message]}: not a list of ids, or an id that names "
                "no active segment.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        form = TrainRequest(data=request.data)
        form.is_valid(raise_exception=True)
        segment_ids = form.validated_data.get("segments")
        try:
            job = readiness_train_job_start(segment_ids=segment_ids, user_id=request.user.pk)
        except SegmentsUnknown as unknown:
            raise ValidationError({"segments": [str(unknown)]}) from None
        job.refresh_from_db(fields=["status"])
        body = {
            "job": job.pk,
            "url": request.build_absolute_uri(reverse("web:job", args=[job.pk])),
            "status": job.status,
            "segments": sorted(set(segment_ids)) if segment_ids is not None else None,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)
