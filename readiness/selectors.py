"""Reads of readiness: a segment's labelled history, its backtest, its models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Min

from engagement.models import Activity
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
