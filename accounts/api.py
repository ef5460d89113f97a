"""Serializers of accounts, shared by the API views that list them (engagement.api)."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Account


class AccountSerializer(serializers.ModelSerializer):
    # Null when the account has no owner.
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True)
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
