"""The incremental rollup's claim: pending activity claimed as one batch and
added to every scored segment in one transaction (`pending_roll`).

The accounts the batch touches are locked in a fixed order before their
contact sums are added, so concurrent rollups neither deadlock nor count a row
twice. Entry points: engagement.rollup.incremental (`scores_rollup`) and
engagement.rollup.recompute (which claims before it rebuilds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import connection, transaction

from accounts.models import SegmentMembership
from engagement.models import (
    AccountEngagement,
    ActivityPending,
    RollupBatch,
    RollupCursor,
    ScoringModel,
    Stage,
)
from engagement.rollup.dialect import aware
from engagement.rollup.refresh import AccountScope, accounts_refresh
from engagement.rollup.scoring_models import SegmentScoring, scoring_of
from engagement.rollup.sums import ActivityFilter, anonymous_sums, contact_sums_add_sql
from engagement.signals import activity_batch_claimed

_PENDING = ActivityPending._meta.db_table


@dataclass(frozen=True)
class RollupResult:
    """What a rollup or recompute did. `accounts_refreshed` counts the accounts of
    `segment_id` re-scored (of every segment when segment_id is None)."""

    segment_id: int | None
    accounts_refreshed: int
    activities: int = 0  # activities claimed by this call
    batch_id: int | None = None
    by_segment: dict[int, int] = field(default_factory=dict)


def _claim(batch_id: int, max_batch: int | None) -> int:
    """Mark pending committed activity as this batch's; returns how many rows.

    Writes the narrow pending table only (ActivityPending.batch), never the
    activity rows: the cost follows the number of pending rows, not the size
    of the history (issue 20). On PostgreSQL rows another claimer holds are
    skipped (SKIP LOCKED), so concurrent rollups take disjoint batches instead
    of queueing; rows still being inserted (and their pending rows, written in
    the same transaction) are invisible and stay pending for the next claim.
    SQLite has one writer at a time, so a plain UPDATE is the same thing there.

    With `max_batch` the claim takes at most that many rows, the oldest first
    (lowest activity id): the rest stay pending for the next claim, which a
    second worker process can make while this one adds its batch.
    """
    bound = "" if max_batch is None else " ORDER BY activity_id LIMIT %s"
    params: list[int] = [batch_id] if max_batch is None else [batch_id, max_batch]
    if connection.vendor == "postgresql":
        sql = f"""
            UPDATE {_PENDING} SET batch = %s WHERE activity_id IN (
                SELECT activity_id FROM {_PENDING} WHERE batch IS NULL{bound}
                FOR UPDATE SKIP LOCKED
            )
        """  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
    elif max_batch is None:
        sql = f"UPDATE {_PENDING} SET batch = %s WHERE batch IS NULL"  # noqa: S608  # nosec B608
    else:
        sql = f"""
            UPDATE {_PENDING} SET batch = %s WHERE activity_id IN (
                SELECT activity_id FROM {_PENDING} WHERE batch IS NULL{bound}
            )
        """  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _claim_close(batch_id: int) -> None:
    """Keep the batch's activity id range on its RollupBatch row (read after the
    commit: campaigns' touches) and delete its pending rows, so the commit
    leaves its activity claimed. Two statements over the batch's index range."""
    batch_table = RollupBatch._meta.db_table
    bounds = f"""
        UPDATE {batch_table} SET
            first_activity_id = (SELECT MIN(activity_id) FROM {_PENDING} WHERE batch = %s),
            last_activity_id = (SELECT MAX(activity_id) FROM {_PENDING} WHERE batch = %s)
        WHERE id = %s
    """  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(bounds, [batch_id, batch_id, batch_id])
        cursor.execute(f"DELETE FROM {_PENDING} WHERE batch = %s", [batch_id])  # noqa: S608  # nosec B608


def _segments_share_locked() -> list[tuple[int, dt.datetime]]:
    """(segment id, landmark) of every scored segment with a landmark, their cursor
    rows held FOR SHARE in segment order: rollups run side by side, a recompute
    chunk or refresh (FOR UPDATE) waits for them and they for it."""
    lock = " FOR SHARE OF c" if connection.vendor == "postgresql" else ""
    sql = f"""
        SELECT c.segment_id, c.landmark
        FROM {RollupCursor._meta.db_table} c
        JOIN {ScoringModel._meta.db_table} s ON s.segment_id = c.segment_id AND s.is_current
        WHERE c.landmark IS NOT NULL
        ORDER BY c.segment_id{lock}
    """  # noqa: S608 - table names are ours  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    return [(segment_id, landmark) for segment_id, raw in rows if (landmark := aware(raw))]


