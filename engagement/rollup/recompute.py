"""Full recompute: by account ranges, one transaction each, resumable.

`scores_recompute` rebuilds a segment from all claimed activity (claiming the
pending first), settling or rebasing its landmark; `scores_refresh` re-scores
every member from the stored sums (the daily decay), under the same cursor
lock, and recomputes a segment never scored.
"""

from __future__ import annotations

import datetime as dt
import math

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account, SegmentMembership
from core import bulk
from core.jobs import JobProgress
from engagement.models import (
    AccountEngagement,
    Activity,
    ContactEngagement,
    RollupCursor,
    ScoreRecomputeRun,
)
from engagement.retention_selectors import retention_cutoff
from engagement.rollup.claims import RollupResult, pending_roll
from engagement.rollup.refresh import AccountScope, accounts_refresh
from engagement.rollup.scoring_models import segment_scoring, segments_for_scoring
from engagement.rollup.sums import AccountRange, ActivityFilter, person_sums
from engagement.scoring import (
    needs_rebase,
    rebased,
)


def _midnight(at: dt.datetime) -> dt.datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def segment_cursor_locked(segment_id: int) -> RollupCursor:
    """The segment's cursor row, held FOR UPDATE: no rollup adds to the segment
    until the transaction ends."""
    RollupCursor.objects.get_or_create(segment_id=segment_id)
    return RollupCursor.objects.select_for_update().get(segment_id=segment_id)


# A chunk is a range of member accounts holding about this many activities.
# Activity is stored in time order, so every chunk reads most of the table's
# pages whatever its accounts: few large chunks beat many small ones. At this
# size a chunk takes a few seconds here (docs/benchmarks.md), far from the
# statement timeout.
RECOMPUTE_CHUNK_ACTIVITIES = 2_000_000
# An open run not advanced for this long is taken to have crashed: the sweep
# resumes it.
RECOMPUTE_STALE_AFTER = dt.timedelta(minutes=10)


def scores_recompute(
    *,
    segment_id: int,
    at: dt.datetime | None = None,
    alerts: bool = True,
    chunk_accounts: int | None = None,
    on_chunk: bulk.OnBatch | None = None,
) -> RollupResult:
    """Rebuild a segment's scores from all its activity, `chunk_accounts` member
    accounts at a time (by default as many as hold about
    RECOMPUTE_CHUNK_ACTIVITIES activities), each range in its own transaction.

    Pending activity is claimed first (and added to every scored segment), so
    the rebuild, which reads claimed activity only, includes everything
    committed so far and the next rollup adds nothing twice. Progress is kept in
    a ScoreRecomputeRun: after a crash the next call continues after the last
    committed range. The segment keeps its landmark (rollups running meanwhile
    add against it) unless it has none yet or must be rebased.

    alerts=False scores history without alerting on it (a first import or the
    demo): accounts already qualified are disarmed as if they had been alerted.
    `on_chunk(accounts)` is called after each committed range (a progress bar).
    """
    if chunk_accounts is None:
        chunk_accounts = recompute_chunk_accounts(segment_id=segment_id)
    if chunk_accounts < 1:
        raise ValueError(f"chunk_accounts must be at least 1, got {chunk_accounts}")
    at = at or timezone.now()
    # The landmark first, so that the claim below adds to this segment too.
    run_id = _recompute_begin(segment_id=segment_id, at=at)
    # The claim adds to every scored segment: it raises alerts only if this may.
    claimed = pending_roll(at=at, alerts=alerts)
    refreshed = 0
    while True:
        with transaction.atomic():
            accounts, finished = _recompute_chunk(
                segment_id=segment_id, run_id=run_id, at=at, alerts=alerts,
                chunk_accounts=chunk_accounts,
            )  # fmt: skip
        refreshed += accounts
        if on_chunk is not None:
            on_chunk(accounts)
        if finished:
            break
    _scores_analyse()
    return RollupResult(
        segment_id=segment_id, accounts_refreshed=refreshed, activities=claimed.activities,
        batch_id=claimed.batch_id,
    )  # fmt: skip


