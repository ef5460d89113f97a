"""`GET /api/accounts/<id>/readiness/`: an account's readiness (issue 19, part 4)
in each segment it is a member of: the calibrated probability of opening an
opportunity within 90 days, its band, the features that pushed it up or down,
the model version and its backtest AUC against the engagement score and the
MQL rule; or why there is none (the segment falls back to the engagement
score, or the account is not scored yet). The account page shows the same
(web/account_page.py). Validate, call a selector, serialize."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from core.api_permissions import ModelPermissionsWithView
from engagement.models import AccountReadiness
from readiness.selectors import FALLBACK, NOT_SCORED, SCORED, account_readiness


class ReadinessReasonSerializer(serializers.Serializer):
    feature = serializers.CharField(help_text="The feature's name (docs/readiness.md).")
    label = serializers.CharField(help_text="What the feature means, in words.")  # type: ignore[assignment]
    value = serializers.FloatField(
        allow_null=True, help_text="The account's value; null when unknown (imputed)."
    )
    contribution = serializers.FloatField(
        help_text="Its term of the calibrated log-odds: positive pushed the probability up."
    )


class BacktestAucSerializer(serializers.Serializer):
    model = serializers.FloatField(allow_null=True)
    score = serializers.FloatField(allow_null=True, help_text="The engagement score's AUC.")
    mql = serializers.FloatField(allow_null=True, help_text="The MQL rule's AUC.")


class SegmentReadinessSerializer(serializers.Serializer):
    segment_id = serializers.IntegerField()
    segment_name = serializers.CharField()
    # Plain text, not an enum: the schema's enum names of "status" collide.
    status = serializers.CharField(help_text=f'"{SCORED}", "{FALLBACK}" or "{NOT_SCORED}".')
    reason = serializers.CharField(help_text="Why there is no probability; empty when scored.")
    probability = serializers.FloatField(allow_null=True)
    band_low = serializers.FloatField(allow_null=True)
    band_high = serializers.FloatField(allow_null=True)
    band_count = serializers.IntegerField(allow_null=True)
    reasons_up = ReadinessReasonSerializer(many=True)
    reasons_down = ReadinessReasonSerializer(many=True)
    features_as_of = serializers.DateField(allow_null=True)
    scored_at = serializers.DateTimeField(allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    model_trained_at = serializers.DateTimeField(allow_null=True)
    backtest_auc = BacktestAucSerializer()
    engagement_score = serializers.IntegerField(allow_null=True)


class AccountRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    domain = serializers.CharField(allow_null=True)


class AccountReadinessSerializer(serializers.Serializer):
    account = AccountRefSerializer()
    segments = SegmentReadinessSerializer(many=True)


class AccountReadinessApi(APIView):
    """The account's readiness per segment, by segment name (a segment with
    status "fallback" or "not scored" has a null probability and a `reason`).
    Needs engagement.view_accountreadiness (every role has it)."""

    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    queryset = AccountReadiness.objects.none()  # for the permission class

    @extend_schema(responses={200: AccountReadinessSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        account = account_selectors.account_with_owner(account_id=pk)
        if account is None:
            raise NotFound("No Account matches the given query.")
        body: dict[str, Any] = {
            "account": {"id": account.pk, "name": account.name, "domain": account.domain},
            "segments": [asdict(served) for served in account_readiness(account_id=pk)],
        }
        return Response(AccountReadinessSerializer(body).data)
