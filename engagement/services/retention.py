"""Activity retention (issue 20): raw activity is kept `ACTIVITY_RETENTION_MONTHS`
whole months back; older activity is folded into carried sums and deleted, so
that scores, history and program touches stay what they were.

One run (`activity_retention_apply`), for a cutoff at the start of a month:

1. The daily snapshots of every scored segment, from the first day of stored
   activity to the day before the cutoff, are made where missing
   (`snapshots_backfill`, while the activity is still there): trend charts and
   lift read those days from snapshots once their activity is gone.
2. In one transaction, with every segment's rollup cursor held FOR UPDATE (no
   recompute chunk or rollup runs meanwhile):
   - `ActivityCarried`: per decay rate (the default model's, every current
     model's, and every rate carried before, so that a new segment and a
     rolled-back half-life find their rows), account,
     contact, type and exclusion, `sum exp(rate * (t - cutoff))`: the old rows
     moved to the new cutoff (a pure decay, DESIGN 4) plus the dropped
     activity's terms. The full recompute, the score of a past day and the
     backfill add these, weighed by the current model, so a score recomputed
     after the drop equals the one before it (to float rounding);
   - `TrackingKeyCarried`: per key, account, contact and exclusion, the first
     and last time and the count of dropped keyed activity, which the touches
     read beside live activity (first touch and count survive);
   - the activity before the cutoff goes, except rows still pending (not in
     the stored sums yet; a later run takes them); visits never resolved to
     an account count nowhere and go without a trace. On PostgreSQL a month's
     partition with no pending row is dropped whole
     (engagement.services.partitions); what is left before the cutoff (a
     month with pending rows, the default partition, SQLite's one table) is
     deleted row by row. The message keys (ActivityMessage) of the months
     before the cutoff go with them, but those of the rows kept;
   - an `ActivityRetentionRun` records the cutoff: readers of raw activity
     refuse, or say, what lies before it.

The stored contact sums (ContactEngagement) already hold the dropped activity
and are not touched: the incremental rollup and the daily decay go on as before.
docs/scaling.md holds what a drop costs either way.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from core.jobs import JobProgress
from engagement.models import (
    Activity,
    ActivityCarried,
    ActivityMessage,
    ActivityPending,
    ActivityRetentionRun,
    EngagementSnapshot,
    RollupCursor,
    ScoringModel,
    TrackingKeyCarried,
)
from engagement.partition_selectors import activity_partitions_before
from engagement.retention_selectors import retention_cutoff
from engagement.rollup.dialect import (
    days_since_sql,
    decay_exp_sql,
    landmark_param,
    month_of_sql,
)
from engagement.rollup.scoring_models import scoring_of, segments_scored
from engagement.rollup.snapshots import snapshots_backfill
from engagement.scoring import HALF_LIFE_DAYS_DEFAULT
from engagement.services.partitions import activity_partitions_drop

_ACTIVITY = Activity._meta.db_table
_PENDING = ActivityPending._meta.db_table
_CARRIED = ActivityCarried._meta.db_table
_KEYS_CARRIED = TrackingKeyCarried._meta.db_table
_MESSAGES = ActivityMessage._meta.db_table
# Activity a run deletes: before the cutoff and rolled up already. It folds
# those on an account (_FOLDED): activity on no account (a visit never
# resolved to a company) counts nowhere, and goes without a trace.
_DROPPED = (
    f"a.occurred_at < %s AND NOT EXISTS ("  # noqa: S608  # nosec B608
    f"SELECT 1 FROM {_PENDING} p WHERE p.activity_id = a.id)"
)
_FOLDED = f"{_DROPPED} AND a.account_id IS NOT NULL"


def retention_cutoff_for(*, months: int, now: dt.datetime) -> dt.datetime:
    """The first instant (UTC) of the month `months` whole months before `now`'s:
    with months=13 on 2026-12-03, 2025-11-01 00:00."""
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    at = now.astimezone(dt.UTC)
    index = at.year * 12 + (at.month - 1) - months
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class RetentionResult:
    cutoff: dt.datetime
    activities_dropped: int
    carried_rows: int
    tracking_keys_carried: int
    snapshot_days_backfilled: int


def activity_retention_apply(
    *, months: int, now: dt.datetime | None = None, progress: JobProgress | None = None
) -> RetentionResult:
    """Keep `months` whole months of raw activity before the current month; fold
    and delete what is older (module docstring). A run with nothing older does
    nothing but record its cutoff; running twice is the same as once."""
    now = now or timezone.now()
    cutoff = retention_cutoff_for(months=months, now=now)
    earlier = retention_cutoff()
    if earlier is not None and earlier > cutoff:
        raise ValueError(
            f"activity before {earlier:%Y-%m-%d} was dropped already; keeping {months} months "
            f"from {now:%Y-%m-%d} would start at {cutoff:%Y-%m-%d}: dropped activity cannot "
            "come back"
        )
    backfilled = snapshots_before_ensure(cutoff=cutoff, progress=progress)
    with transaction.atomic():
        list(RollupCursor.objects.select_for_update().order_by("segment_id"))
        carried = _scores_fold(cutoff)
        keys = _tracking_keys_fold(cutoff)
        dropped, partitions = _activity_delete(cutoff)
        # The last write to the activity table: a partition's DROP holds the
        # table until the commit (only the keys and the run's record follow);
        # one that would wait on a reader deletes the month's rows instead.
        dropped += activity_partitions_drop(names=partitions)
        if dropped:  # else no key before the cutoff lost its activity
            _message_keys_delete(cutoff)
        ActivityRetentionRun.objects.create(
            ran_at=now, cutoff=cutoff, months_kept=months, activities_dropped=dropped,
            carried_rows=carried, snapshot_days_backfilled=backfilled,
        )  # fmt: skip
    result = RetentionResult(
        cutoff=cutoff, activities_dropped=dropped, carried_rows=carried,
        tracking_keys_carried=keys, snapshot_days_backfilled=backfilled,
    )  # fmt: skip
    if progress is not None:
        progress.finish(
            message=(
                f"Activity before {cutoff:%Y-%m-%d}: {dropped:,} rows folded into the carried "
                f"sums and deleted; {backfilled:,} snapshot days made first."
            ),
            result={
                "cutoff": cutoff.isoformat(), "activities_dropped": dropped,
                "carried_rows": carried, "snapshot_days_backfilled": backfilled,
            },
        )  # fmt: skip
    return result


def _activity_delete(cutoff: dt.datetime) -> tuple[int, list[str]]:
    """Delete the rolled-up activity before the cutoff that no partition drop
    takes; returns how many rows, and the partitions to drop (wholly before
    the cutoff, no pending row). Where the table is not partitioned (SQLite),
    every such row is deleted here."""
    at = connection.ops.adapt_datetimefield_value(cutoff)
    partitions = activity_partitions_before(cutoff=cutoff)
    tables = [p.name for p in partitions if p.month is None or p.holds_pending]
    drops = [p.name for p in partitions if p.month is not None and not p.holds_pending]
    deleted = 0
    with connection.cursor() as cursor:
        if not partitions:
            cursor.execute(
                f"DELETE FROM {_ACTIVITY} WHERE id IN ("  # noqa: S608  # nosec B608
                f"SELECT a.id FROM {_ACTIVITY} a WHERE {_DROPPED})",
                [at],
            )
            return max(cursor.rowcount, 0), []
        for table in tables:
            cursor.execute(f"DELETE FROM {table} a WHERE {_DROPPED}", [at])  # noqa: S608  # nosec B608
            deleted += max(cursor.rowcount, 0)
    return deleted, drops


def _message_keys_delete(cutoff: dt.datetime) -> None:
    """The message keys of the months before the cutoff go with their activity,
    but those of the rows kept (pending), put back in the same transaction."""
    month = month_of_sql("occurred_at")
    at = connection.ops.adapt_datetimefield_value(cutoff)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_MESSAGES} WHERE month < %s", [cutoff.date()])  # noqa: S608  # nosec B608
        cursor.execute(
            f"INSERT INTO {_MESSAGES} (source_id, message_id, month) "  # noqa: S608  # nosec B608
            f"SELECT source_id, message_id, {month} FROM {_ACTIVITY} WHERE occurred_at < %s",
            [at],
        )


def snapshots_before_ensure(*, cutoff: dt.datetime, progress: JobProgress | None = None) -> int:
    """Backfill, per scored segment, each day from the first stored activity (or
    the previous cutoff) to the day before `cutoff` that has no snapshot; the
    number of days written."""
    first = Activity.objects.filter(account__isnull=False, occurred_at__lt=cutoff).aggregate(
        first=Min("occurred_at")
    )["first"]
    if first is None:
        return 0
    earlier = retention_cutoff()
    start = max(first, earlier).date() if earlier is not None else first.date()
    last = (cutoff - dt.timedelta(days=1)).date()
    plan: list[tuple[int, list[tuple[dt.date, dt.date]]]] = []
    for segment_id in segments_scored():
        taken = set(
            EngagementSnapshot.objects.filter(segment_id=segment_id, day__range=(start, last))
            .values_list("day", flat=True)
            .distinct()
        )
        plan.append((segment_id, _missing_runs(start, last, taken)))
    total = sum((b - a).days + 1 for _, runs in plan for a, b in runs)
    if progress is not None:
        progress.set_total(total)
    for segment_id, runs in plan:
        for since, until in runs:
            snapshots_backfill(
                segment_id=segment_id, since=since, until=until,
                on_day=progress.advance if progress is not None else None,
            )  # fmt: skip
    return total


def _missing_runs(
    start: dt.date, last: dt.date, taken: set[dt.date]
) -> list[tuple[dt.date, dt.date]]:
    """The runs of consecutive days in [start, last] not in `taken`."""
    runs: list[tuple[dt.date, dt.date]] = []
    day = start
    while day <= last:
        if day in taken:
            day += dt.timedelta(days=1)
            continue
        first = day
        while day + dt.timedelta(days=1) <= last and day + dt.timedelta(days=1) not in taken:
            day += dt.timedelta(days=1)
        runs.append((first, day))
        day += dt.timedelta(days=1)
    return runs


def _carried_rates() -> list[float]:
    """The default model's decay rate (a segment created later starts with it),
    every current model's and every rate carried before."""
    rates = {
        scoring_of(model).params.decay_rate
        for model in ScoringModel.objects.filter(is_current=True)
    }
    rates.add(math.log(2) / HALF_LIFE_DAYS_DEFAULT)
    rates.update(ActivityCarried.objects.values_list("decay_rate", flat=True).distinct())
    return sorted(rates)


