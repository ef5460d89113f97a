"""Deals from the CRM (`/api/opportunities/`), upserted by their CRM id."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAuthenticated

from accounts.models import Opportunity
from campaigns import selectors, services
from campaigns.api.shared import ModelPermissionsWithView, refusals_as_400


class CrmIdField(serializers.CharField):
    """A deal's CRM id: required when a deal is sent (the upsert's key), null
    when one made without it (by the admin, say: the column allows it) is read."""


class CrmIdFieldSchema(OpenApiSerializerFieldExtension):
    """Documents CrmIdField as served: a string in, a string or null out."""

    target_class = CrmIdField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        if direction == "response":
            schema["nullable"] = True
        return schema


class OpportunitySerializer(serializers.ModelSerializer):
    # Null for a deal not assigned to an account yet.
    account_name = serializers.CharField(source="account.name", read_only=True, allow_null=True)
    # Declared, so no uniqueness validator: an existing CRM id is an update (upsert).
    external_id = CrmIdField(max_length=100)

    class Meta:
        model = Opportunity
        fields = ["id", "external_id", "account", "account_name", "name", "amount", "currency",
                  "crm_stage", "status", "opened_on", "close_on", "source", "product_line",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]
        # A CRM deal always has a status, and an upsert must not turn a won
        # deal back to open because a caller left it out (issue 18: it was a 500).
        extra_kwargs = {"status": {"required": True}}


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
