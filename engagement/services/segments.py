"""Segments created through the API, and the default scoring model every segment gets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.fit import InvalidCriteria, segment_member
from accounts.models import ICPSegment
from accounts.tasks import segment_refresh_task
from engagement.models import ScoringModel


@transaction.atomic
def scoring_models_default_ensure(*, segment_ids: Iterable[int]) -> int:
    """Give each segment without any scoring model version 1 with the DESIGN 4 defaults.

    Segments that already have a model are left alone, so a marketer's tuning
    survives a re-seed. Returns how many models were created.
    """
    wanted = set(segment_ids)
    having = set(
        ScoringModel.objects.filter(segment_id__in=wanted).values_list("segment_id", flat=True)
    )
    created = ScoringModel.objects.bulk_create(
        [
            ScoringModel(segment_id=segment_id, version=1, is_current=True)
            for segment_id in sorted(wanted - having)
        ],
        # Two sweeps may both find a segment without one: the first insert wins.
        ignore_conflicts=True,
    )
    return len(created)


class SegmentInvalid(ValueError):
    """A segment was refused; the message names the field and the value, and
    `errors` holds the messages by field name (for a form to put beside each)."""

    def __init__(self, message: str, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors: dict[str, list[str]] = dict(errors or {})


def _segment_check(segment: ICPSegment) -> None:
    """full_clean, and criteria the membership rule can read (a missing key, an
    unknown operator, a bad weight or min_fit are refused now, not at refresh)."""
    if not isinstance(segment.criteria or {}, dict):
        kind = type(segment.criteria).__name__
        message = f"must be a JSON object of criteria, got {kind}"
        raise SegmentInvalid(f"criteria: {message}", {"criteria": [message]})
    try:
        segment.full_clean()
        segment_member(criteria=segment.criteria or {}, firmographics={})
    except ValidationError as invalid:
        raise SegmentInvalid(
            "; ".join(
                f"{name}: {' '.join(errors)}" for name, errors in invalid.message_dict.items()
            ),
            invalid.message_dict,
        ) from None
    except (InvalidCriteria, AttributeError, TypeError) as invalid:
        raise SegmentInvalid(f"criteria: {invalid}", {"criteria": [str(invalid)]}) from None


@transaction.atomic
def segment_create(*, values: Mapping[str, Any], refresh_members: bool = True) -> ICPSegment:
    """A new ICP segment with its current scoring model (version 1, DESIGN 4
    defaults), so it is scored from the next rollup sweep on; its members are
    computed once it commits (unless `refresh_members` is False: the caller
    starts the refresh itself, as the segment pages do with a Job)."""
    segment = ICPSegment(**values)
    _segment_check(segment)
    segment.save()
    scoring_models_default_ensure(segment_ids=[segment.pk])
    if refresh_members:
        transaction.on_commit(partial(segment_refresh_task.delay, segment.pk), robust=True)
    return segment


@transaction.atomic
def segment_update(
    *, segment_id: int, values: Mapping[str, Any], refresh_members: bool = True
) -> ICPSegment:
    """Change a segment's name, description, criteria or active flag (the
    admin's save, validated as segment_create validates). Its members follow
    once the change commits, as after an admin save; scores follow with the
    nightly recompute (an account that joined brings its history then), as
    they do after any membership refresh. With `refresh_members` False the
    caller starts the refresh (the segment pages' Job)."""
    segment = ICPSegment.objects.select_for_update().get(pk=segment_id)
    for name, value in values.items():
        setattr(segment, name, value)
    _segment_check(segment)
    segment.save()
    # A segment made before every segment got a model gets its own now.
    scoring_models_default_ensure(segment_ids=[segment.pk])
    if refresh_members:
        transaction.on_commit(partial(segment_refresh_task.delay, segment.pk), robust=True)
    return segment
