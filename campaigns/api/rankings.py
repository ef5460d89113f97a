"""Program rankings (`/api/rankings/`): stored runs, running one now, and a
marketer's cut-or-kept decision on a flagged program."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import metrics, selectors, services
from campaigns.api.shared import CsvRenderer, ModelPermissionsWithView, period_checked
from campaigns.models import RankingDecision, RankingEntry, RankingMetric, RankingRun


class RankingEntrySerializer(serializers.ModelSerializer):
    program_name = serializers.CharField(source="program.name", read_only=True)
    channel = serializers.CharField(source="program.channel", read_only=True)
    # Null until someone decides.
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = RankingEntry
        fields = ["id", "program", "program_name", "channel", "rank", "too_early", "spend",
                  "pipeline", "metric_value", "is_flagged", "decision", "decision_note",
                  "decided_by", "decided_at"]  # fmt: skip


class RankingRunSerializer(serializers.ModelSerializer):
    """A run's entries in three lists: ranked (and flagged), too early to judge
    (spend in the period, influence window still open at its end: never
    flagged), and without spend."""

    ranked = serializers.SerializerMethodField()
    too_early = serializers.SerializerMethodField()
    without_spend = serializers.SerializerMethodField()

    class Meta:
        model = RankingRun
        fields = ["id", "period_start", "period_end", "metric", "flag_fraction", "window_days",
                  "trigger", "created_at", "ranked", "too_early", "without_spend"]  # fmt: skip

    def _entries(self, run: RankingRun, kind: str) -> list[dict[str, Any]]:
        def kind_of(entry: RankingEntry) -> str:
            if entry.rank is not None:
                return "ranked"
            return "too_early" if entry.too_early else "without_spend"

        rows = [e for e in run.entries.all() if kind_of(e) == kind]
        return RankingEntrySerializer(rows, many=True).data  # type: ignore[return-value]

    @extend_schema_field(RankingEntrySerializer(many=True))
    def get_ranked(self, run: RankingRun) -> list[dict[str, Any]]:
        return self._entries(run, "ranked")

    @extend_schema_field(RankingEntrySerializer(many=True))
    def get_too_early(self, run: RankingRun) -> list[dict[str, Any]]:
        return self._entries(run, "too_early")

    @extend_schema_field(RankingEntrySerializer(many=True))
    def get_without_spend(self, run: RankingRun) -> list[dict[str, Any]]:
        return self._entries(run, "without_spend")


class RankingRequest(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    metric = serializers.ChoiceField(choices=RankingMetric.choices,
                                     default=RankingMetric.PIPELINE_PER_SPEND)  # fmt: skip
    flag_fraction = serializers.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.1"),
        min_value=Decimal("0.001"), max_value=Decimal(1),
    )  # fmt: skip
    window_days = serializers.IntegerField(default=metrics.INFLUENCE_WINDOW_DAYS, min_value=0,
                                           max_value=730)  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return period_checked(attrs)


class DecisionRequest(serializers.Serializer):
    entry = serializers.IntegerField(min_value=1, max_value=2**63 - 1)  # a 64-bit key
    decision = serializers.ChoiceField(choices=[RankingDecision.CUT, RankingDecision.KEPT])
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RankingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Stored ranking runs, newest first. `POST` runs one now; `POST {id}/decide/`
    marks a flagged program cut or kept with a note."""

    serializer_class = RankingRunSerializer
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    queryset = RankingRun.objects.none()
    # `GET {id}/?format=csv`: the run's entries as a table.
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CsvRenderer]
    filterset_fields = ["trigger", "metric"]

    def get_queryset(self) -> QuerySet[RankingRun]:
        return selectors.ranking_runs()

    @extend_schema(request=RankingRequest, responses={201: RankingRunSerializer})
    def create(self, request: Request) -> Response:
        form = RankingRequest(data=request.data)
        form.is_valid(raise_exception=True)
        run = services.ranking_run(**form.validated_data, user_id=request.user.pk)
        body = RankingRunSerializer(selectors.ranking_run_get(run_id=run.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionRequest, responses={200: RankingEntrySerializer})
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        if not request.user.has_perm("campaigns.change_rankingentry"):
            raise PermissionDenied("deciding needs campaigns.change_rankingentry")
        form = DecisionRequest(data=request.data)
        form.is_valid(raise_exception=True)
        if not selectors.ranking_entry_in_run(entry_id=form.validated_data["entry"], run_id=run.pk):
            wrong = form.validated_data["entry"]
            raise ValidationError({"entry": f"entry {wrong} is not in run {run.pk}"})
        try:
            entry = services.ranking_entry_decide(
                entry_id=form.validated_data["entry"], decision=form.validated_data["decision"],
                note=form.validated_data["note"], user_id=request.user.pk,
            )  # fmt: skip
        except services.DecisionRefused as refused:
            raise ValidationError({"entry": str(refused)}) from None
        return Response(RankingEntrySerializer(entry).data)
