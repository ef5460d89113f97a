"""Scoring models: a segment's current model as the SQL reads it, the segments
that are scored, and versioning (a changed parameter is a new version and a
full recompute).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import ICPSegment
from engagement.models import (
    ScoringModel,
)
from engagement.scoring import (
    ScoringParameters,
)
from engagement.scoring_versions import PARAMETER_NAMES, ParameterProblem, parameter_problems


@dataclass(frozen=True)
class SegmentScoring:
    segment_id: int
    model_id: int
    model_version: int
    params: ScoringParameters


def segment_scoring(*, segment_id: int) -> SegmentScoring:
    """The segment's current model; a segment that never had one gets the default
    first (created by a path that does not make one: a bulk upsert, the shell)."""
    model = ScoringModel.objects.filter(segment_id=segment_id, is_current=True).first()
    if model is None:
        segments_for_scoring(segment_ids=[segment_id])
        model = ScoringModel.objects.get(segment_id=segment_id, is_current=True)
    return scoring_of(model)


def scoring_of(model: ScoringModel) -> SegmentScoring:
    segment_id = model.segment_id
    return SegmentScoring(
        segment_id=segment_id,
        model_id=model.pk,
        model_version=model.version,
        params=ScoringParameters(
            activity_weights=model.activity_weights,
            seniority_multipliers=model.seniority_multipliers,
            half_life_days=model.half_life_days,
            contact_cap=model.contact_cap,
            scale=model.scale,
            engaged_min=model.engaged_min,
            qualified_min=model.qualified_min,
            lookback_days=model.lookback_days,
            anonymous_factor=model.anonymous_factor,
            required_roles=tuple(model.required_roles),
        ),
    )


def segments_scored(*, segment_ids: Iterable[int] | None = None) -> list[int]:
    """Segments that have a current scoring model (the ones a rollup can score)."""
    models = ScoringModel.objects.filter(is_current=True)
    if segment_ids is not None:
        models = models.filter(segment_id__in=list(segment_ids))
    return list(models.values_list("segment_id", flat=True).order_by("segment_id"))


def segments_for_scoring(*, segment_ids: Iterable[int] | None = None) -> list[int]:
    """`segments_scored` after giving the default scoring model to each of
    `segment_ids` (default: each active segment) that never had one, so that a
    new segment is scored whatever path created it."""
    # engagement.services owns the default model and imports this module.
    from engagement.services.segments import scoring_models_default_ensure

    segments = ICPSegment.objects.all()
    if segment_ids is None:
        segments = segments.filter(is_active=True)
    else:
        segment_ids = list(segment_ids)
        segments = segments.filter(pk__in=segment_ids)
    scoring_models_default_ensure(segment_ids=segments.values_list("pk", flat=True))
    return segments_scored(segment_ids=segment_ids)


# What a person may change (a new version each time): ScoringParameters' fields.
TUNABLE_PARAMETERS = PARAMETER_NAMES


def parameters_of(values: Mapping[str, Any]) -> ScoringParameters:
    """The ScoringParameters of a model's tunable values (a model's fields, or
    the candidate values of a change)."""
    return ScoringParameters(
        **{name: values[name] for name in TUNABLE_PARAMETERS if name != "required_roles"},
        required_roles=tuple(values["required_roles"]),
    )


def model_problems(values: Mapping[str, Any]) -> list[ParameterProblem]:
    """Why a model with these tunable values could not be saved (empty: it can):
    engagement.scoring_versions' rules over this project's names."""
    from accounts.models import BuyingRole, Seniority
    from engagement.models import ActivityType

    return parameter_problems(
        parameters_of(values),
        activity_types=ActivityType.values,
        seniorities=Seniority.values,
        buying_roles=BuyingRole.values,
    )


def _model_check(values: dict[str, Any]) -> None:
    """Refuse a model the rollup could not score, naming the field and value."""
    problems = model_problems(values)
    if problems:
        raise ValueError("; ".join(str(problem) for problem in problems))


@transaction.atomic
def scoring_model_update(
    *,
    segment_id: int,
    changes: dict[str, Any],
    created_by_id: int | None = None,
    recompute: bool = True,
) -> ScoringModel:
    """Save changed parameters as a new version and schedule a full recompute
    (`recompute=False`: the caller runs it, as a core Job for a page).

    The old version is kept (scores record the version that produced them), so a
    change can be compared with, or rolled back to, what came before.
    """
    from engagement.tasks import scores_recompute_task

    unknown = set(changes) - set(TUNABLE_PARAMETERS)
    if unknown:
        raise ValueError(f"not scoring parameters: {sorted(unknown)}")
    current = ScoringModel.objects.select_for_update().get(segment_id=segment_id, is_current=True)
    values = {name: getattr(current, name) for name in TUNABLE_PARAMETERS} | changes
    _model_check(values)
    current.is_current = False
    current.save(update_fields=["is_current"])
    new = ScoringModel.objects.create(
        segment_id=segment_id, version=current.version + 1, is_current=True,
        created_by_id=created_by_id, **values,
    )  # fmt: skip
    if recompute:
        transaction.on_commit(lambda: scores_recompute_task.delay(segment_id))
    return new