def _scores_analyse() -> None:
    """ANALYZE the score table once a recompute has rewritten a segment's
    scores. The account list picks between two of its indexes by its
    statistics (an account's best segment by the unique (account, segment)
    key, every account's best by the score index); without any (a first
    recompute after a large import, before autovacuum analyses the table),
    PostgreSQL's default guess of 200 distinct accounts made it look up each
    account's best segment by walking the score index, and a page of the list
    ran past the statement timeout (100,000 accounts, docs/benchmarks.md, "The
    every-account list read from the score index"). Sampled, so a few tens of
    milliseconds whatever the table's size."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {AccountEngagement._meta.db_table}")


def scores_recompute_reported(*, segment_id: int, progress: JobProgress) -> RollupResult:
    """`scores_recompute` of one segment as a core Job (a scoring model saved
    from its page): the member accounts as the total, each committed range as
    progress, and the outcome in a sentence."""
    members = SegmentMembership.objects.filter(segment_id=segment_id).count()
    progress.set_total(members)
    result = scores_recompute(segment_id=segment_id, on_chunk=progress.advance)
    version = segment_scoring(segment_id=segment_id).model_version
    progress.finish(
        message=(
            f"{result.accounts_refreshed} account{'s' if result.accounts_refreshed != 1 else ''} "
            f"scored with version {version}."
        ),
        result={
            "segment_id": segment_id,
            "model_version": version,
            "accounts_refreshed": result.accounts_refreshed,
        },
    )
    return result


def recompute_chunk_accounts(*, segment_id: int) -> int:
    """Member accounts per recompute chunk: the segment's share of
    RECOMPUTE_CHUNK_ACTIVITIES at the average activity per account. PostgreSQL's
    own row estimate stands in for a count (a count would read the table once
    more); a table never analysed is counted."""
    activities = -1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [Activity._meta.db_table],
            )
            activities = int(cursor.fetchone()[0])
    if activities <= 0:
        activities = Activity.objects.count()
    accounts = Account.objects.count()
    if activities == 0 or accounts == 0:
        return max(1, accounts)
    return max(1, math.ceil(accounts * RECOMPUTE_CHUNK_ACTIVITIES / activities))


@transaction.atomic
def _recompute_begin(*, segment_id: int, at: dt.datetime) -> int:
    """Open (or find, to resume) the segment's run, and settle its landmark."""
    scoring = segment_scoring(segment_id=segment_id)
    cursor = segment_cursor_locked(segment_id)
    rate = scoring.params.decay_rate
    if cursor.landmark is None:
        cursor.landmark = _midnight(at)
        cursor.save(update_fields=["landmark", "updated_at"])
    elif needs_rebase(landmark=cursor.landmark, latest=at, rate=rate):
        _landmark_rebase(segment_id=segment_id, cursor=cursor, to=_midnight(at), rate=rate)
    run = ScoreRecomputeRun.objects.filter(segment_id=segment_id, finished_at__isnull=True).first()
    if run is None:
        run = ScoreRecomputeRun.objects.create(
            segment_id=segment_id, scoring_model_id=scoring.model_id
        )
    return run.pk


def _landmark_rebase(
    *, segment_id: int, cursor: RollupCursor, to: dt.datetime, rate: float
) -> None:
    """Express every stored sum of the segment against a later landmark (two
    UPDATEs; the cursor is locked, so no rollup adds meanwhile)."""
    assert cursor.landmark is not None
    factor = rebased(decay_sum=1.0, landmark=cursor.landmark, new_landmark=to, rate=rate)
    ContactEngagement.objects.filter(segment_id=segment_id).update(
        decay_sum=F("decay_sum") * factor, landmark=to
    )
    AccountEngagement.objects.filter(segment_id=segment_id).update(
        anonymous_decay_sum=F("anonymous_decay_sum") * factor, landmark=to
    )
    cursor.landmark = to
    cursor.save(update_fields=["landmark", "updated_at"])


