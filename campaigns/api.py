"""REST endpoints of the campaigns app."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import FitGrade, Opportunity
from campaigns import deals, reports, selectors, services
from campaigns.models import (
    Campaign,
    Channel,
    PipelinePlan,
    Program,
    RankingDecision,
    RankingEntry,
    RankingMetric,
    RankingRun,
    Spend,
)
from core.csvimport import FileRefused, RowError


def row_errors_json(errors: list[RowError]) -> list[dict[str, Any]]:
    """Row errors of a CSV upload as the API returns them (targets here; imports.api)."""
    return [
        {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason} for e in errors
    ]


# --- Campaigns, programs, spend and opportunities ------------------------------------


@contextmanager
def refusals_as_400() -> Iterator[None]:
    """A service's validation error becomes a 400 naming the field (or `__all__`)."""
    try:
        yield
    except DjangoValidationError as problem:
        raise ValidationError(problem.message_dict) from None


class ModelPermissionsWithView(DjangoModelPermissions):
    """The role grants of the `0002_roles` migrations: reading needs `view_<model>`,
    writing needs add/change/delete as in Django's model permissions."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class CampaignSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    target_count = serializers.IntegerField(read_only=True, default=0)
    holdout_count = serializers.IntegerField(read_only=True, default=0)
    program_count = serializers.IntegerField(read_only=True, default=0)
    spend_total = serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, default=None
    )
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


def _csv_line(values: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if v is None else v for v in values])
    return buffer.getvalue()


class CampaignViewSet(viewsets.ModelViewSet):
    """Campaigns; `POST {id}/targets/` builds the target list (criteria or CSV) and
    redraws the holdout; `GET {id}/audience/` exports (CSV) the targets minus the holdout."""

    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    queryset = Campaign.objects.none()  # for the permission class; rows come from the selector

    def get_queryset(self) -> QuerySet[Campaign]:
        return selectors.campaign_list()

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        values.setdefault("owner", self.request.user)
        with refusals_as_400():
            serializer.instance = services.campaign_create(values=values)

    def perform_update(self, serializer: Any) -> None:
        with refusals_as_400():
            serializer.instance = services.campaign_update(
                campaign_id=serializer.instance.pk, values=serializer.validated_data
            )

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
        campaign = self.get_object()
        header = ["account_id", "name", "domain", "external_id"]
        rows = selectors.campaign_audience(campaign_id=campaign.pk)
        response = StreamingHttpResponse(
            itertools.chain([_csv_line(header)], (_csv_line(row) for row in rows)),
            content_type="text/csv",
        )
        response["Content-Disposition"] = f'attachment; filename="audience-{campaign.pk}.csv"'
        return response


class ProgramSerializer(serializers.ModelSerializer):
    campaign_name = serializers.CharField(source="campaign.name", read_only=True)
    spend_total = serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, default=None
    )

    class Meta:
        model = Program
        fields = ["id", "campaign", "campaign_name", "name", "channel", "starts_on", "ends_on",
                  "tracking_key", "status", "spend_total", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]


class ProgramFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Program
        fields = ["campaign", "channel", "status", "tracking_key"]


class ProgramViewSet(viewsets.ModelViewSet):
    serializer_class = ProgramSerializer
    filterset_class = ProgramFilter
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    queryset = Program.objects.none()

    def get_queryset(self) -> QuerySet[Program]:
        return selectors.program_list()

    def perform_create(self, serializer: Any) -> None:
        with refusals_as_400():
            serializer.instance = services.program_save(
                program_id=None, values=serializer.validated_data
            )

    def perform_update(self, serializer: Any) -> None:
        with refusals_as_400():
            serializer.instance = services.program_save(
                program_id=serializer.instance.pk, values=serializer.validated_data
            )


class SpendSerializer(serializers.ModelSerializer):
    program_name = serializers.CharField(source="program.name", read_only=True)
    channel = serializers.CharField(source="program.channel", read_only=True)

    class Meta:
        model = Spend
        fields = ["id", "program", "program_name", "channel", "spent_on", "amount", "currency",
                  "description", "external_id", "created_at"]  # fmt: skip
        read_only_fields = ["created_at"]


class SpendFilter(django_filters.FilterSet):
    spent_from = django_filters.DateFilter(field_name="spent_on", lookup_expr="gte")
    spent_to = django_filters.DateFilter(field_name="spent_on", lookup_expr="lte")
    campaign = django_filters.NumberFilter(field_name="program__campaign")
    channel = django_filters.ChoiceFilter(field_name="program__channel", choices=Channel.choices)

    class Meta:
        model = Spend
        fields = ["program", "currency"]


class SpendViewSet(viewsets.ModelViewSet):
    serializer_class = SpendSerializer
    filterset_class = SpendFilter
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    queryset = Spend.objects.none()

    def get_queryset(self) -> QuerySet[Spend]:
        return selectors.spend_list()

    def perform_create(self, serializer: Any) -> None:
        with refusals_as_400():
            serializer.instance = services.spend_save(
                spend_id=None, values=serializer.validated_data
            )

    def perform_update(self, serializer: Any) -> None:
        with refusals_as_400():
            serializer.instance = services.spend_save(
                spend_id=serializer.instance.pk, values=serializer.validated_data
            )


class OpportunitySerializer(serializers.ModelSerializer):
    # Null for a deal not assigned to an account yet.
    account_name = serializers.CharField(source="account.name", read_only=True, allow_null=True)
    # Declared, so no uniqueness validator: an existing CRM id is an update (upsert).
    external_id = serializers.CharField(max_length=100)

    class Meta:
        model = Opportunity
        fields = ["id", "external_id", "account", "account_name", "name", "amount", "currency",
                  "crm_stage", "status", "opened_on", "close_on", "source", "product_line",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]


class OpportunityFilter(django_filters.FilterSet):
    opened_from = django_filters.DateFilter(field_name="opened_on", lookup_expr="gte")
    opened_to = django_filters.DateFilter(field_name="opened_on", lookup_expr="lte")
    # `?has_account=false`: the deals not assigned to an account yet.
    has_account = django_filters.BooleanFilter(
        field_name="account", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Opportunity
        fields = ["account", "status", "source", "product_line"]


class OpportunityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Deals from the CRM. `POST` upserts by `external_id`, as the CSV import does."""

    serializer_class = OpportunitySerializer
    filterset_class = OpportunityFilter
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    queryset = Opportunity.objects.none()

    def get_queryset(self) -> QuerySet[Opportunity]:
        return selectors.opportunity_list()

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        account = values.pop("account", None)
        values["account_id"] = None if account is None else account.pk
        with refusals_as_400():
            serializer.instance = services.opportunity_upsert(values=values)