def _accounts_lock(
    scoring: SegmentScoring, landmark: dt.datetime, at: dt.datetime, batch_id: int
) -> None:
    """Hold the AccountEngagement rows of the batch's member accounts FOR UPDATE,
    in account order, creating the missing ones, in one statement.

    Two rollups that touch one account then run its read-modify-write (the
    anonymous sum, the alert flag, the score from every contact's sum) one after
    the other; accounts are locked before their contact sums are added, in the
    same (segment, account) order by every rollup, so they cannot deadlock.
    """
    table = AccountEngagement._meta.db_table
    in_batch, batch_params = AccountScope.of_batch(batch_id).sql("m.account_id")
    sql = f"""
        INSERT INTO {table}
            (account_id, segment_id, scoring_model_id, landmark, anonymous_decay_sum, raw_score,
             score, stage, engaged_contacts, roles_covered, last_activity_at, alert_armed,
             computed_at)
        SELECT m.account_id, m.segment_id, %s, %s, 0, 0, 0, %s, 0, %s, NULL, %s, %s
        FROM {SegmentMembership._meta.db_table} m
        WHERE m.segment_id = %s AND {in_batch}
        ORDER BY m.account_id
        ON CONFLICT (account_id, segment_id) DO UPDATE SET computed_at = {table}.computed_at
    """  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [scoring.model_id, adapt(landmark), Stage.UNAWARE, "[]", True, adapt(at),
             scoring.segment_id, *batch_params],
        )  # fmt: skip


def _batch_add(
    scoring: SegmentScoring, landmark: dt.datetime, at: dt.datetime, batch_id: int, alerts: bool
) -> int:
    """Add one claimed batch to a segment; re-score only the accounts it touched."""
    _accounts_lock(scoring, landmark, at, batch_id)
    which = ActivityFilter.batch(batch_id)
    sql, params = contact_sums_add_sql(scoring, landmark, which=which)
    with connection.cursor() as db:
        db.execute(sql, params)
    return accounts_refresh(
        scoring=scoring, landmark=landmark, at=at, scope=AccountScope.of_batch(batch_id),
        anonymous=anonymous_sums(scoring, landmark, which=which), replace_anonymous=False,
        alerts=alerts,
    )  # fmt: skip


def _scorings(segment_ids: Sequence[int]) -> dict[int, SegmentScoring]:
    return {
        model.segment_id: scoring_of(model)
        for model in ScoringModel.objects.filter(segment_id__in=segment_ids, is_current=True)
    }


@transaction.atomic
def pending_roll(
    *, at: dt.datetime, alerts: bool = True, on_full_batch: Callable[[], None] | None = None
) -> RollupResult:
    """Claim pending committed activity as one batch (at most
    SCORES_ROLLUP_MAX_BATCH rows, the oldest first, when it is set) and add it
    to every segment that has a landmark, in one transaction: a claimed row is
    in every segment's sums or (rolled back) pending again, never lost or
    counted twice.

    `on_full_batch` is called right after a claim that took a full bounded
    batch (more may be pending), before the batch is added: the task path
    enqueues the next rollup there, so that another worker process claims the
    next rows (skipping these, which this transaction holds) while this one adds.

    Segments without a landmark are not scored yet: their first recompute reads
    all claimed activity. With no such segment at all, nothing is claimed.
    alerts=False: accounts rising into the qualified band are disarmed unalerted.
    """
    if not ActivityPending.objects.filter(batch__isnull=True).exists():
        return RollupResult(segment_id=None, accounts_refreshed=0)
    segments = _segments_share_locked()
    if not segments:
        return RollupResult(segment_id=None, accounts_refreshed=0)
    scorings = _scorings([segment_id for segment_id, _ in segments])
    batch = RollupBatch.objects.create()
    max_batch = settings.SCORES_ROLLUP_MAX_BATCH
    claimed = _claim(batch.pk, max_batch)
    if on_full_batch is not None and max_batch is not None and claimed >= max_batch:
        on_full_batch()
    if claimed:
        # Campaigns recompute the program touches of the batch (engagement/signals.py).
        transaction.on_commit(
            partial(activity_batch_claimed.send, sender=RollupBatch, batch_id=batch.pk),
            robust=True,
        )
    by_segment = {
        segment_id: _batch_add(scorings[segment_id], landmark, at, batch.pk, alerts)
        if claimed
        else 0
        for segment_id, landmark in segments
        if segment_id in scorings
    }
    if claimed:
        _claim_close(batch.pk)
    return RollupResult(
        segment_id=None, accounts_refreshed=sum(by_segment.values()), activities=claimed,
        batch_id=batch.pk, by_segment=by_segment,
    )  # fmt: skip