def _recompute_chunk(
    *, segment_id: int, run_id: int, at: dt.datetime, alerts: bool, chunk_accounts: int
) -> tuple[int, bool]:
    """Rebuild the next range of member accounts; returns (accounts, run finished)."""
    cursor = segment_cursor_locked(segment_id)
    assert cursor.landmark is not None  # set by _recompute_begin, never cleared
    landmark = cursor.landmark
    scoring = segment_scoring(segment_id=segment_id)
    # Read under the cursor lock: two processes resuming one run take turns.
    run = ScoreRecomputeRun.objects.get(pk=run_id)
    if run.finished_at is not None:
        return 0, True
    if run.scoring_model_id != scoring.model_id:
        # The model changed mid-run: ranges done so far used the old one.
        run.scoring_model_id, run.through_account_id, run.accounts_done = scoring.model_id, 0, 0
    members = SegmentMembership.objects.filter(segment_id=segment_id)
    through = (
        members.filter(account_id__gt=run.through_account_id)
        .order_by("account_id")
        .values_list("account_id", flat=True)[chunk_accounts - 1 : chunk_accounts]
        .first()
    )
    accounts = AccountRange(after=run.through_account_id, through=through)
    # Accounts that left the segment keep no score in it.
    AccountEngagement.objects.filter(accounts.q(), segment_id=segment_id).exclude(
        account_id__in=members.values("account_id")
    ).delete()
    # Read under the cursor lock, which a retention run also takes: a drop
    # commits wholly before or after this range.
    carried = retention_cutoff() is not None
    sums = person_sums(
        scoring, landmark, at, which=ActivityFilter.claimed_in_range(accounts, carried=carried),
        replace=accounts,
    )  # fmt: skip
    refreshed = accounts_refresh(
        scoring=scoring, landmark=landmark, at=at, scope=AccountScope.of_range(accounts),
        anonymous=sums.anonymous, replace_anonymous=True, alerts=alerts, contacts=sums.contacts,
    )  # fmt: skip
    run.accounts_done += refreshed
    if through is None:
        run.finished_at = timezone.now()
    else:
        run.through_account_id = through
    run.save()
    return refreshed, through is None


def segments_to_recompute(*, now: dt.datetime | None = None) -> list[int]:
    """Scored segments never recomputed (no landmark; an active segment without a
    scoring model gets the default one here), and those whose recompute run
    stopped advancing (crashed): the sweep recomputes or resumes them."""
    now = now or timezone.now()
    scored = segments_for_scoring()
    with_landmark = set(
        RollupCursor.objects.filter(segment_id__in=scored, landmark__isnull=False).values_list(
            "segment_id", flat=True
        )
    )
    stalled = set(
        ScoreRecomputeRun.objects.filter(
            finished_at__isnull=True, updated_at__lt=now - RECOMPUTE_STALE_AFTER
        ).values_list("segment_id", flat=True)
    )
    return [s for s in scored if s not in with_landmark or s in stalled]


@transaction.atomic
def scores_refresh(*, segment_id: int, at: dt.datetime | None = None) -> int:
    """Re-score every member account at `at` from the stored sums: scores decay
    and stages move with time even without new activity (the daily task).

    Holds the segment's cursor FOR UPDATE, so no rollup adds to an account
    between the read of its sums and the write of its score."""
    cursor = segment_cursor_locked(segment_id)
    if cursor.landmark is None:
        return scores_recompute(segment_id=segment_id, at=at).accounts_refreshed
    return accounts_refresh(
        scoring=segment_scoring(segment_id=segment_id), landmark=cursor.landmark,
        at=at or timezone.now(), scope=AccountScope.every(), anonymous={}, replace_anonymous=False,
    )  # fmt: skip