# --- CSV downloads -----------------------------------------------------------------


def _flat(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested report rows as CSV columns: {"lift": {"low": 1}} -> {"lift_low": 1}."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}_"))
        elif isinstance(value, list):
            continue  # nested tables have their own report
        else:
            out[f"{prefix}{key}"] = value
    return out


# Where a response keeps its table, in order of preference: report rows, funnel
# steps, a ranking run's entries (programs too early to judge, then those
# without spend, after the ranked ones), a plan's months against actual, a list page's results.
_CSV_TABLES = (("rows",), ("steps",), ("ranked", "too_early", "without_spend"), ("by_month",),
               ("results",))  # fmt: skip


def _csv_rows(data: Any) -> list[Any]:
    if not isinstance(data, dict):
        return list(data or [])
    for keys in _CSV_TABLES:
        if keys[0] in data:
            return [row for key in keys for row in data.get(key) or []]
    return [data]


class CsvRenderer(BaseRenderer):
    """`?format=csv`: a response's table (see _CSV_TABLES) as one CSV table."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:  # fmt: skip
        flat = [_flat(row) for row in _csv_rows(data)]
        headers = list(dict.fromkeys(key for row in flat for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=headers)
        writer.writeheader()
        writer.writerows(flat)
        return buffer.getvalue().encode()


# --- Rankings -----------------------------------------------------------------------


class RankingEntrySerializer(serializers.ModelSerializer):
    program_name = serializers.CharField(source="program.name", read_only=True)
    channel = serializers.CharField(source="program.channel", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)

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
    window_days = serializers.IntegerField(default=90, min_value=0, max_value=730)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise ValidationError({"end": "must not be before start"})
        return attrs


class DecisionRequest(serializers.Serializer):
    entry = serializers.IntegerField()
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
        body = RankingRunSerializer(selectors.ranking_runs().get(pk=run.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionRequest, responses={200: RankingEntrySerializer})
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        if not request.user.has_perm("campaigns.change_rankingentry"):
            raise PermissionDenied("deciding needs campaigns.change_rankingentry")
        form = DecisionRequest(data=request.data)
        form.is_valid(raise_exception=True)
        if not run.entries.filter(pk=form.validated_data["entry"]).exists():
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


# --- Pipeline plans -------------------------------------------------------------------


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
    the deals closed in the year before the period."""

    serializer_class = PipelinePlanSerializer
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    queryset = PipelinePlan.objects.none()
    # `GET {id}/?format=csv`: plan against actual, month by month.
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CsvRenderer]

    def get_queryset(self) -> QuerySet[PipelinePlan]:
        return PipelinePlan.objects.order_by("-period_start", "name")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        plan = self.get_object()
        return Response({**PipelinePlanSerializer(plan).data, **reports.plan_against_actual(plan)})

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
        return Response({**PipelinePlanSerializer(plan).data, **reports.plan_against_actual(plan)})


