"""Writes of readiness: training the segments' models (issue 19, part 2)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import ICPSegment
from readiness import model
from readiness.models import ReadinessModel, ReadinessModelStatus
from readiness.months import history_month_ends
from readiness.selectors import LabelledHistory, history_backtest, labelled_history

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
