"""Reads of the scoring pages: each segment's current model, one segment's
model to edit, and a segment's versions with what each changed. Fixed query
counts, whatever the number of segments or versions."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from accounts.models import ICPSegment
from engagement.models import ScoringModel
from engagement.rollup.scoring_models import scoring_of
from engagement.scoring_versions import ParameterChange, parameters_diff


@dataclass(frozen=True)
class SegmentModel:
    """A segment with its member count and its current model (None: it has
    none yet; the scoring sweep gives it the default)."""

    segment: ICPSegment
    member_count: int
    model: ScoringModel | None


def scoring_models_by_segment() -> list[SegmentModel]:
    """Every segment by name with its current scoring model and who made it. Two
    queries."""
    segments = list(ICPSegment.objects.annotate(member_count=Count("memberships")).order_by("name"))
    current = {
        model.segment_id: model
        for model in ScoringModel.objects.filter(is_current=True).select_related("created_by")
    }
    return [
        SegmentModel(segment=s, member_count=s.member_count, model=current.get(s.pk))
        for s in segments
    ]


def scoring_model_current(*, segment_id: int) -> ScoringModel | None:
    """The segment's current model with its segment, or None. One query."""
    return (
        ScoringModel.objects.filter(segment_id=segment_id, is_current=True)
        .select_related("segment")
        .first()
    )


@dataclass(frozen=True)
class ScoringModelVersion:
    model: ScoringModel
    # What it changed from the version before (empty for the first).
    changes: list[ParameterChange]
    first: bool


def scoring_model_versions(*, segment_id: int) -> list[ScoringModelVersion]:
    """The segment's versions newest first, each with who made it and what it
    changed from the version before it (engagement.scoring_versions). One query."""
    models = list(
        ScoringModel.objects.filter(segment_id=segment_id)
        .select_related("segment", "created_by")
        .order_by("version")
    )
    versions = []
    for index, model in enumerate(models):
        previous = models[index - 1] if index else None
        changes = (
            parameters_diff(scoring_of(previous).params, scoring_of(model).params)
            if previous is not None
            else []
        )
        versions.append(ScoringModelVersion(model=model, changes=changes, first=previous is None))
    versions.reverse()
    return versions
