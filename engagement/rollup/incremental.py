"""The incremental rollup's entry points and scheduling: `scores_rollup`
claims the activity committed since the last claim and adds it to every
scored segment (engagement.rollup.claims), O(new activities); a segment never
scored is recomputed instead. After ingest commits, `scores_rollup_schedule`
has one rollup run per debounce window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from engagement.models import (
    RollupCursor,
)
from engagement.rollup.claims import RollupResult, pending_roll
from engagement.rollup.recompute import scores_recompute


def scores_rollup(
    *,
    segment_id: int | None = None,
    at: dt.datetime | None = None,
    alerts: bool = True,
    on_full_batch: Callable[[], None] | None = None,
) -> RollupResult:
    """Claim the activity committed since the last claim and add it to every scored
    segment; re-score only the accounts it touched. O(new activities).

    `segment_id` names the segment whose refreshed accounts the result counts;
    all segments are rolled up regardless, since a claim is made once for all of
    them. A segment never scored has no landmark yet: rolling it up recomputes it.
    alerts=False (a benchmark, a replay) raises no alert, as in scores_recompute.
    `on_full_batch`: see claims.pending_roll (the tasks pass `rollup_continue`).
    """
    at = at or timezone.now()
    if (
        segment_id is not None
        and not RollupCursor.objects.filter(segment_id=segment_id, landmark__isnull=False).exists()
    ):
        return scores_recompute(segment_id=segment_id, at=at, alerts=alerts)
    rolled = pending_roll(at=at, alerts=alerts, on_full_batch=on_full_batch)
    if segment_id is None:
        return rolled
    return RollupResult(
        segment_id=segment_id, accounts_refreshed=rolled.by_segment.get(segment_id, 0),
        activities=rolled.activities, batch_id=rolled.batch_id, by_segment=rolled.by_segment,
    )  # fmt: skip


def scores_rollup_schedule() -> None:
    """After activity commits: have a rollup run soon, at most once per window.

    The first commit of a window adds a cache key and enqueues the rollup with a
    countdown of the window; later commits find the key and do nothing, since
    the rollup claims everything committed before it runs. The rollup task
    deletes the key before it claims, so a commit that finds no key is always
    followed by a claim that sees it. With eager tasks (no broker) nothing is
    run inline: ingest requests stay short, and the `scores_rollup` command
    (cron) or the recompute bring scores up to date.
    """
    from engagement.tasks import scores_rollup_pending_task

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    window = settings.SCORES_ROLLUP_DEBOUNCE_SECONDS
    if cache.add(ROLLUP_SCHEDULED_KEY, 1, timeout=window):
        scores_rollup_pending_task.apply_async(countdown=window)


ROLLUP_SCHEDULED_KEY = "engagement:rollup-scheduled"


def rollup_continue() -> None:
    """A bounded claim took a full batch (SCORES_ROLLUP_MAX_BATCH), so more may
    be pending: enqueue the next rollup now, not at commit. Its claim skips the
    rows this rollup holds, so an idle worker process adds the next batch while
    this one adds its own; the chain ends with the first claim short of a full
    batch. With eager tasks (no broker) nothing is enqueued: it would run inline,
    inside this transaction; the sweep and the `scores_rollup` command go on."""
    from engagement.tasks import scores_rollup_pending_task

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        scores_rollup_pending_task.apply_async()


def scores_rollup_pending() -> RollupResult:
    """The ingest-triggered rollup: reopen the debounce window, then claim and add."""
    cache.delete(ROLLUP_SCHEDULED_KEY)
    return scores_rollup(on_full_batch=rollup_continue)
