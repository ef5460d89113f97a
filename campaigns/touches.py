"""Program touches (DESIGN 5): the write services that keep `Touch` equal to what
activity says.

Every refresh recomputes whole (program, account) pairs from *all* their
activity, never adds a delta, so running one twice, or two at once, or after a
late commit, leaves the same rows: the refresh is idempotent. What varies is
which pairs are recomputed:

- `touches_refresh_batch(batch_id=...)`: the pairs of the activity a score
  rollup just claimed (engagement's `activity_batch_claimed` signal, sent on
  the claim's commit, enqueues it), read by the batch's activity id range:
  new activity reaches the touches as it reaches the scores, and a claim
  takes every committed row exactly once;
- `touches_refresh(activity_ids=...)`: the pairs of given activities;
- `touches_sweep()`: every few minutes, the pairs of activity above a cursor
  that trails by `SWEEP_OVERLAP`. Ids are handed out at insert but transactions
  commit in any order, so a plain `max(id)` cursor could pass an id whose
  transaction was still open; re-reading the last half hour of ids catches any
  transaction shorter than that. It also catches imports and lost tasks;
- `touches_recompute()`: daily, every pair from scratch (and stale pairs
  removed), which repairs anything longer than the overlap, junk flags flipped
  and activity re-attributed to another account;
- `program_touches_recompute(program_id=...)`: a program created or re-keyed.

One `INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE` per call (per
chunk of ids), on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from campaigns.models import Program, Touch, TouchSweep
from core.bulk import LOOKUP_CHUNK, chunks
from engagement.models import Activity, RollupBatch, TrackingKeyCarried

# Longer than any ingest or import transaction is expected to stay open.
SWEEP_OVERLAP = dt.timedelta(minutes=30)

_ACTIVITY = Activity._meta.db_table
_PROGRAM = Program._meta.db_table
_TOUCH = Touch._meta.db_table
_BATCH = RollupBatch._meta.db_table
# Keyed activity dropped by retention (engagement.services.retention): first,
# last and count per key and account, read beside live activity so that a
# touch's first touch and count survive the drop.
_CARRIED = TrackingKeyCarried._meta.db_table

# Activity that counts as a touch: on a known account, keyed, not excluded (junk).
_COUNTS = "a.account_id IS NOT NULL AND a.tracking_key <> '' AND a.excluded_reason = ''"


def _upsert_sql(pairs_where: str | None) -> str:
    """Recompute the pairs whose (tracking key, account) the activity selected by
    `pairs_where` (over alias `s`) carries; every pair when None.

    Every pair is one aggregation over the keyed activity, without the
    self-join that selects pairs: right after a bulk write of tracking keys
    (before ANALYZE sees them) the planner estimated one keyed row and ran
    that join as a nested loop over every keyed row for every keyed row,
    which at 10M activities (500,000 keyed) did not finish in 5 minutes."""

    def pairs(alias: str) -> str:
        if pairs_where is None:
            return ""
        return f"""AND ({alias}.tracking_key, {alias}.account_id) IN (
            SELECT s.tracking_key, s.account_id FROM {_ACTIVITY} s
            WHERE s.account_id IS NOT NULL AND s.tracking_key <> '' AND {pairs_where}
        )"""  # noqa: S608  # nosec B608

    # The pairs' filter appears twice (live and carried): its parameters too.
    return f"""
        INSERT INTO {_TOUCH} (program_id, account_id, first_touch_at, last_touch_at, touch_count)
        SELECT p.id, a.account_id, MIN(a.first_at), MAX(a.last_at), SUM(a.n)
        FROM (
            SELECT a.tracking_key, a.account_id, a.occurred_at AS first_at,
                   a.occurred_at AS last_at, 1 AS n
            FROM {_ACTIVITY} a WHERE {_COUNTS} {pairs("a")}
            UNION ALL
            SELECT k.tracking_key, k.account_id, k.first_at, k.last_at, CAST(k.count AS INTEGER)
            FROM {_CARRIED} k WHERE k.excluded_reason = '' {pairs("k")}
        ) a JOIN {_PROGRAM} p ON p.tracking_key = a.tracking_key
        GROUP BY p.id, a.account_id
        ON CONFLICT (program_id, account_id) DO UPDATE SET
            first_touch_at = excluded.first_touch_at,
            last_touch_at = excluded.last_touch_at,
            touch_count = excluded.touch_count
    """  # noqa: S608 - table names from model metadata; values are bound parameters  # nosec B608


# A touch row no counted activity, live or carried, supports. The program's key
# is looked up first, so that each probe is one (account, key) range of
# activity_account_key_idx; joined to the program instead, PostgreSQL probed by
# account only and read every keyed activity of the account.
_TOUCH_KEY = f"(SELECT p.tracking_key FROM {_PROGRAM} p WHERE p.id = {_TOUCH}.program_id)"  # noqa: S608  # nosec B608
_UNSUPPORTED = f"""NOT EXISTS (
            SELECT 1 FROM {_ACTIVITY} a
            WHERE a.account_id = {_TOUCH}.account_id AND a.tracking_key = {_TOUCH_KEY}
              AND {_COUNTS}
        ) AND NOT EXISTS (
            SELECT 1 FROM {_CARRIED} k
            WHERE k.account_id = {_TOUCH}.account_id AND k.tracking_key = {_TOUCH_KEY}
              AND k.excluded_reason = ''
        )"""  # noqa: S608  # nosec B608


def _stale_delete_sql(pairs_where: str) -> str:
    """Touches of those pairs that no counted activity supports any more (an
    activity excluded as junk, or moved to another account), live or carried.

    The pairs first, MATERIALIZED: inlined, PostgreSQL ran both NOT EXISTS as
    anti-joins over every touch and every keyed activity before keeping the
    batch's pairs (at 1M activities 0.14 s of a 10,000-activity rollup,
    growing with history); materialized, it probes the (account, key) index
    for the batch's few hundred pairs."""
    return f"""
        WITH pairs AS MATERIALIZED (
            SELECT DISTINCT p.id AS program_id, s.account_id FROM {_ACTIVITY} s
            JOIN {_PROGRAM} p ON p.tracking_key = s.tracking_key
            WHERE s.account_id IS NOT NULL AND {pairs_where}
        )
        DELETE FROM {_TOUCH} WHERE (program_id, account_id) IN (
            SELECT program_id, account_id FROM pairs
        ) AND {_UNSUPPORTED}
    """  # noqa: S608  # nosec B608