def _scores_fold(cutoff: dt.datetime) -> int:
    """Replace the carried sums of each rate by the old ones moved to `cutoff`
    plus the terms of the activity being dropped; the rows now carried."""
    adapted = connection.ops.adapt_datetimefield_value(cutoff)
    written = 0
    with connection.cursor() as cursor:
        for rate in _carried_rates():
            before = ActivityCarried.objects.filter(decay_rate=rate).order_by("-id").first()
            cursor.execute(
                f"""
                INSERT INTO {_CARRIED} (decay_rate, account_id, contact_id, type,
                    excluded_reason, landmark, decay_sum, count, latest)
                SELECT %s, x.account_id, x.contact_id, x.type, x.excluded_reason, %s,
                       SUM(x.decay_sum), SUM(x.count), MAX(x.latest)
                FROM (
                    SELECT a.account_id, a.contact_id, a.type, a.excluded_reason,
                           {decay_exp_sql(days_since_sql("a.occurred_at"))} AS decay_sum,
                           1 AS count, a.occurred_at AS latest
                    FROM {_ACTIVITY} a WHERE {_FOLDED}
                    UNION ALL
                    SELECT k.account_id, k.contact_id, k.type, k.excluded_reason,
                           k.decay_sum * {decay_exp_sql(days_since_sql("k.landmark"))},
                           k.count, k.latest
                    FROM {_CARRIED} k WHERE k.decay_rate = %s
                ) x
                GROUP BY x.account_id, x.contact_id, x.type, x.excluded_reason
                """,  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
                [
                    rate, adapted, rate, landmark_param(cutoff), adapted,
                    rate, landmark_param(cutoff), rate,
                ],
            )  # fmt: skip
            written += max(cursor.rowcount, 0)
            if before is not None:
                ActivityCarried.objects.filter(decay_rate=rate, id__lte=before.pk).delete()
    return written


