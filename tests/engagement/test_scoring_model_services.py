"""A scoring model changed from its page: the preview (the real recompute,
rolled back) against scores worked out by hand in tests/scoring_scenario.py,
and the save as a new version with its recompute job."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from core.jobs import job_state
from core.models import Job
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityPending,
    Alert,
    ContactEngagement,
    RollupBatch,
    ScoreRecomputeRun,
    ScoringModel,
)
from engagement.rollup import recompute
from engagement.services.scoring_models import (
    PreviewUnavailable,
    recompute_job_kind,
    scoring_model_change,
    scoring_model_preview,
)
from tests.factories import UserFactory
from tests.scoring_scenario import AFTER, BEFORE, EXAMPLE_ORDER, scored_segment, weights_changed

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def test_the_preview_gives_the_hand_computed_moves_and_saves_nothing() -> None:
    segment = scored_segment(at=AT)
    preview = scoring_model_preview(segment_id=segment.pk, changes=weights_changed(segment), at=AT)

    assert preview.accounts == 6
    assert preview.version == 1
    assert (preview.moves.up, preview.moves.down, preview.moves.score_changed) == (1, 1, 4)
    assert [e.name for e in preview.examples] == EXAMPLE_ORDER
    for example in preview.examples:
        assert (example.score_before, example.stage_before) == BEFORE[example.name]
        assert (example.score_after, example.stage_after) == AFTER[example.name]
    # before 59, 7, 14, 50, 0, 45; after 73, 7, 22, 26, 0, 55
    assert preview.histogram_before == [2, 1, 0, 0, 1, 2, 0, 0, 0, 0]
    assert preview.histogram_after == [2, 0, 2, 0, 0, 1, 0, 1, 0, 0]
    assert {stage: (b, a) for stage, _label, b, a in preview.stages} == {
        "unaware": (1, 1), "aware": (2, 3), "engaged": (2, 0), "qualified": (0, 1),
        "opportunity": (1, 1), "customer": (0, 0),
    }  # fmt: skip

    # Rolled back: no version, no score, no sum, no claim, no run, no alert.
    assert list(ScoringModel.objects.filter(segment=segment).values_list("version", flat=True)) == [
        1
    ]
    assert not AccountEngagement.objects.exists()
    assert not ContactEngagement.objects.exists()
    assert not RollupBatch.objects.exists()
    assert ActivityPending.objects.count() == Activity.objects.count()
    assert not ScoreRecomputeRun.objects.exists()
    assert not Alert.objects.exists()


def test_the_preview_refuses_a_model_the_save_would_refuse() -> None:
    segment = scored_segment(at=AT)
    with pytest.raises(ValueError, match="engaged band must start below"):
        scoring_model_preview(
            segment_id=segment.pk, changes={"engaged_min": 70, "qualified_min": 60}, at=AT
        )
    assert ScoringModel.objects.filter(segment=segment).count() == 1


def test_the_preview_waits_for_a_running_recompute() -> None:
    segment = scored_segment(at=AT)
    model = segment.scoring_models.get()
    ScoreRecomputeRun.objects.create(segment=segment, scoring_model=model)
    with pytest.raises(PreviewUnavailable, match="recompute of this segment is running"):
        scoring_model_preview(segment_id=segment.pk, changes=weights_changed(segment), at=AT)


def test_a_change_is_a_new_version_by_its_author_and_its_recompute_a_job(
    django_capture_on_commit_callbacks: Any, eager_tasks: None
) -> None:
    now = timezone.now()
    segment = scored_segment(at=now)
    author = UserFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        saved = scoring_model_change(
            segment_id=segment.pk, changes=weights_changed(segment), created_by_id=author.pk
        )
    versions = ScoringModel.objects.filter(segment=segment).order_by("version")
    assert [(m.version, m.is_current, m.created_by_id) for m in versions] == [
        (1, False, None),
        (2, True, author.pk),
    ]
    assert versions[0].activity_weights["demo_request"] == 30  # the old version kept
    assert saved.model.activity_weights["demo_request"] == 50

    job = job_state(saved.job_id)
    assert job is not None
    assert (job.kind, job.status, job.done, job.total, job.unit) == (
        recompute_job_kind(segment.pk), Job.Status.DONE, 6, 6, "account",
    )  # fmt: skip
    assert job.message == "6 accounts scored with version 2."
    assert job.label == "Recompute Fintech with version 2"
    scores = {
        e.account.name: (e.score, e.stage, e.scoring_model_id)
        for e in AccountEngagement.objects.filter(segment=segment).select_related("account")
    }
    assert scores == {name: (*AFTER[name], saved.model.pk) for name in AFTER}


class _Progress:
    """Records what the recompute reports (core.jobs.JobProgress's calls)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def set_total(self, total: int) -> None:
        self.calls.append(("total", total))

    def advance(self, count: int = 1, *, message: str | None = None) -> None:
        self.calls.append(("advance", count))

    def finish(self, *, message: str, result: dict[str, Any] | None = None) -> None:
        self.calls.append(("finish", message))


def test_the_recompute_reports_each_committed_range(monkeypatch: pytest.MonkeyPatch) -> None:
    segment = scored_segment(at=timezone.now())
    # About 2 activities a chunk: the 8 activities of 6 accounts come to chunks
    # of ceil(6 * 2 / 8) = 2 accounts, so three ranges.
    monkeypatch.setattr(recompute, "RECOMPUTE_CHUNK_ACTIVITIES", 2)
    progress = _Progress()
    recompute.scores_recompute_reported(segment_id=segment.pk, progress=progress)  # type: ignore[arg-type]
    # How many accounts a range holds follows the activity estimate, which on
    # PostgreSQL comes from the planner's statistics (they differ once other
    # tests have run): what holds is one report per committed range, every
    # account counted once, and the outcome.
    assert progress.calls[0] == ("total", 6)
    assert progress.calls[-1] == ("finish", "6 accounts scored with version 1.")
    advances = [count for kind, count in progress.calls[1:-1] if kind == "advance"]
    assert len(advances) == len(progress.calls) - 2 >= 3
    assert sum(advances) == 6 and all(count >= 0 for count in advances)
