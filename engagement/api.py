"""REST endpoints for engagement: accounts with their scores, explanations,
segments, scoring models and alerts. Validate, call a selector, serialize."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as account_services
from accounts.api import AccountSerializer
from accounts.models import Account, FitGrade, ICPSegment
from core.api_permissions import ModelPermissionsWithView
from core.ids import id_read
from engagement import list_selectors, selectors
from engagement.models import Alert, ScoringModel, Stage
from engagement.services import segments as segment_services


class AccountEngagedSerializer(AccountSerializer):
    # Null without ?segment=<id>, or for an account not scored in that segment.
    score = serializers.IntegerField(read_only=True, default=None, allow_null=True)
    stage = serializers.CharField(read_only=True, default=None, allow_null=True)
    fit_score = serializers.IntegerField(read_only=True, default=None, allow_null=True)
    fit_grade = serializers.CharField(read_only=True, default=None, allow_null=True)
    score_change_7d = serializers.IntegerField(read_only=True, default=None, allow_null=True)
    score_change_30d = serializers.IntegerField(read_only=True, default=None, allow_null=True)
    # Readiness (issue 19): the calibrated probability (0-1) of opening an
    # opportunity within 90 days and the backtest band of predictions like it.
    # Null without ?segment=<id>; a null `readiness` says why in
    # `readiness_status` ("fallback": `readiness_fallback_reason`; "not scored").
    # (A method: `readiness` is also Account's relation to AccountReadiness.)
    readiness = serializers.SerializerMethodField()
    readiness_band_low = serializers.FloatField(read_only=True, default=None, allow_null=True)
    readiness_band_high = serializers.FloatField(read_only=True, default=None, allow_null=True)
    readiness_status = serializers.SerializerMethodField()
    readiness_fallback_reason = serializers.CharField(read_only=True, default=None, allow_null=True)

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "score", "stage", "fit_score", "fit_grade",
                  "score_change_7d", "score_change_30d", "readiness", "readiness_band_low",
                  "readiness_band_high", "readiness_status",
                  "readiness_fallback_reason"]  # fmt: skip

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_readiness(self, account: Account) -> float | None:
        return getattr(account, "readiness_probability", None)

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text='"scored", "fallback" or "not scored".')
    )
    def get_readiness_status(self, account: Account) -> str | None:
        """Null without ?segment=<id> (no readiness annotated)."""
        if not hasattr(account, "readiness_probability"):
            return None
        if getattr(account, "readiness_probability", None) is not None:
            return "scored"
        return "fallback" if getattr(account, "readiness_fallback_reason", "") else "not scored"

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        # Empty for a scored account, null where nothing was stored: only a
        # fallback has a reason.
        data["readiness_fallback_reason"] = data["readiness_fallback_reason"] or None
        return data


SCORE_ORDERINGS = ("score", "score_change_7d", "score_change_30d", "readiness")


class NullsLastOrderingFilter(django_filters.OrderingFilter):
    """Orders rows whose value is unknown (a score change without the snapshot
    it needs) last, whichever the direction, on PostgreSQL and SQLite alike."""

    def get_ordering_value(self, param: str) -> Any:
        value = super().get_ordering_value(param)
        field = F(value.lstrip("-"))
        return field.desc(nulls_last=True) if value.startswith("-") else field.asc(nulls_last=True)

    def filter(self, qs: Any, value: Any) -> Any:
        # `?ordering=,` names no field: keep the selector's order rather than
        # none (an unordered page; found by fuzzing, issue 18).
        named = [param for param in value or () if param]
        return super().filter(qs, named) if named else qs


class AccountEngagedFilter(django_filters.FilterSet):
    segment = django_filters.NumberFilter(method="noop", label="ICP segment id")
    q = django_filters.CharFilter(method="search", label="Name or domain contains")
    stage = django_filters.ChoiceFilter(choices=Stage.choices, method="segment_field")
    score_min = django_filters.NumberFilter(method="score_at_least")
    score_max = django_filters.NumberFilter(method="score_at_most")
    fit_grade = django_filters.ChoiceFilter(choices=FitGrade.choices, method="segment_field")
    readiness_min = django_filters.NumberFilter(
        method="readiness_at_least", label="Readiness at least (a probability, 0-1)"
    )
    readiness_max = django_filters.NumberFilter(
        method="readiness_at_most", label="Readiness at most (a probability, 0-1)"
    )
    ordering = NullsLastOrderingFilter(
        fields=(
            ("name", "name"),
            *((f, f) for f in SCORE_ORDERINGS if f != "readiness"),
            ("readiness_probability", "readiness"),
        )
    )

    class Meta:
        model = Account
        fields = ["tier", "is_target", "is_customer", "owner", "industry", "country"]

    def noop(self, queryset: QuerySet[Account], name: str, value: Any) -> QuerySet[Account]:
        return queryset  # applied by the view, which annotates the segment's scores

    def search(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        # One filter with an OR, not two querysets OR-ed: combining querysets
        # that carry the segment's FilteredRelation joins failed in Django
        # ("KeyError: 'V2'", a 500 found by fuzzing).
        return queryset.filter(Q(name__icontains=value) | Q(domain__icontains=value))

    def _segment_needed(self, name: str, what: str = "score, stage or fit") -> None:
        if not self.data.get("segment"):
            raise ValidationError({name: f"filtering by {what} needs ?segment=<id>"})

    def segment_field(
        self, queryset: QuerySet[Account], name: str, value: Any
    ) -> QuerySet[Account]:
        self._segment_needed(name)
        return queryset.filter(**{name: value})

    def score_at_least(
        self, queryset: QuerySet[Account], name: str, value: Any
    ) -> QuerySet[Account]:
        self._segment_needed("score_min")
        return queryset.filter(**{"score__gte": value})  # annotated by the selector

    def score_at_most(
        self, queryset: QuerySet[Account], name: str, value: Any
    ) -> QuerySet[Account]:
        self._segment_needed("score_max")
        return queryset.filter(**{"score__lte": value})  # annotated by the selector

    def _probability(self, name: str, value: Any) -> Any:
        self._segment_needed(name, "readiness")
        if not 0 <= value <= 1:
            raise ValidationError({name: "readiness is a probability: between 0 and 1"})
        return float(value)

    def readiness_at_least(
        self, queryset: QuerySet[Account], name: str, value: Any
    ) -> QuerySet[Account]:
        # Accounts without a probability (fallback, not scored) are left out.
        value = self._probability("readiness_min", value)
        return queryset.filter(**{"readiness_probability__gte": value})  # annotated by the selector

    def readiness_at_most(
        self, queryset: QuerySet[Account], name: str, value: Any
    ) -> QuerySet[Account]:
        value = self._probability("readiness_max", value)
        return queryset.filter(**{"readiness_probability__lte": value})  # annotated by the selector


class AccountEngagedListApi(generics.ListAPIView):
    """Accounts with, for `?segment=<id>`, their score, stage, fit, score change
    and readiness; filter by stage, score range, fit grade and readiness range
    (0-1), order by score, its change or readiness (unknown values last)."""

    serializer_class = AccountEngagedSerializer
    filterset_class = AccountEngagedFilter

    def get_queryset(self) -> QuerySet[Account]:
        raw = self.request.query_params.get("segment")
        segment_id = id_read(raw)
        if raw and segment_id is None:
            raise ValidationError({"segment": f"{raw!r} is not a segment id"})
        # `?ordering=` may combine orderings ("name,-score_change_30d"): any of
        # them by score needs the segment whose scores the selector annotates.
        ordering = self.request.query_params.get("ordering", "")
        keys = {key.strip().lstrip("-") for key in ordering.split(",")}
        if segment_id is None and "readiness" in keys:
            raise ValidationError({"ordering": "ordering by readiness needs ?segment=<id>"})
        if segment_id is None and keys & set(SCORE_ORDERINGS):
            raise ValidationError({"ordering": "ordering by score needs ?segment=<id>"})
        return list_selectors.account_list_engaged(
            segment_id=segment_id, today=timezone.now().date()
        )


class MyAccountSerializer(AccountEngagedSerializer):
    scored_segment_id = serializers.IntegerField(read_only=True, default=None, allow_null=True)
    scored_segment_name = serializers.CharField(read_only=True, default=None, allow_null=True)
    owned = serializers.BooleanField(read_only=True)
    following = serializers.BooleanField(read_only=True)

    class Meta(AccountEngagedSerializer.Meta):
        fields = [*AccountEngagedSerializer.Meta.fields, "scored_segment_id",
                  "scored_segment_name", "owned", "following"]  # fmt: skip


class MyAccountsApi(generics.ListAPIView):
    """The caller's accounts (owned) and the ones they follow, with their best
    segment's score, stage and change, by the 7-day change, largest rise first,
    unknown last: the rows of the My accounts page. Reading them here does not
    mark the caller's alerts as seen."""

    serializer_class = MyAccountSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Account]:
        user_id = cast(int, self.request.user.pk)  # IsAuthenticated: never anonymous
        return list_selectors.my_accounts(user_id=user_id, today=timezone.now().date())


