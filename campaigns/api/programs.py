"""Programs and their spend lines (`/api/programs/`, `/api/spend/`)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.validators import UniqueValidator

from campaigns import selectors, services
from campaigns.api.shared import ModelPermissionsWithView, SpendTotalField, refusals_as_400
from campaigns.models import Channel, Program, Spend
from core.ids import ID_MAX
from engagement.tracking import MAX_TRACKING_KEY, tracking_key_normal


class TrackingKeyField(serializers.CharField):
    """A program's tracking key, stored as the tracker stores the keys it
    receives (trimmed, lower-cased), before the unique check reads it: "Q1"
    is taken when "q1" is."""

    def to_internal_value(self, data: Any) -> str:
        return tracking_key_normal(super().to_internal_value(data))


class ProgramSerializer(serializers.ModelSerializer):
    campaign_name = serializers.CharField(source="campaign.name", read_only=True)
    tracking_key = TrackingKeyField(
        max_length=MAX_TRACKING_KEY,
        help_text="The utm_campaign value (or program key) its links and activity carry; "
        "stored trimmed and lower-case, as the tracker stores what it receives. Unique.",
        validators=[
            UniqueValidator(Program.objects.all(), message="Another program has this tracking key.")
        ],
    )
    spend_total = SpendTotalField()

    class Meta:
        model = Program
        fields = ["id", "campaign", "campaign_name", "name", "channel", "starts_on", "ends_on",
                  "tracking_key", "status", "spend_total", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]


class ProgramFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    tracking_key = django_filters.CharFilter(
        method="tracking_key_is",
        help_text="A tracking key, in any case (keys are stored lower-case).",
    )

    def tracking_key_is(
        self, queryset: QuerySet[Program], name: str, value: str
    ) -> QuerySet[Program]:
        return queryset.filter(tracking_key=tracking_key_normal(value))

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
            program = services.program_save(program_id=None, values=serializer.validated_data)
        # Answered as read, with its spend total (the selector's annotation).
        serializer.instance = self.get_queryset().get(pk=program.pk)

    def perform_update(self, serializer: Any) -> None:
        with refusals_as_400():
            program = services.program_save(
                program_id=serializer.instance.pk, values=serializer.validated_data
            )
        # Answered as read: a PATCH answered without the spend total (a partial
        # serializer skips a field it cannot read), a PUT with none.
        serializer.instance = self.get_queryset().get(pk=program.pk)


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
    # Bounded like an id: a larger number overflows SQLite's integer (issue 18).
    campaign = django_filters.NumberFilter(
        field_name="program__campaign", min_value=1, max_value=ID_MAX
    )
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