def _pairs_refresh(pairs_where: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(pairs_where), [*params, *params])
        written = cursor.rowcount
        cursor.execute(_stale_delete_sql(pairs_where), list(params))
    return max(written, 0)


@transaction.atomic
def touches_refresh(*, activity_ids: Sequence[int]) -> int:
    """Recompute the (program, account) pairs these committed activities touch."""
    written = 0
    for chunk in chunks(sorted(set(activity_ids)), LOOKUP_CHUNK):
        marks = ", ".join(["%s"] * len(chunk))
        written += _pairs_refresh(f"s.id IN ({marks})", chunk)
    return written


@transaction.atomic
def touches_refresh_batch(*, batch_id: int) -> int:
    """Recompute the pairs of the activities a rollup claimed as one batch (sent
    by engagement once the claim commits: no activity can be missed).

    The batch's rows are read by its activity id range (RollupBatch's first and
    last ids; the claim's pending rows are gone once it commits): a superset of
    the batch, which is harmless since a refresh recomputes whole pairs."""
    batch = f"SELECT {{}} FROM {_BATCH} WHERE id = %s"  # noqa: S608  # nosec B608
    return _pairs_refresh(
        f"s.id BETWEEN ({batch.format('first_activity_id')})"
        f" AND ({batch.format('last_activity_id')})",
        [batch_id, batch_id],
    )


@dataclass(frozen=True)
class SweepResult:
    scanned_from_id: int
    high_water_id: int
    pairs: int


@transaction.atomic
def touches_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Recompute the pairs of activity above a cursor that trails by SWEEP_OVERLAP.

    The cursor is the high-water id seen by the newest sweep at least the
    overlap ago; without one, the start of the oldest sweep still kept; with no
    sweep at all, everything (a full recompute).
    """
    now = now or timezone.now()
    high_water = Activity.objects.aggregate(top=Max("id"))["top"] or 0
    settled = TouchSweep.objects.filter(swept_at__lte=now - SWEEP_OVERLAP).order_by("-swept_at")
    anchor = settled.first()
    if anchor is not None:
        scanned_from = anchor.high_water_id
        # Older sweeps are no longer needed as anchors.
        TouchSweep.objects.filter(swept_at__lt=anchor.swept_at).delete()
    else:
        oldest = TouchSweep.objects.order_by("swept_at").first()
        scanned_from = oldest.scanned_from_id if oldest is not None else 0
    if scanned_from == 0:
        pairs = touches_recompute()
    else:
        pairs = _pairs_refresh("s.id > %s", [scanned_from])
    TouchSweep.objects.create(swept_at=now, scanned_from_id=scanned_from, high_water_id=high_water)
    return SweepResult(scanned_from_id=scanned_from, high_water_id=high_water, pairs=pairs)


@transaction.atomic
def touches_recompute() -> int:
    """Every pair from all activity; touches no activity supports are deleted."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_TOUCH} WHERE {_UNSUPPORTED}")  # noqa: S608  # nosec B608
        cursor.execute(_upsert_sql(None))
        return max(cursor.rowcount, 0)


@transaction.atomic
def program_touches_recompute(*, program_id: int) -> int:
    """A program's touches from scratch: after it is created or its key changes."""
    Touch.objects.filter(program_id=program_id).delete()
    key = Program.objects.values_list("tracking_key", flat=True).get(pk=program_id)
    return _pairs_refresh("s.tracking_key = %s", [key])
