from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework import generics, serializers

from accounts import selectors
from accounts.models import Account


class AccountSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    contact_count = serializers.IntegerField(read_only=True)
    open_opportunity_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domain",
            "external_id",
            "industry",
            "employees",
            "annual_revenue",
            "country",
            "tier",
            "tags",
            "is_target",
            "is_customer",
            "owner",
            "parent",
            "contact_count",
            "open_opportunity_count",
        ]


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or domain contains")

    class Meta:
        model = Account
        fields = ["tier", "is_target", "is_customer", "owner", "industry", "country"]

    def search(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        return queryset.filter(name__icontains=value) | queryset.filter(domain__icontains=value)


class AccountListApi(generics.ListAPIView):
    """Accounts with their buying-team size and open deals."""

    serializer_class = AccountSerializer
    filterset_class = AccountFilter

    def get_queryset(self) -> QuerySet[Account]:
        return selectors.account_list()