def _tracking_keys_fold(cutoff: dt.datetime) -> int:
    """The same for keyed activity: first, last and count per key, account,
    contact and exclusion; the rows now carried."""
    before = TrackingKeyCarried.objects.order_by("-id").first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_KEYS_CARRIED} (tracking_key, account_id, contact_id, excluded_reason,
                first_at, last_at, count)
            SELECT x.tracking_key, x.account_id, x.contact_id, x.excluded_reason,
                   MIN(x.first_at), MAX(x.last_at), SUM(x.count)
            FROM (
                SELECT a.tracking_key, a.account_id, a.contact_id, a.excluded_reason,
                       a.occurred_at AS first_at, a.occurred_at AS last_at, 1 AS count
                FROM {_ACTIVITY} a WHERE {_FOLDED} AND a.tracking_key <> ''
                UNION ALL
                SELECT k.tracking_key, k.account_id, k.contact_id, k.excluded_reason,
                       k.first_at, k.last_at, k.count
                FROM {_KEYS_CARRIED} k
            ) x
            GROUP BY x.tracking_key, x.account_id, x.contact_id, x.excluded_reason
            """,  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
            [connection.ops.adapt_datetimefield_value(cutoff)],
        )
        written = max(cursor.rowcount, 0)
    if before is not None:
        TrackingKeyCarried.objects.filter(id__lte=before.pk).delete()
    return written
