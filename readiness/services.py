"""Writes of readiness: training the segments' models (issue 19, part 2)."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import ICPSegment
from core.bulk import bulk_upsert
from engagement.alerts import ReadinessCrossing, readiness_alerts_create
from engagement.models import AccountReadiness
from readiness import model, scoring, serving
from readiness.feature_names import FEATURE_INDEX
from readiness.model import SCORE_FEATURE
from readiness.models import ReadinessModel, ReadinessModelStatus
from readiness.months import history_month_ends
from readiness.selectors import (
    LabelledHistory,
    history_backtest,
    labelled_history,
    readiness_model_latest,
)
from readiness.training import TrainingData, training_data

logger = logging.getLogger(__name__)


class TrainProgress(Protocol):
    """What a training run reports into (core.jobs.JobProgress is one)."""

    def set_total(self, total: int) -> None: ...
    def advance(self, count: int = 1, *, message: str | None = None) -> None: ...
    def finish(self, *, message: str, result: dict[str, Any] | None = None) -> None: ...


def readiness_models_train(
    *,
    segment_ids: Sequence[int] | None = None,
    today: dt.date | None = None,
    progress: TrainProgress | None = None,
) -> list[ReadinessModel]:
    """Train a new model version for each active segment (or those given):
    the backtest of its labelled history for the figures, then the model on
    all of it; or a fallback version saying why, with too little history.
    Then every member is scored with the new version (readiness_scores_refresh).
    Each segment's version is written in its own transaction, so a failure
    in one segment leaves the versions already written."""
    today = today or timezone.now().date()
    segments = ICPSegment.objects.filter(is_active=True).order_by("pk")
    if segment_ids is not None:
        wanted = set(segment_ids)
        found = set(segments.filter(pk__in=wanted).values_list("pk", flat=True))
        if wanted - found:
            raise ValueError(f"no active segment with id {sorted(wanted - found)}")
        segments = segments.filter(pk__in=wanted)
    chosen = list(segments.values_list("pk", "name"))
    if progress is not None:
        progress.set_total(len(chosen))
    month_ends = history_month_ends(today)
    stored: list[ReadinessModel] = []
    for segment_id, name in chosen:
        history = labelled_history(segment_id=segment_id, month_ends=month_ends, today=today)
        stored.append(readiness_model_store(history=history))
        if progress is not None:
            progress.advance(message=f"{name}: {_summary(stored[-1])}")
    # The new versions serve at once: every member is scored with them.
    readiness_scores_refresh(segment_ids=[segment_id for segment_id, _ in chosen], today=today)
    if progress is not None:
        progress.finish(
            message=f"Trained {len(stored)} segment(s)",
            result={"models": [m.pk for m in stored]},
        )
    return stored


def _summary(stored: ReadinessModel) -> str:
    if stored.status == ReadinessModelStatus.FALLBACK:
        return f"v{stored.version} falls back ({stored.reason})"
    auc = stored.metrics.get("metrics", {}).get("model", {}).get("auc")
    auc_text = f", backtest AUC {auc:.3f}" if isinstance(auc, float) else ""
    return (
        f"v{stored.version} trained on {stored.rows} rows of {stored.accounts} accounts "
        f"({stored.positive_accounts} opened an opportunity){auc_text}"
    )


def readiness_model_store(*, history: LabelledHistory) -> ReadinessModel:
    """Fit (or fall back) on a segment's labelled history and store it as the
    segment's next version."""
    counts = history.counts
    fields: dict[str, Any] = {
        "as_of": history.today,
        "trained_through": max(history.month_ends) if history.month_ends else None,
        "feature_names": list(history.feature_names),
        "rows": counts.rows,
        "positive_rows": counts.positive_rows,
        "accounts": counts.accounts,
        "positive_accounts": counts.positive_accounts,
        "negative_accounts": counts.negative_accounts,
    }
    if counts.enough:
        fitted = model.fit(
            features=history.features,
            labels=history.labels,
            month_ends=history.month_ends,
            feature_names=history.feature_names,
        )
        fields.update(
            status=ReadinessModelStatus.TRAINED,
            parameters=fitted.parameters,
            metrics=history_backtest(history).as_dict(),
        )
    else:
        fields.update(status=ReadinessModelStatus.FALLBACK, reason=counts.shortfall)
    with transaction.atomic():
        # The segment's row lock serialises two runs, so versions never collide.
        list(ICPSegment.objects.select_for_update().filter(pk=history.segment_id).values_list("pk"))
        latest = ReadinessModel.objects.filter(segment_id=history.segment_id).aggregate(
            latest=Max("version")
        )["latest"]
        stored = ReadinessModel.objects.create(
            segment_id=history.segment_id,
            version=(latest or 0) + 1,
            trained_at=timezone.now(),
            **fields,
        )
    logger.info("readiness: %s", stored)
    return stored


# --- Serving: every member's current readiness (issue 19, part 4) -------------------


@dataclass(frozen=True)
class SegmentScored:
    segment_id: int
    model_version: int | None  # None: the segment has no model version yet
    accounts: int
    fallback: bool
    alerts: int


