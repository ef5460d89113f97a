"""Reads of readiness: a segment's labelled history, its backtest, its models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Min, OuterRef, Subquery

from accounts.models import SegmentMembership
from engagement.models import AccountEngagement, AccountReadiness, Activity
from readiness import backtest as backtesting
from readiness.feature_names import LONG_WINDOW_DAYS
from readiness.model import HistoryCounts, history_counts
from readiness.models import ReadinessModel
from readiness.months import covered_month_ends
from readiness.training import training_data


@dataclass(frozen=True)
class LabelledHistory:
    """A segment's labelled training rows (labels known as of `today`)."""

    segment_id: int
    today: dt.date
    features: list[list[float]]
    labels: list[int]
    month_ends: list[dt.date]
    account_ids: list[int]
    feature_names: tuple[str, ...]

    @property
    def counts(self) -> HistoryCounts:
        return history_counts(self.account_ids, self.labels)


def history_first_day(*, segment_id: int) -> dt.date | None:
    """The day of the first activity stored on any member of the segment (UTC)."""
    first = Activity.objects.filter(
        account__memberships__segment_id=segment_id, excluded_reason=""
    ).aggregate(first=Min("occurred_at"))["first"]
    return first.astimezone(dt.UTC).date() if first is not None else None


def labelled_history(
    *, segment_id: int, month_ends: Sequence[dt.date], today: dt.date
) -> LabelledHistory:
    """The training data's rows whose label is known, at the month ends the
    stored history covers (months.covered_month_ends): six queries."""
    covered = covered_month_ends(
        sorted(month_ends),
        first_day=history_first_day(segment_id=segment_id),
        window_days=LONG_WINDOW_DAYS,
    )
    data = training_data(segment_id=segment_id, month_ends=covered, today=today)
    known = [i for i, ok in enumerate(data.label_known) if ok]
    return LabelledHistory(
        segment_id=segment_id,
        today=today,
        features=[data.features[i] for i in known],
        labels=[int(data.labels[i] or 0) for i in known],
        month_ends=[data.month_ends[i] for i in known],
        account_ids=[data.account_ids[i] for i in known],
        feature_names=data.feature_names,
    )


def history_backtest(history: LabelledHistory, *, boosting: bool = False) -> backtesting.Backtest:
    return backtesting.backtest(
        features=history.features,
        labels=history.labels,
        month_ends=history.month_ends,
        account_ids=history.account_ids,
        boosting=boosting,
    )


def readiness_model_latest(*, segment_id: int) -> ReadinessModel | None:
    """The segment's latest model version (the one that serves), or None."""
    return ReadinessModel.objects.filter(segment_id=segment_id).order_by("-version").first()


# --- Served readiness (issue 19, part 4) ---------------------------------------------


@dataclass(frozen=True)
class ServedReadiness:
    """What readiness shows for an account in one of its segments. `status`:
    "scored" (a probability, its band and reasons), "fallback" (the segment
    has too little history: `reason` says how much; the engagement score
    serves), or "not scored" (no model version yet, or the account joined the
    segment since the last scoring)."""

    segment_id: int
    segment_name: str
    status: str
    reason: str
    probability: float | None
    band_low: float | None
    band_high: float | None
    band_count: int | None
    reasons_up: list[dict[str, Any]]
    reasons_down: list[dict[str, Any]]
    features_as_of: dt.date | None
    scored_at: dt.datetime | None
    model_version: int | None
    model_trained_at: dt.datetime | None
    # The serving version's backtest: AUC of the model and of both baselines.
    backtest_auc: dict[str, float | None]
    engagement_score: int | None


SCORED, FALLBACK, NOT_SCORED = "scored", "fallback", "not scored"


def account_readiness(*, account_id: int) -> list[ServedReadiness]:
    """The account's readiness in each segment it is a member of, by segment
    name. Three queries: memberships with scores, stored readiness, models."""
    memberships = list(
        SegmentMembership.objects.filter(account_id=account_id)
        .order_by("segment__name")
        .annotate(
            engagement_score=Subquery(
                AccountEngagement.objects.filter(
                    account_id=account_id, segment_id=OuterRef("segment_id")
                ).values("score")[:1]
            )
        )
        .values_list("segment_id", "segment__name", "engagement_score")
    )
    segment_ids = [segment_id for segment_id, _, _ in memberships]
    stored = {
        row.segment_id: row
        for row in AccountReadiness.objects.filter(
            account_id=account_id, segment_id__in=segment_ids
        )
    }
    newest = (
        ReadinessModel.objects.filter(segment_id=OuterRef("segment_id"))
        .order_by("-version")
        .values("version")[:1]
    )
    latest = {
        version.segment_id: version
        for version in ReadinessModel.objects.filter(
            segment_id__in=segment_ids, version=Subquery(newest)
        ).only("segment_id", "version", "trained_at", "status", "reason", "metrics")
    }
    return [
        _served(segment_id, name, score, stored.get(segment_id), latest.get(segment_id))
        for segment_id, name, score in memberships
    ]


def _served(
    segment_id: int,
    name: str,
    score: int | None,
    stored: AccountReadiness | None,
    version: ReadinessModel | None,
) -> ServedReadiness:
    figures = (version.metrics.get("metrics", {}) if version is not None else {}) or {}
    if stored is None:
        status = NOT_SCORED
        reason = (
            "no readiness model has been trained for this segment yet"
            if version is None
            else "not scored yet: the account joined the segment after the last scoring"
        )
    elif stored.probability is None:
        status, reason = FALLBACK, stored.fallback_reason
    else:
        status, reason = SCORED, ""
    return ServedReadiness(
        segment_id=segment_id,
        segment_name=name,
        status=status,
        reason=reason,
        probability=stored.probability if stored else None,
        band_low=stored.band_low if stored else None,
        band_high=stored.band_high if stored else None,
        band_count=stored.band_count if stored else None,
        reasons_up=list(stored.reasons_up) if stored else [],
        reasons_down=list(stored.reasons_down) if stored else [],
        features_as_of=stored.features_as_of if stored else None,
        scored_at=stored.scored_at if stored else None,
        model_version=stored.model_version if stored else (version.version if version else None),
        model_trained_at=version.trained_at if version else None,
        backtest_auc={
            method: (figures.get(method) or {}).get("auc") for method in backtesting.METHODS
        },
        engagement_score=score,
    )