class AccountEngagementApi(APIView):
    """Why the account's scores are what they are, per segment, with history."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        try:
            explained = selectors.account_engagement_explain(account_id=pk, at=timezone.now())
        except Account.DoesNotExist:
            raise NotFound("No Account matches the given query.") from None
        return Response(explained)


class SegmentSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ICPSegment
        fields = ["id", "name", "description", "criteria", "is_active", "member_count",
                  "readiness_alert_percent"]  # fmt: skip


class SegmentListApi(generics.ListCreateAPIView):
    """Segments with their member counts; `POST` (marketers) creates one with its
    scoring model (DESIGN 4 defaults); members follow once it is saved."""

    serializer_class = SegmentSerializer
    # Reading needs view_icpsegment, as the segments page does (web/segments_pages.py).
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]

    def get_queryset(self) -> QuerySet[ICPSegment]:
        return selectors.segment_list_counted()

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        try:
            segment = segment_services.segment_create(values=values)
        except segment_services.SegmentInvalid as invalid:
            raise ValidationError({"code": "invalid_segment", "message": str(invalid)}) from None
        segment.member_count = 0  # type: ignore[attr-defined]
        serializer.instance = segment


class ScoringModelSerializer(serializers.ModelSerializer):
    segment = serializers.CharField(source="segment.name", read_only=True)

    class Meta:
        model = ScoringModel
        fields = ["id", "segment", "segment_id", "version", "is_current", "activity_weights",
                  "seniority_multipliers", "half_life_days", "contact_cap", "scale",
                  "engaged_min", "qualified_min", "lookback_days", "anonymous_factor",
                  "required_roles", "created_at"]  # fmt: skip


class ScoringModelListApi(generics.ListAPIView):
    """Current models; `?all=1` lists every version. Needs view_scoringmodel, as
    the scoring pages do (web/scoring_pages.py)."""

    serializer_class = ScoringModelSerializer
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]

    def get_queryset(self) -> QuerySet[ScoringModel]:
        return selectors.scoring_model_list(all_versions=bool(self.request.query_params.get("all")))


class AlertSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.name", read_only=True)
    segment = serializers.CharField(source="segment.name", read_only=True)
    # Null when the alert has no recipient user (the column allows it).
    recipient = serializers.CharField(source="recipient.username", read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = ["id", "kind", "account", "account_id", "segment", "segment_id", "score",
                  "probability", "threshold_percent",
                  "model_version", "recipient", "created_at", "emailed_at",
                  "webhook_delivered_at", "delivery_attempts", "last_error",
                  "next_attempt_at"]  # fmt: skip


class AlertListApi(generics.ListAPIView):
    """The caller's alerts, newest first; `?all=1` for everyone's, for those who may
    see every user's alerts (marketers: `engagement.view_all_alert`)."""

    serializer_class = AlertSerializer

    def get_queryset(self) -> QuerySet[Alert]:
        if not self.request.query_params.get("all"):
            return selectors.alert_list(recipient_id=self.request.user.pk)
        if not self.request.user.has_perm("engagement.view_all_alert"):
            raise PermissionDenied(
                "all=1: only marketers may list every user's alerts; leave it out to list your own."
            )
        return selectors.alert_list(recipient_id=None)


class AccountFollowSerializer(serializers.Serializer):
    account_id = serializers.IntegerField(read_only=True)
    following = serializers.BooleanField(read_only=True)


class AccountFollowApi(APIView):
    """Follow the account (`POST`: 201 when it starts, 200 when already
    followed) or stop (`DELETE`: 204 either way). Any role: it is the caller's
    own list; the account's alerts reach its followers."""

    permission_classes = [IsAuthenticated]

    @staticmethod
    def _user_id(request: Request) -> int:
        user_id = request.user.pk
        assert user_id is not None  # IsAuthenticated let the request in
        return int(user_id)

    @extend_schema(
        request=None,
        responses={200: AccountFollowSerializer, 201: AccountFollowSerializer,
                   404: OpenApiTypes.OBJECT},
    )  # fmt: skip
    def post(self, request: Request, pk: int) -> Response:
        try:
            created = account_services.account_follow(user_id=self._user_id(request), account_id=pk)
        except Account.DoesNotExist:
            raise NotFound("No Account matches the given query.") from None
        body = AccountFollowSerializer({"account_id": pk, "following": True}).data
        return Response(body, status=201 if created else 200)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        account_services.account_unfollow(user_id=self._user_id(request), account_id=pk)
        return Response(status=204)