def readiness_scores_refresh(
    *, segment_ids: Sequence[int] | None = None, today: dt.date | None = None
) -> list[SegmentScored]:
    """Score every member of each active segment (or those given) with the
    segment's latest model version, on the features as of yesterday (its
    snapshot is in), and store them (engagement.models.AccountReadiness):
    the probability, its band and the reasons, or the fallback's reason.
    An account whose probability rose from below the segment's
    readiness_alert_percent to it or above gets a readiness alert; a first
    probability (no earlier one to cross from) never alerts.
    Per segment: the six queries of the features and the model, the earlier
    probabilities, the write and the removal of former members' rows."""
    today = today or timezone.now().date()
    segments = ICPSegment.objects.filter(is_active=True).order_by("pk")
    if segment_ids is not None:
        segments = segments.filter(pk__in=list(segment_ids))
    return [
        _segment_score(segment_id=pk, threshold=threshold, today=today)
        for pk, threshold in segments.values_list("pk", "readiness_alert_percent")
    ]


def _segment_score(*, segment_id: int, threshold: int | None, today: dt.date) -> SegmentScored:
    latest = readiness_model_latest(segment_id=segment_id)
    if latest is None:
        return SegmentScored(segment_id, None, 0, False, 0)
    day = today - dt.timedelta(days=1)
    data = training_data(segment_id=segment_id, month_ends=[day], today=today)
    now = timezone.now()
    rows = [
        _account_readiness(
            latest,
            segment_id=segment_id,
            account_id=account_id,
            row=row,
            day=day,
            now=now,
        )
        for account_id, row in zip(data.account_ids, data.features, strict=True)
    ]
    with transaction.atomic():
        earlier = dict(
            AccountReadiness.objects.filter(segment_id=segment_id).values_list(
                "account_id", "probability"
            )
        )
        AccountReadiness.objects.filter(segment_id=segment_id).exclude(
            account_id__in=data.account_ids
        ).delete()
        bulk_upsert(
            model=AccountReadiness,
            objects=rows,
            unique_fields=["account", "segment"],
            update_fields=READINESS_FIELDS,
        )
        crossings = _crossings(rows, earlier=earlier, threshold=threshold, data=data)
        if crossings and threshold is not None:
            readiness_alerts_create(
                segment_id=segment_id,
                crossings=crossings,
                model_version=latest.version,
                threshold_percent=threshold,
            )
    return SegmentScored(
        segment_id=segment_id,
        model_version=latest.version,
        accounts=len(rows),
        fallback=latest.status == ReadinessModelStatus.FALLBACK,
        alerts=len(crossings),
    )


READINESS_FIELDS = [
    "model_version", "probability", "band_low", "band_high", "band_count", "reasons_up",
    "reasons_down", "fallback_reason", "features_as_of", "scored_at",
]  # fmt: skip


def _account_readiness(
    latest: ReadinessModel,
    *,
    segment_id: int,
    account_id: int,
    row: list[float],
    day: dt.date,
    now: dt.datetime,
) -> AccountReadiness:
    readiness = AccountReadiness(
        account_id=account_id,
        segment_id=segment_id,
        model_version=latest.version,
        features_as_of=day,
        scored_at=now,
    )
    if latest.status == ReadinessModelStatus.FALLBACK:
        readiness.fallback_reason = latest.reason
        return readiness
    probability = scoring.probability(latest.parameters, row)
    band = serving.band(probability, _model_reliability(latest))
    up, down = serving.reasons(latest.parameters, row, latest.feature_names)
    readiness.probability = probability
    if band is not None:
        readiness.band_low, readiness.band_high = band.low, band.high
        readiness.band_count = band.count
    readiness.reasons_up = [reason.as_dict() for reason in up]
    readiness.reasons_down = [reason.as_dict() for reason in down]
    return readiness


def _model_reliability(stored: ReadinessModel) -> list[dict[str, Any]]:
    """The reliability table of the version's own backtest ([] without one)."""
    figures = stored.metrics.get("metrics", {}).get("model") or {}
    return list(figures.get("reliability") or [])


def _crossings(
    rows: Sequence[AccountReadiness],
    *,
    earlier: dict[int, float | None],
    threshold: int | None,
    data: TrainingData,
) -> list[ReadinessCrossing]:
    if threshold is None:
        return []
    line = threshold / 100
    score_at = FEATURE_INDEX[SCORE_FEATURE]
    scores = {
        account_id: row[score_at]
        for account_id, row in zip(data.account_ids, data.features, strict=True)
    }
    crossings = []
    for readiness in rows:
        before = earlier.get(readiness.account_id)
        now = readiness.probability
        if before is None or now is None or not before < line <= now:
            continue
        score = scores[readiness.account_id]
        crossings.append(
            ReadinessCrossing(
                account_id=readiness.account_id,
                # The score of the day the features read; a day without a
                # snapshot has none to report (never 0 in its place).
                score=None if math.isnan(score) else int(score),
                probability=now,
            )
        )
    return crossings
