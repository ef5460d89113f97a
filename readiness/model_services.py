"""Starting a readiness training run as long work (issue 19, part 4): the
page's "Train now" and `POST /api/readiness/models/train/` record a core Job
and queue `readiness.models_train_job`, which runs
readiness.services.readiness_models_train with the job's progress."""

from __future__ import annotations

from collections.abc import Sequence

from core.jobs import job_start
from core.models import Job
from readiness.model_selectors import active_segment_ids_missing
from readiness.tasks import models_train_job_task

# The core Job kind of a training run started from the page or the API.
TRAIN_JOB_KIND = "readiness_train"


class SegmentsUnknown(ValueError):
    """Segment ids that name no active segment."""

    def __init__(self, missing: list[int]) -> None:
        self.missing = missing
        super().__init__(f"no active segment with id {', '.join(map(str, missing))}")


def readiness_train_job_start(*, segment_ids: Sequence[int] | None, user_id: int | None) -> Job:
    """Record the job and queue the run once the row commits: every active
    segment, or those given (all of them active, else SegmentsUnknown and no job)."""
    wanted = sorted(set(segment_ids)) if segment_ids is not None else None
    if wanted is not None:
        missing = active_segment_ids_missing(wanted)
        if missing:
            raise SegmentsUnknown(missing)
    which = (
        "every active segment" if wanted is None else f"segment(s) {', '.join(map(str, wanted))}"
    )
    return job_start(
        kind=TRAIN_JOB_KIND,
        label=f"Train readiness models: {which}",
        task=models_train_job_task,
        task_kwargs={"segment_ids": wanted},
        created_by_id=user_id,
        unit="segment",
    )
