"""A scoring model changed from its page: saved as a new version with its full
recompute as a core Job (`scoring_model_change`), and previewed first
(`scoring_model_preview`: what the change would do to the segment's scores).

The preview runs the product's own recompute twice, with the current model and
then with the candidate, at the same moment, inside a savepoint that is always
rolled back: the "after" scores are the ones a save would produce, from the
same code, not from a second formula. Half-life and weights change the stored
sums themselves (each activity's term is w * m * exp(lambda * (t - L))), so
re-scoring the stored sums could not preview them; the activity has to be read
again. docs/workspace.md ("Scoring models") gives the cost.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import SegmentMembership
from core.jobs import job_start
from engagement.models import AccountEngagement, ScoreRecomputeRun, ScoringModel, Stage
from engagement.rollup.recompute import scores_recompute
from engagement.rollup.scoring_models import scoring_model_update
from engagement.scoring_versions import StageMoves, score_histogram, stage_moves

# How many accounts the preview shows with their before and after.
PREVIEW_EXAMPLES = 10


def recompute_job_kind(segment_id: int) -> str:
    """The core Job kind of a segment's recompute started from its scoring page
    (per segment, so its page finds the latest with core.jobs.jobs_recent)."""
    return f"scores_recompute:{segment_id}"


@dataclass(frozen=True)
class ScoringModelSaved:
    model: ScoringModel
    job_id: int


@transaction.atomic
def scoring_model_change(
    *, segment_id: int, changes: dict[str, Any], created_by_id: int | None
) -> ScoringModelSaved:
    """Save `changes` as the segment's new current version by `created_by_id`
    (engagement.rollup.scoring_models.scoring_model_update: validated, the old
    version kept) and start its full recompute as a core Job, which reports
    each committed range of accounts. ValueError names a refused parameter."""
    from engagement.tasks import scores_recompute_job_task

    model = scoring_model_update(
        segment_id=segment_id, changes=changes, created_by_id=created_by_id, recompute=False
    )
    members = SegmentMembership.objects.filter(segment_id=segment_id).count()
    job = job_start(
        kind=recompute_job_kind(segment_id),
        label=f"Recompute {model.segment.name} with version {model.version}",
        task=scores_recompute_job_task,
        task_kwargs={"segment_id": segment_id},
        created_by_id=created_by_id,
        total=members,
        unit="account",
    )
    return ScoringModelSaved(model=model, job_id=job.pk)


class PreviewUnavailable(Exception):
    """The preview cannot run now; the message says why and when it can."""


@dataclass(frozen=True)
class AccountBeforeAfter:
    account_id: int
    name: str
    score_before: int
    score_after: int
    stage_before: str
    stage_after: str

    @property
    def score_change(self) -> int:
        return self.score_after - self.score_before

    @property
    def stage_changed(self) -> bool:
        return self.stage_before != self.stage_after


@dataclass(frozen=True)
class ScoringPreview:
    """What a candidate model would do to a segment's member accounts, scored
    at `at` with the current version and with the candidate."""

    segment_id: int
    version: int  # the current version, the "before"
    at: dt.datetime
    accounts: int
    moves: StageMoves
    histogram_before: list[int]
    histogram_after: list[int]
    # (stage, label, before, after) in Stage order, every stage listed.
    stages: list[tuple[str, str, int, int]]
    examples: list[AccountBeforeAfter]
    seconds: float


_Scores = dict[int, tuple[str, int, str]]  # account id -> (name, score, stage)


def _segment_scores(segment_id: int) -> _Scores:
    rows = AccountEngagement.objects.filter(segment_id=segment_id).values_list(
        "account_id", "account__name", "score", "stage"
    )
    return {account_id: (name, score, stage) for account_id, name, score, stage in rows}


def scoring_model_preview(
    *, segment_id: int, changes: dict[str, Any], at: dt.datetime | None = None
) -> ScoringPreview:
    """Score the segment's members with the current model and with `changes`
    applied, both at `at` (default now), by the full recompute inside a
    savepoint rolled back at the end: nothing is saved, no alert is raised, no
    task is sent. ValueError names a refused parameter (as a save would);
    PreviewUnavailable while a recompute of the segment is running.

    For its duration the preview holds the segment's rollup cursor (rollups
    of new activity wait for it) and the pending activity it claims."""
    at = at or timezone.now()
    if ScoreRecomputeRun.objects.filter(segment_id=segment_id, finished_at__isnull=True).exists():
        raise PreviewUnavailable(
            "A recompute of this segment is running: preview again once it has finished."
        )
    started = time.monotonic()
    with transaction.atomic():
        try:
            scores_recompute(segment_id=segment_id, at=at, alerts=False)
            before = _segment_scores(segment_id)
            candidate = scoring_model_update(
                segment_id=segment_id, changes=changes, recompute=False
            )
            scores_recompute(segment_id=segment_id, at=at, alerts=False)
            after = _segment_scores(segment_id)
        finally:
            # Whatever happened, nothing of it stays (on_commit callbacks
            # registered inside are dropped with it).
            transaction.set_rollback(True)
    return _preview_of(
        segment_id=segment_id, version=candidate.version - 1, at=at, before=before, after=after,
        seconds=time.monotonic() - started,
    )  # fmt: skip


def _preview_of(
    *, segment_id: int, version: int, at: dt.datetime, before: _Scores, after: _Scores,
    seconds: float,
) -> ScoringPreview:  # fmt: skip
    both = sorted(set(before) & set(after))
    pairs = [
        AccountBeforeAfter(
            account_id=account_id,
            name=after[account_id][0],
            score_before=before[account_id][1],
            score_after=after[account_id][1],
            stage_before=before[account_id][2],
            stage_after=after[account_id][2],
        )
        for account_id in both
    ]
    changed = [pair for pair in pairs if pair.score_change or pair.stage_changed]
    # Stage moves first, then the largest score changes; ties by name.
    changed.sort(key=lambda p: (not p.stage_changed, -abs(p.score_change), p.name, p.account_id))
    stages_before = Counter(pair.stage_before for pair in pairs)
    stages_after = Counter(pair.stage_after for pair in pairs)
    return ScoringPreview(
        segment_id=segment_id,
        version=version,
        at=at,
        accounts=len(pairs),
        moves=stage_moves(
            {p.account_id: (p.score_before, p.stage_before) for p in pairs},
            {p.account_id: (p.score_after, p.stage_after) for p in pairs},
            stage_order=Stage.values,
        ),
        histogram_before=score_histogram(pair.score_before for pair in pairs),
        histogram_after=score_histogram(pair.score_after for pair in pairs),
        stages=[
            (str(value), str(label), stages_before[value], stages_after[value])
            for value, label in Stage.choices
        ],
        examples=changed[:PREVIEW_EXAMPLES],
        seconds=seconds,
    )