# --- Reports --------------------------------------------------------------------------


class PeriodRequest(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    window_days = serializers.IntegerField(default=reports.INFLUENCE_WINDOW_DAYS, min_value=0,
                                           max_value=730)  # fmt: skip
    campaign = serializers.IntegerField(required=False)
    segment = serializers.IntegerField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise ValidationError({"end": "must not be before start"})
        return attrs


class ReportApi(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    def period(self, request: Request, **defaults: Any) -> dict[str, Any]:
        form = PeriodRequest(data={**defaults, **request.query_params.dict()})
        form.is_valid(raise_exception=True)
        return dict(form.validated_data)

    def load(self, query: Mapping[str, Any]) -> reports.MeasurementData:
        return reports.measurement_load(start=query["start"], end=query["end"],
                                        window_days=query["window_days"])  # fmt: skip


def _head(query: Mapping[str, Any]) -> dict[str, Any]:
    return {"start": query["start"], "end": query["end"], "window_days": query["window_days"]}


class ProgramsReportApi(ReportApi):
    """Every program for `?start=&end=` (`window_days`, default 90): spend, reach,
    lift, influenced and attributed pipeline, efficiency. `?view=campaigns`,
    `channels` or `sources` for the other cuts; `?format=csv` for a download.
    Programs, campaigns and channels end with an "(influenced by no program)"
    line and the period's total: attributed plus that line equals the total."""

    @extend_schema(parameters=[PeriodRequest], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, format: str | None = None) -> Response:
        query = self.period(request)
        data = self.load(query)
        view = request.query_params.get("view", "programs")
        views = ("programs", "campaigns", "channels", "sources")
        if view not in views:
            raise ValidationError({"view": f"use one of {', '.join(views)}"})
        if view == "sources":
            rows = reports.source_rows(data)
        else:
            rows = reports.pipeline_report(data, view=view)
        return Response({**_head(query), "view": view, "rows": rows})


class CampaignReportApi(ReportApi):
    """One campaign for a period (default: its own dates, up to today for a
    campaign still running): its numbers, its programs, its channels and its
    funnel."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int, format: str | None = None) -> Response:
        campaign = get_object_or_404(Campaign, pk=pk)
        to_date = max(campaign.starts_on, min(campaign.ends_on, timezone.now().date()))
        query = self.period(request, start=campaign.starts_on.isoformat(),
                            end=to_date.isoformat())  # fmt: skip
        data = self.load(query)
        program_ids = sorted(p for p, row in data.programs.items() if row["campaign_id"] == pk)
        # Its programs, then what reconciles them to the period's pipeline.
        rows = reports.program_rows(data, program_ids=program_ids) + reports.pipeline_lines(
            data, label="program", listed_program_ids=set(program_ids)
        )
        return Response({
            **_head(query), "campaign": reports.campaign_rows(data, campaign_ids=[pk])[0],
            "rows": rows,
            "funnel": reports.funnel_report(data, campaign_ids={pk}),
        })  # fmt: skip


class FunnelReportApi(ReportApi):
    """Targeted -> engaged -> qualified -> opportunity -> won for a period, over all
    campaigns or `?campaign=`, optionally only a segment's members (`?segment=`)."""

    @extend_schema(parameters=[PeriodRequest], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, format: str | None = None) -> Response:
        query = self.period(request)
        data = self.load(query)
        members = (reports.segment_members(segment_id=query["segment"])
                   if "segment" in query else None)  # fmt: skip
        campaigns = {query["campaign"]} if "campaign" in query else None
        funnel = reports.funnel_report(data, campaign_ids=campaigns, members=members)
        return Response({**_head(query), **funnel})


class DealPeriodRequest(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the period (included).")
    end = serializers.DateField(help_text="Last day of the period (included).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise ValidationError({"end": "must not be before start"})
        return attrs


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
