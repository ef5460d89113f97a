"""Reads of readiness for the readiness page and the models API (issue 19,
part 4): each segment's model versions, the serving version's backtest
figures, and how many of its accounts are scored and when.

The figures are the stored ones (ReadinessModel.metrics, written by the
backtest when the version was trained); nothing is recomputed here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, OuterRef, QuerySet, Subquery

from accounts.models import ICPSegment
from engagement.models import AccountReadiness
from readiness.backtest import METHOD_LABELS, METHODS
from readiness.comparison import better_than_every_baseline
from readiness.metrics import ReliabilityBin
from readiness.models import ReadinessModel

# The backtest figures a page or the API shows for each method.
FIGURES = ("auc", "brier", "ece", "top_decile_lift", "top_decile_rate", "base_rate", "rows",
           "positives")  # fmt: skip


@dataclass(frozen=True)
class MethodFigures:
    """One method's pooled backtest figures (None where the backtest has none:
    an AUC with one class only, a lift over a base rate of 0)."""

    method: str
    label: str
    auc: float | None
    brier: float | None
    ece: float | None
    top_decile_lift: float | None
    top_decile_rate: float | None
    base_rate: float | None
    rows: int | None
    positives: int | None


def backtest_figures(metrics: dict[str, Any]) -> list[MethodFigures]:
    """The model and both baselines, in that order, from a version's stored
    `metrics` ([] when the version has no backtest: a fallback)."""
    stored = (metrics or {}).get("metrics") or {}
    rows = []
    for method in METHODS:
        figures = stored.get(method)
        if not figures:
            continue
        rows.append(
            MethodFigures(
                method=method,
                label=METHOD_LABELS[method],
                **{name: figures.get(name) for name in FIGURES},
            )
        )
    return rows


@dataclass(frozen=True)
class ComparisonFigures:
    """The model minus one baseline on the backtest's pooled rows, paired and
    resampled by account (readiness.comparison): each difference with its 95%
    interval, and the verdict ("better", "tie" or "worse")."""

    baseline: str
    label: str
    auc: float
    auc_low: float
    auc_high: float
    brier: float
    brier_low: float
    brier_high: float
    verdict: str
    accounts: int
    resamples: int


def backtest_comparisons(metrics: dict[str, Any]) -> list[ComparisonFigures]:
    """The stored comparisons of the model with each baseline ([] for a
    fallback, or a version trained before comparisons were stored)."""
    rows = []
    for stored in (metrics or {}).get("comparisons") or []:
        auc, brier = stored["auc"], stored["brier"]
        rows.append(
            ComparisonFigures(
                baseline=stored["baseline"],
                label=METHOD_LABELS[stored["baseline"]],
                auc=float(auc["value"]),
                auc_low=float(auc["low"]),
                auc_high=float(auc["high"]),
                brier=float(brier["value"]),
                brier_low=float(brier["low"]),
                brier_high=float(brier["high"]),
                verdict=str(stored["verdict"]),
                accounts=int(stored["accounts"]),
                resamples=int(stored["resamples"]),
            )
        )
    return rows


def backtest_reliability(metrics: dict[str, Any]) -> dict[str, list[ReliabilityBin]]:
    """Each method's stored reliability table (decile bins), by its label."""
    stored = (metrics or {}).get("metrics") or {}
    tables: dict[str, list[ReliabilityBin]] = {}
    for method in METHODS:
        bins = (stored.get(method) or {}).get("reliability") or []
        if bins:
            tables[METHOD_LABELS[method]] = [
                ReliabilityBin(
                    bin=int(row["bin"]),
                    count=int(row["count"]),
                    mean_predicted=float(row["mean_predicted"]),
                    observed_rate=float(row["observed_rate"]),
                    positives=int(row["positives"]),
                )
                for row in bins
            ]
    return tables


def model_auc(version: ReadinessModel) -> float | None:
    figures = ((version.metrics or {}).get("metrics") or {}).get("model") or {}
    auc = figures.get("auc")
    return float(auc) if isinstance(auc, int | float) else None


@dataclass(frozen=True)
class SegmentReadiness:
    """A segment as the readiness page shows it."""

    segment_id: int
    name: str
    alert_percent: int | None
    # The latest version (it serves), None before the first training run.
    serving: ReadinessModel | None
    # Every older version, newest first.
    earlier: list[ReadinessModel] = field(default_factory=list)
    # AccountReadiness rows of the segment: all, with a probability, the last write.
    scored: int = 0
    with_probability: int = 0
    scored_at: dt.datetime | None = None
    features_as_of: dt.date | None = None

    @property
    def figures(self) -> list[MethodFigures]:
        return backtest_figures(self.serving.metrics) if self.serving else []

    @property
    def comparisons(self) -> list[ComparisonFigures]:
        return backtest_comparisons(self.serving.metrics) if self.serving else []

    @property
    def beats_both_baselines(self) -> bool | None:
        """Whether the model was better than both baselines in its backtest;
        None when no comparison was stored."""
        comparisons = self.comparisons
        if not comparisons:
            return None
        return better_than_every_baseline([row.verdict for row in comparisons])

    @property
    def reliability(self) -> dict[str, list[ReliabilityBin]]:
        return backtest_reliability(self.serving.metrics) if self.serving else {}

    @property
    def fallback(self) -> int:
        return self.scored - self.with_probability


def readiness_segments() -> list[SegmentReadiness]:
    """Every active segment by name with its model versions and scored
    accounts: three queries (segments, versions, scored accounts) whatever
    the number of segments, versions and accounts."""
    segments = list(
        ICPSegment.objects.filter(is_active=True)
        .order_by("name", "pk")
        .values_list("pk", "name", "readiness_alert_percent")
    )
    ids = [pk for pk, _, _ in segments]
    versions: dict[int, list[ReadinessModel]] = {pk: [] for pk in ids}
    for version in (
        ReadinessModel.objects.filter(segment_id__in=ids)
        .defer("parameters", "feature_names")
        .order_by("segment_id", "-version")
    ):
        versions[version.segment_id].append(version)
    scored: dict[int, dict[str, Any]] = {
        row["segment_id"]: dict(row)
        for row in AccountReadiness.objects.filter(segment_id__in=ids)
        .values("segment_id")
        .annotate(
            scored=Count("pk"),
            with_probability=Count("probability"),
            scored_at=Max("scored_at"),
            features_as_of=Max("features_as_of"),
        )
        .order_by()
    }
    result = []
    for pk, name, alert_percent in segments:
        listed = versions[pk]
        counts: dict[str, Any] = scored.get(pk, {})
        result.append(
            SegmentReadiness(
                segment_id=pk,
                name=name,
                alert_percent=alert_percent,
                serving=listed[0] if listed else None,
                earlier=listed[1:],
                scored=counts.get("scored", 0),
                with_probability=counts.get("with_probability", 0),
                scored_at=counts.get("scored_at"),
                features_as_of=counts.get("features_as_of"),
            )
        )
    return result


def readiness_model_list(*, all_versions: bool = False) -> QuerySet[ReadinessModel]:
    """Model versions with their segment, by segment and newest first: the
    latest version of each segment, or with `all_versions` every one. One query."""
    versions = ReadinessModel.objects.select_related("segment").defer("parameters")
    if not all_versions:
        newest = (
            ReadinessModel.objects.filter(segment_id=OuterRef("segment_id"))
            .order_by("-version")
            .values("version")[:1]
        )
        versions = versions.filter(version=Subquery(newest))
    return versions.order_by("segment__name", "segment_id", "-version")


def active_segment_ids_missing(segment_ids: list[int]) -> list[int]:
    """Which of `segment_ids` name no active segment, sorted (one query)."""
    found = set(
        ICPSegment.objects.filter(pk__in=segment_ids, is_active=True).values_list("pk", flat=True)
    )
    return sorted(set(segment_ids) - found)
