"""Writes of engagement scores: activity rolled up into contact and account scores.

The score services live here, apart from services.py (ingest, sources, junk),
because they are their own concern: set-based SQL over the activity table.

- `scores_rollup` claims the activity committed since the last claim (one
  UPDATE of `rollup_batch`) and adds that batch to every scored segment in the
  same transaction: forward decay (DESIGN 4) makes each new term a plain
  addition, so the cost is O(new activities) and the result equals a full
  recompute. A claimed row is in every segment's sums exactly once.
- `scores_recompute` rebuilds a segment from all claimed activity (claiming the
  pending first), by ranges of accounts, one transaction each, resumable.
Both refresh the touched accounts' scores, stages and breadth with a fixed
number of reads and one bulk upsert.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Account, ICPSegment, Opportunity, SegmentMembership
from config import bulk
from engagement.alerts import alerts_create
from engagement.models import (
    AccountEngagement,
    Activity,
    ContactEngagement,
    EngagementSnapshot,
    RollupBatch,
    RollupCursor,
    ScoreRecomputeRun,
    ScoringModel,
    Stage,
)
from engagement.scoring import (
    ENGAGED_CONTACT_POINTS,
    MAX_EXPONENT,
    MIN_EXPONENT,
    ScoringParameters,
    account_raw,
    breadth,
    days_between,
    needs_rebase,
    normalised_score,
    points_at,
    raw_score,
    rebased,
    roles_covered,
    stage,
)
from engagement.signals import activity_batch_claimed


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
    return _scoring_of(model)


def _scoring_of(model: ScoringModel) -> SegmentScoring:
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


def _days_since(column: str) -> str:
    """SQL for the days from the landmark parameter (`_landmark_param`) to a
    timestamp column. On PostgreSQL `date_part` gives float8 directly, where
    `EXTRACT(EPOCH FROM interval)` would compute in numeric for every row."""
    if connection.vendor == "postgresql":
        return f"((date_part('epoch', {column}) - %s::float8) / 86400.0::float8)"
    return f"(julianday({column}) - julianday(%s))"


def _landmark_param(landmark: dt.datetime) -> Any:
    if connection.vendor == "postgresql":
        return landmark.timestamp()
    return connection.ops.adapt_datetimefield_value(landmark)


def _decay_exp_sql(days_since: str) -> str:
    """SQL for exp(lambda * days) with the exponent held within the bounds of
    engagement.scoring (MIN_EXPONENT, MAX_EXPONENT): the one place the SQL
    terms take their exponential, so that no stored time overflows a sum.
    `days_since` is `_days_since(column)`; lambda is the one parameter added."""
    exponent = f"{_float()} * {days_since}"
    if connection.vendor == "postgresql":
        least, greatest, number = "LEAST", "GREATEST", "::float8"
    else:
        least, greatest, number = "MIN", "MAX", ""
        # SQLite's julianday() reads no time after 9999-12-31 23:59:59.999 (it
        # gives NULL, and MIN of a NULL is NULL): such a time is the furthest
        # ahead of all, so it takes the upper bound.
        exponent = f"COALESCE({exponent}, {MAX_EXPONENT!r})"
    return (
        f"EXP({greatest}({least}({exponent}, {MAX_EXPONENT!r}{number}), {MIN_EXPONENT!r}{number}))"
    )


def _float() -> str:
    """A float parameter's placeholder. On PostgreSQL a bare `0.5` is `numeric`,
    and numeric arithmetic made the recompute's sums several times slower
    (docs/benchmarks.md): every number in the term is double precision."""
    return "%s::float8" if connection.vendor == "postgresql" else "%s"


def _case(column: str, values: dict[str, float], default: float) -> tuple[str, list[Any]]:
    number = _float()
    if not values:
        return number, [float(default)]
    whens = " ".join(f"WHEN %s THEN {number}" for _ in values)
    params: list[Any] = []
    for key, value in values.items():
        params += [key, float(value)]
    return f"(CASE {column} {whens} ELSE {number} END)", [*params, float(default)]


def _term_sql(
    scoring: SegmentScoring, landmark: dt.datetime, *, anonymous: bool
) -> tuple[str, list[Any]]:
    """w(type) * m(seniority) * exp(lambda * (t - L)) for one activity row `a` (contact `c`)."""
    weight, weight_params = _case("a.type", dict(scoring.params.activity_weights), 0.0)
    if anonymous:
        multiplier, multiplier_params = _case("''", {}, 1.0)
    else:
        multiplier, multiplier_params = _case(
            "c.seniority", dict(scoring.params.seniority_multipliers), 1.0
        )
    sql = f"{weight} * {multiplier} * {_decay_exp_sql(_days_since('a.occurred_at'))}"
    return sql, [
        *weight_params, *multiplier_params, scoring.params.decay_rate, _landmark_param(landmark)
    ]  # fmt: skip


def _contact_sums_add_sql(
    scoring: SegmentScoring, landmark: dt.datetime, *, which: ActivityFilter
) -> tuple[str, list[Any]]:
    """Add the contact terms of the activity `which` selects to the stored sums
    (the incremental rollup; the recompute replaces sums in _person_sums)."""
    term, term_params = _term_sql(scoring, landmark, anonymous=False)
    table = ContactEngagement._meta.db_table
    later = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    on_conflict = (
        f"ON CONFLICT (segment_id, account_id, contact_id) DO UPDATE SET "
        f"decay_sum = {table}.decay_sum + excluded.decay_sum, "
        f"last_activity_at = {later}({table}.last_activity_at, excluded.last_activity_at)"
    )
    sql = f"""
        INSERT INTO {table}
            (contact_id, account_id, segment_id, landmark, decay_sum, last_activity_at)
        SELECT a.contact_id, a.account_id, %s, %s, SUM({term}), MAX(a.occurred_at)
        FROM {Activity._meta.db_table} a
        JOIN accounts_contact c ON c.id = a.contact_id
        JOIN {SegmentMembership._meta.db_table} m
          ON m.account_id = a.account_id AND m.segment_id = %s
        WHERE {which.sql} AND a.excluded_reason = ''
          AND a.contact_id IS NOT NULL AND a.account_id IS NOT NULL
        GROUP BY a.contact_id, a.account_id
        {on_conflict}
    """  # noqa: S608 - table names are ours; every value is a parameter
    params = [
        scoring.segment_id,
        connection.ops.adapt_datetimefield_value(landmark),
        *term_params,
        scoring.segment_id,
        *which.params,
    ]
    return sql, params


def _anonymous_sums(
    scoring: SegmentScoring, landmark: dt.datetime, *, which: ActivityFilter
) -> dict[int, tuple[float, dt.datetime | None]]:
    """account id -> (forward-decay sum, latest time) of its anonymous activity."""
    term, term_params = _term_sql(scoring, landmark, anonymous=True)
    sql = f"""
        SELECT a.account_id, SUM({term}), MAX(a.occurred_at)
        FROM {Activity._meta.db_table} a
        JOIN {SegmentMembership._meta.db_table} m
          ON m.account_id = a.account_id AND m.segment_id = %s
        WHERE {which.sql} AND a.excluded_reason = ''
          AND a.contact_id IS NULL AND a.account_id IS NOT NULL
        GROUP BY a.account_id
    """  # noqa: S608 - table names are ours; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [*term_params, scoring.segment_id, *which.params])
        rows = cursor.fetchall()
    return {account_id: (float(total), _aware(latest)) for account_id, total, latest in rows}


def _contact_sums_replace(
    scoring: SegmentScoring, landmark: dt.datetime, accounts: AccountRange, cursor: Any
) -> None:
    """Make the range's stored contact sums those of the temporary table: update
    the pairs it has, delete the others, insert the new ones.

    Updating in place, rather than deleting and inserting every row, leaves
    the indexes alone: the updated columns are not indexed, and the table
    keeps free space in its pages (fillfactor, migration 0013) so that the new
    row versions stay on their page. A sum the rollups already brought to the
    same value is not rewritten at all: against a fixed landmark a forward-decay
    sum changes only when its activity does, so the nightly recompute mostly
    confirms sums (the two sides may differ in the last bits, since they add
    the same terms in another order: SUM_UNCHANGED_RELATIVE).
    """
    table, temporary = ContactEngagement._meta.db_table, _PERSON_SUMS_TABLE
    segment_id = scoring.segment_id
    adapted = connection.ops.adapt_datetimefield_value(landmark)
    in_range, range_params = accounts.sql(f"{table}.account_id")
    if connection.vendor == "sqlite":
        # Without it SQLite would scan the temporary table once per stored row.
        cursor.execute(f"CREATE INDEX {temporary}_pair ON {temporary} (account_id, contact_id)")
    statements = [
        (
            f"""UPDATE {table} SET decay_sum = s.decay_sum, landmark = %s,
                    last_activity_at = s.latest
                FROM {temporary} s
                WHERE {table}.segment_id = %s AND {table}.account_id = s.account_id
                  AND {table}.contact_id = s.contact_id
                  AND NOT ({table}.landmark = %s AND {table}.last_activity_at IS NOT NULL
                           AND {table}.last_activity_at = s.latest
                           AND abs({table}.decay_sum - s.decay_sum)
                               <= {_float()} * abs(s.decay_sum))""",  # noqa: S608 - our tables
            [adapted, segment_id, adapted, SUM_UNCHANGED_RELATIVE],
        ),
        (
            f"""DELETE FROM {table} WHERE {table}.segment_id = %s AND {in_range}
                AND NOT EXISTS (
                    SELECT 1 FROM {temporary} s
                    WHERE s.account_id = {table}.account_id AND s.contact_id = {table}.contact_id
                )""",  # noqa: S608 - our table names
            [segment_id, *range_params],
        ),
        (
            f"""INSERT INTO {table}
                    (segment_id, account_id, contact_id, landmark, decay_sum, last_activity_at)
                SELECT %s, s.account_id, s.contact_id, %s, s.decay_sum, s.latest
                FROM {temporary} s
                WHERE s.contact_id IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM {table}
                    WHERE {table}.segment_id = %s AND {table}.account_id = s.account_id
                      AND {table}.contact_id = s.contact_id
                )""",  # noqa: S608 - our table names
            [segment_id, adapted, segment_id],
        ),
    ]  # every value is a parameter
    for sql, params in statements:
        cursor.execute(sql, params)


class ContactTotals(NamedTuple):
    """An account's contacts at one scoring time, summed."""

    capped_points: float  # the sum over contacts of min(cap, max(0, points))
    engaged: int  # contacts with at least ENGAGED_CONTACT_POINTS
    engaged_roles: frozenset[str]  # the buying roles of those contacts
    latest: dt.datetime | None  # their latest activity


NO_CONTACTS = ContactTotals(0.0, 0, frozenset(), None)


def _contact_totals(
    scoring: SegmentScoring, decay: float, source: str, source_params: Sequence[Any]
) -> dict[int, ContactTotals]:
    """account id -> ContactTotals, aggregated in SQL from `source`: a query of
    contact sums with the columns account_id, decay_sum, role, latest. `decay`
    turns a sum into points at the scoring time.

    The cap and the engaged threshold here are the SQL twins of
    scoring.raw_score and scoring.breadth (same hand-computed tests): summing
    in the database returns one row per account instead of one per contact.
    """
    cap = float(scoring.params.contact_cap)
    engaged = float(ENGAGED_CONTACT_POINTS)
    number = _float()
    engaged_role = f"CASE WHEN s.points >= {number} THEN s.role END"
    roles = (
        f"string_agg(DISTINCT {engaged_role}, ',')"
        if connection.vendor == "postgresql"
        else f"group_concat(DISTINCT {engaged_role})"
    )
    sql = f"""
        SELECT s.account_id,
               SUM(CASE WHEN s.points > {number} THEN {number}
                        WHEN s.points > 0 THEN s.points ELSE 0 END),
               SUM(CASE WHEN s.points >= {number} THEN 1 ELSE 0 END),
               {roles},
               MAX(s.latest)
        FROM (
            SELECT q.account_id, q.decay_sum * {number} AS points, q.role, q.latest
            FROM ({source}) q
        ) s
        GROUP BY s.account_id
    """  # noqa: S608 - the source is ours; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [cap, cap, engaged, engaged, decay, *source_params])
        return {
            account_id: ContactTotals(
                float(capped),
                int(count),
                frozenset(held.split(",")) if held else frozenset(),
                _aware(latest),
            )
            for account_id, capped, count, held, latest in cursor.fetchall()
        }


class PersonSums(NamedTuple):
    """What one scan of activity gives the scoring of its accounts."""

    contacts: dict[int, ContactTotals]  # account id -> its contacts' totals
    # account id -> (sum of its anonymous activity, its latest anonymous activity)
    anonymous: dict[int, tuple[float, dt.datetime | None]]


_PERSON_SUMS_TABLE = "scores_person_sums"
# A recomputed contact sum this close to the stored one (relative) is the same
# sum: summation order leaves differences of a few units in the last place.
SUM_UNCHANGED_RELATIVE = 1e-12


def _person_sums(
    scoring: SegmentScoring,
    landmark: dt.datetime,
    at: dt.datetime,
    *,
    which: ActivityFilter,
    replace: AccountRange | None = None,
) -> PersonSums:
    """The member accounts' contact and anonymous sums of the activity `which`
    selects, totalled for scoring at `at`; with `replace`, the contact sums also
    become the stored ones of that range of accounts (`which` must select all
    of its activity).

    One aggregate over the activity fills a temporary table, which the writes
    and the reads then use. The aggregate runs in a CREATE TABLE AS, so that
    PostgreSQL can give it parallel workers (it plans none for an INSERT ...
    SELECT), with `SCORES_WORK_MEM_MB` so that it stays in memory. The
    seniority multiplier is the same for all of a contact's activity, so it
    multiplies each contact's sum once instead of joining the contact to every
    activity row: sum(w * m * e) = m * sum(w * e).
    """
    params = scoring.params
    weight, weight_params = _case("a.type", dict(params.activity_weights), 0.0)
    # Anonymous rows have no contact: NULL matches no seniority, so 1.
    multiplier, multiplier_params = _case("c.seniority", dict(params.seniority_multipliers), 1.0)
    activity, membership = Activity._meta.db_table, SegmentMembership._meta.db_table
    temporary = _PERSON_SUMS_TABLE
    stage_sql = f"""
        CREATE TEMPORARY TABLE {temporary} AS
        SELECT g.account_id, g.contact_id, g.decay_sum * {multiplier} AS decay_sum,
               g.latest, c.buying_role AS role
        FROM (
            SELECT a.account_id, a.contact_id, MAX(a.occurred_at) AS latest,
                   SUM({weight} * {_decay_exp_sql(_days_since("a.occurred_at"))}) AS decay_sum
            FROM {activity} a
            JOIN {membership} m ON m.account_id = a.account_id AND m.segment_id = %s
            WHERE {which.sql} AND a.excluded_reason = ''
            GROUP BY a.account_id, a.contact_id
        ) g
        LEFT JOIN accounts_contact c ON c.id = g.contact_id
    """  # noqa: S608 - table names are ours; every value is a parameter
    stage_params = [
        *multiplier_params, *weight_params, params.decay_rate, _landmark_param(landmark),
        scoring.segment_id, *which.params,
    ]  # fmt: skip
    anonymous_sql = (
        f"SELECT account_id, decay_sum, latest FROM {temporary} "  # noqa: S608
        "WHERE contact_id IS NULL"
    )
    decay = points_at(decay_sum=1.0, landmark=landmark, at=at, rate=params.decay_rate)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {temporary}")
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT set_config('work_mem', %s, true)", [f"{settings.SCORES_WORK_MEM_MB}MB"]
            )
        cursor.execute(stage_sql, stage_params)
        if replace is not None:
            _contact_sums_replace(scoring, landmark, replace, cursor)
        contacts = _contact_totals(
            scoring, decay,
            f"SELECT account_id, decay_sum, role, latest FROM {temporary} "  # noqa: S608
            "WHERE contact_id IS NOT NULL",
            [],
        )  # fmt: skip
        cursor.execute(anonymous_sql)
        anonymous = {
            account_id: (float(total), _aware(latest))
            for account_id, total, latest in cursor.fetchall()
        }
        cursor.execute(f"DROP TABLE {temporary}")
    return PersonSums(contacts=contacts, anonymous=anonymous)


def _aware(value: Any) -> dt.datetime | None:
    """A timestamp from raw SQL: a datetime on PostgreSQL, text on SQLite."""
    if value is None:
        return None
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"unreadable timestamp {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class ActivityFilter:
    """Which activity rows `a` a sum reads: SQL over the alias `a`, and its parameters."""

    sql: str
    params: list[Any]

    @classmethod
    def batch(cls, batch_id: int) -> ActivityFilter:
        return cls("a.rollup_batch = %s", [batch_id])

    @classmethod
    def before(cls, moment: dt.datetime) -> ActivityFilter:
        return cls("a.occurred_at < %s", [connection.ops.adapt_datetimefield_value(moment)])

    @classmethod
    def claimed_in_range(cls, accounts: AccountRange) -> ActivityFilter:
        """Everything claimed so far (pending rows are the next rollup's), for a
        range of accounts."""
        in_range, params = accounts.sql("a.account_id")
        return cls(f"a.rollup_batch IS NOT NULL AND {in_range}", params)


@dataclass(frozen=True)
class AccountRange:
    """Accounts with after < id <= through (no upper bound when through is None)."""

    after: int = 0
    through: int | None = None

    def q(self) -> Q:
        scope = Q(account_id__gt=self.after)
        return scope if self.through is None else scope & Q(account_id__lte=self.through)

    def sql(self, column: str) -> tuple[str, list[Any]]:
        """The range as SQL over `column`, and its parameters."""
        if self.through is None:
            return f"{column} > %s", [self.after]
        return f"{column} > %s AND {column} <= %s", [self.after, self.through]


@dataclass(frozen=True)
class RollupResult:
    """What a rollup or recompute did. `accounts_refreshed` counts the accounts of
    `segment_id` re-scored (of every segment when segment_id is None)."""

    segment_id: int | None
    accounts_refreshed: int
    activities: int = 0  # activities claimed by this call
    batch_id: int | None = None
    by_segment: dict[int, int] = field(default_factory=dict)


def _midnight(at: dt.datetime) -> dt.datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _cursor_locked(segment_id: int) -> RollupCursor:
    """The segment's cursor row, held FOR UPDATE: no rollup adds to the segment
    until the transaction ends."""
    RollupCursor.objects.get_or_create(segment_id=segment_id)
    return RollupCursor.objects.select_for_update().get(segment_id=segment_id)


# --- Incremental rollup: claim pending activity, add it to every segment ----------


def _claim(batch_id: int) -> int:
    """Mark pending committed activity as this batch's; returns how many rows.

    On PostgreSQL rows another claimer holds are skipped (SKIP LOCKED), so
    concurrent rollups take disjoint batches instead of queueing; rows still
    being inserted are invisible and stay pending for the next claim. SQLite
    has one writer at a time, so a plain UPDATE is the same thing there.
    """
    table = Activity._meta.db_table
    if connection.vendor == "postgresql":
        sql = f"""
            UPDATE {table} SET rollup_batch = %s WHERE id IN (
                SELECT id FROM {table} WHERE rollup_batch IS NULL FOR UPDATE SKIP LOCKED
            )
        """  # noqa: S608 - table names are ours; every value is a parameter
    else:
        sql = f"UPDATE {table} SET rollup_batch = %s WHERE rollup_batch IS NULL"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [batch_id])
        return int(cursor.rowcount)


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
    """  # noqa: S608 - table names are ours
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    return [(segment_id, landmark) for segment_id, raw in rows if (landmark := _aware(raw))]


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
    sql = f"""
        INSERT INTO {table}
            (account_id, segment_id, scoring_model_id, landmark, anonymous_decay_sum, raw_score,
             score, stage, engaged_contacts, roles_covered, last_activity_at, alert_armed,
             computed_at)
        SELECT m.account_id, m.segment_id, %s, %s, 0, 0, 0, %s, 0, %s, NULL, %s, %s
        FROM {SegmentMembership._meta.db_table} m
        WHERE m.segment_id = %s AND m.account_id IN (
            SELECT a.account_id FROM {Activity._meta.db_table} a WHERE a.rollup_batch = %s
        )
        ORDER BY m.account_id
        ON CONFLICT (account_id, segment_id) DO UPDATE SET computed_at = {table}.computed_at
    """  # noqa: S608 - table names are ours; every value is a parameter
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [scoring.model_id, adapt(landmark), Stage.UNAWARE, "[]", True, adapt(at),
             scoring.segment_id, batch_id],
        )  # fmt: skip


def _batch_add(
    scoring: SegmentScoring, landmark: dt.datetime, at: dt.datetime, batch_id: int, alerts: bool
) -> int:
    """Add one claimed batch to a segment; re-score only the accounts it touched."""
    _accounts_lock(scoring, landmark, at, batch_id)
    which = ActivityFilter.batch(batch_id)
    sql, params = _contact_sums_add_sql(scoring, landmark, which=which)
    with connection.cursor() as db:
        db.execute(sql, params)
    return _accounts_refresh(
        scoring=scoring, landmark=landmark, at=at, scope=AccountScope.of_batch(batch_id),
        anonymous=_anonymous_sums(scoring, landmark, which=which), replace_anonymous=False,
        alerts=alerts,
    )  # fmt: skip


def _scorings(segment_ids: Sequence[int]) -> dict[int, SegmentScoring]:
    return {
        model.segment_id: _scoring_of(model)
        for model in ScoringModel.objects.filter(segment_id__in=segment_ids, is_current=True)
    }


@transaction.atomic
def _pending_roll(*, at: dt.datetime, alerts: bool = True) -> RollupResult:
    """Claim every pending committed activity as one batch and add it to every
    segment that has a landmark, in one transaction: a claimed row is in every
    segment's sums or (rolled back) pending again, never lost or counted twice.

    Segments without a landmark are not scored yet: their first recompute reads
    all claimed activity. With no such segment at all, nothing is claimed.
    alerts=False: accounts rising into the qualified band are disarmed unalerted.
    """
    if not Activity.objects.filter(rollup_batch__isnull=True).exists():
        return RollupResult(segment_id=None, accounts_refreshed=0)
    segments = _segments_share_locked()
    if not segments:
        return RollupResult(segment_id=None, accounts_refreshed=0)
    scorings = _scorings([segment_id for segment_id, _ in segments])
    batch = RollupBatch.objects.create()
    claimed = _claim(batch.pk)
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
    return RollupResult(
        segment_id=None, accounts_refreshed=sum(by_segment.values()), activities=claimed,
        batch_id=batch.pk, by_segment=by_segment,
    )  # fmt: skip


def scores_rollup(
    *, segment_id: int | None = None, at: dt.datetime | None = None, alerts: bool = True
) -> RollupResult:
    """Claim the activity committed since the last claim and add it to every scored
    segment; re-score only the accounts it touched. O(new activities).

    `segment_id` names the segment whose refreshed accounts the result counts;
    all segments are rolled up regardless, since a claim is made once for all of
    them. A segment never scored has no landmark yet: rolling it up recomputes it.
    alerts=False (a benchmark, a replay) raises no alert, as in scores_recompute.
    """
    at = at or timezone.now()
    if (
        segment_id is not None
        and not RollupCursor.objects.filter(segment_id=segment_id, landmark__isnull=False).exists()
    ):
        return scores_recompute(segment_id=segment_id, at=at, alerts=alerts)
    rolled = _pending_roll(at=at, alerts=alerts)
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


def scores_rollup_pending() -> RollupResult:
    """The ingest-triggered rollup: reopen the debounce window, then claim and add."""
    cache.delete(ROLLUP_SCHEDULED_KEY)
    return scores_rollup()


# --- Full recompute: by account ranges, one transaction each, resumable ------------

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
    claimed = _pending_roll(at=at, alerts=alerts)
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
    return RollupResult(
        segment_id=segment_id, accounts_refreshed=refreshed, activities=claimed.activities,
        batch_id=claimed.batch_id,
    )  # fmt: skip


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
    cursor = _cursor_locked(segment_id)
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
    cursor = _cursor_locked(segment_id)
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
    sums = _person_sums(
        scoring, landmark, at, which=ActivityFilter.claimed_in_range(accounts), replace=accounts
    )
    refreshed = _accounts_refresh(
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
    cursor = _cursor_locked(segment_id)
    if cursor.landmark is None:
        return scores_recompute(segment_id=segment_id, at=at).accounts_refreshed
    return _accounts_refresh(
        scoring=segment_scoring(segment_id=segment_id), landmark=cursor.landmark,
        at=at or timezone.now(), scope=AccountScope.every(), anonymous={}, replace_anonymous=False,
    )  # fmt: skip


@dataclass(frozen=True)
class AccountScore:
    raw: float
    score: int
    stage: str
    engaged_contacts: int
    roles_covered: list[str]
    last_activity_at: dt.datetime | None


@dataclass
class ScoreInputs:
    """Everything the scores of some accounts at one time are computed from."""

    contacts: dict[int, ContactTotals] = field(default_factory=dict)
    anonymous_points: dict[int, float] = field(default_factory=dict)
    latest: dict[int, dt.datetime] = field(default_factory=dict)
    deal_flags: dict[int, dict[str, Any]] = field(default_factory=dict)

    def seen(self, account_id: int, moment: dt.datetime | None) -> None:
        if moment and (account_id not in self.latest or moment > self.latest[account_id]):
            self.latest[account_id] = moment


def _account_score(
    account_id: int, inputs: ScoreInputs, params: ScoringParameters, at: dt.datetime
) -> AccountScore:
    contacts = inputs.contacts.get(account_id, NO_CONTACTS)
    raw = account_raw(
        capped_contact_points=contacts.capped_points,
        anonymous_points=inputs.anonymous_points.get(account_id, 0.0),
        anonymous_factor=params.anonymous_factor,
    )
    score = normalised_score(raw, params.scale)
    covered, _missing = roles_covered(
        engaged_roles=contacts.engaged_roles, required_roles=params.required_roles
    )
    flags = inputs.deal_flags.get(account_id, {})
    last = inputs.latest.get(account_id)
    return AccountScore(
        raw=raw,
        score=score,
        stage=stage(
            score=score,
            last_activity_at=last,
            at=at,
            has_won_opportunity=bool(flags.get("won")),
            has_open_opportunity=bool(flags.get("open")),
            params=params,
        ),
        engaged_contacts=contacts.engaged,
        roles_covered=covered,
        last_activity_at=last,
    )


@dataclass(frozen=True)
class AccountScope:
    """The member accounts a refresh re-scores: as a Q over `account_id` for the
    ORM reads (None: all of them), and as SQL over a column."""

    q: Q | None
    sql_template: str  # "{column} ..."
    params: tuple[Any, ...] = ()

    @classmethod
    def every(cls) -> AccountScope:
        return cls(None, "{column} IS NOT NULL")

    @classmethod
    def of_range(cls, accounts: AccountRange) -> AccountScope:
        sql, params = accounts.sql("{column}")
        return cls(accounts.q(), sql, tuple(params))

    @classmethod
    def of_batch(cls, batch_id: int) -> AccountScope:
        touched = Activity.objects.filter(rollup_batch=batch_id).values("account_id")
        table = Activity._meta.db_table
        sql = f"{{column}} IN (SELECT account_id FROM {table} WHERE rollup_batch = %s)"  # noqa: S608
        return cls(Q(account_id__in=touched), sql, (batch_id,))

    def sql(self, column: str) -> tuple[str, list[Any]]:
        return self.sql_template.format(column=column), list(self.params)


class _Previous(NamedTuple):
    account_id: int
    anonymous_decay_sum: float
    last_activity_at: dt.datetime | None
    alert_armed: bool


def _stored_contact_totals(
    scoring: SegmentScoring, decay: float, scope: AccountScope
) -> dict[int, ContactTotals]:
    in_scope, params = scope.sql("e.account_id")
    source = f"""
        SELECT e.account_id, e.decay_sum, c.buying_role AS role, e.last_activity_at AS latest
        FROM {ContactEngagement._meta.db_table} e
        JOIN accounts_contact c ON c.id = e.contact_id
        WHERE e.segment_id = %s AND {in_scope}
    """  # noqa: S608 - table names are ours; every value is a parameter
    return _contact_totals(scoring, decay, source, [scoring.segment_id, *params])


def _accounts_refresh(
    *,
    scoring: SegmentScoring,
    landmark: dt.datetime,
    at: dt.datetime,
    scope: AccountScope,
    anonymous: dict[int, tuple[float, dt.datetime | None]],
    replace_anonymous: bool,
    alerts: bool = True,
    contacts: dict[int, ContactTotals] | None = None,
) -> int:
    """Recompute score, stage and breadth of member accounts from the stored
    contact sums (or from `contacts`, the totals of the scope's sums just
    computed: the recompute has them in hand)."""
    params, rate = scoring.params, scoring.params.decay_rate
    members = SegmentMembership.objects.filter(segment_id=scoring.segment_id)
    stored = AccountEngagement.objects.filter(segment_id=scoring.segment_id)
    # A deal not assigned to an account yet moves no account's stage.
    deals = Opportunity.objects.filter(account_id__isnull=False)
    if scope.q is not None:
        members, stored, deals = (
            members.filter(scope.q),
            stored.filter(scope.q),
            deals.filter(scope.q),
        )
    member_ids = list(members.values_list("account_id", flat=True))
    # c(t) = S * exp(-lambda * (t - L)): one factor for every sum of the segment.
    decay = points_at(decay_sum=1.0, landmark=landmark, at=at, rate=rate)
    inputs = ScoreInputs(
        contacts=_stored_contact_totals(scoring, decay, scope) if contacts is None else contacts
    )
    for account_id, totals in inputs.contacts.items():
        inputs.seen(account_id, totals.latest)
    # Only what the re-score carries over, not whole model instances.
    previous = {
        values[0]: _Previous(*values)
        for values in stored.values_list(
            "account_id", "anonymous_decay_sum", "last_activity_at", "alert_armed"
        )
    }
    inputs.deal_flags = {
        row["account_id"]: dict(row)
        for row in deals.values("account_id").annotate(
            won=Count("id", filter=Q(status="won")), open=Count("id", filter=Q(status="open"))
        )
    }
    anonymous_sums: dict[int, float] = {}
    for account_id in member_ids:
        before = previous.get(account_id)
        anonymous_sum, anonymous_latest = anonymous.get(account_id, (0.0, None))
        if not replace_anonymous and before is not None:
            anonymous_sum += before.anonymous_decay_sum
            inputs.seen(account_id, before.last_activity_at)
        inputs.seen(account_id, anonymous_latest)
        anonymous_sums[account_id] = anonymous_sum
        inputs.anonymous_points[account_id] = anonymous_sum * decay
    rows: list[dict[str, Any]] = []
    crossed: list[tuple[int, int]] = []
    for account_id in member_ids:
        result = _account_score(account_id, inputs, params, at)
        before = previous.get(account_id)
        # Hysteresis: one alert on rising into the qualified band, none again
        # until the score has fallen below the engaged band.
        armed = before.alert_armed if before else True
        if result.score >= params.qualified_min and armed:
            crossed.append((account_id, result.score))
            armed = False
        elif result.score < params.engaged_min:
            armed = True
        rows.append(
            {
                "account_id": account_id,
                "anonymous_decay_sum": anonymous_sums[account_id],
                "raw_score": result.raw,
                "score": result.score,
                "stage": result.stage,
                "engaged_contacts": result.engaged_contacts,
                "roles_covered": result.roles_covered,
                "last_activity_at": result.last_activity_at,
                "alert_armed": armed,
            }
        )
    _account_scores_upsert(scoring=scoring, landmark=landmark, at=at, rows=rows)
    if crossed and alerts:
        alerts_create(
            segment_id=scoring.segment_id, scores=crossed, model_version=scoring.model_version
        )
    return len(rows)


# The per-account columns of a score row, with their PostgreSQL types.
_SCORE_COLUMNS = (
    ("account_id", "bigint"), ("anonymous_decay_sum", "float8"), ("raw_score", "float8"),
    ("score", "integer"), ("stage", "text"), ("engaged_contacts", "integer"),
    ("roles_covered", "jsonb"), ("last_activity_at", "timestamptz"), ("alert_armed", "boolean"),
)  # fmt: skip


def _json_rows_source(columns: Sequence[tuple[str, str]]) -> str:
    """A SELECT of rows that travel as one JSON array parameter (`%s`), one
    column per (name, PostgreSQL type): the score and snapshot upserts' source."""
    if connection.vendor == "postgresql":
        typed = ", ".join(f"{name} {kind}" for name, kind in columns)
        return f"SELECT * FROM json_to_recordset(%s::json) AS r({typed})"  # noqa: S608
    picked = ", ".join(f"json_extract(value, '$.{name}') AS {name}" for name, _ in columns)
    return f"SELECT {picked} FROM json_each(%s)"  # noqa: S608 - constant names


def _account_scores_upsert(
    *, scoring: SegmentScoring, landmark: dt.datetime, at: dt.datetime,
    rows: Sequence[dict[str, Any]],
) -> None:  # fmt: skip
    """Insert or update the score rows of one segment in one statement.

    The rows travel as one JSON parameter, read by json_to_recordset
    (PostgreSQL) or json_each (SQLite): building ORM instances and binding 13
    values a row took longer than the scoring itself (docs/benchmarks.md).
    """
    if not rows:
        return
    names = [name for name, _ in _SCORE_COLUMNS]
    if connection.vendor != "postgresql":
        # orjson writes times as RFC 3339; SQLite compares Django's own text form.
        adapt_time = connection.ops.adapt_datetimefield_value
        rows = [{**row, "last_activity_at": adapt_time(row["last_activity_at"])} for row in rows]
    source = _json_rows_source(_SCORE_COLUMNS)
    table = AccountEngagement._meta.db_table
    updated = [*names[1:], "scoring_model_id", "landmark", "computed_at"]
    sql = f"""
        INSERT INTO {table}
            ({", ".join(names)}, segment_id, scoring_model_id, landmark, computed_at)
        SELECT {", ".join(f"r.{name}" for name in names)}, %s, %s, %s, %s
        FROM ({source}) r WHERE true
        ON CONFLICT (account_id, segment_id) DO UPDATE SET
            {", ".join(f"{name} = excluded.{name}" for name in updated)}
    """  # noqa: S608 - table and column names are ours; every value is a parameter
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [scoring.segment_id, scoring.model_id, adapt(landmark), adapt(at),
             orjson.dumps(rows).decode()],
        )  # fmt: skip


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


# --- Scoring model versions ------------------------------------------------------

TUNABLE_PARAMETERS = (
    "activity_weights", "seniority_multipliers", "half_life_days", "contact_cap", "scale",
    "engaged_min", "qualified_min", "lookback_days", "anonymous_factor", "required_roles",
)  # fmt: skip


def _model_check(values: dict[str, Any]) -> None:
    """Refuse a model the rollup could not score, naming the field and value."""
    from accounts.models import BuyingRole, Seniority
    from engagement.models import ActivityType

    unknown_types = set(values["activity_weights"]) - set(ActivityType.values)
    if unknown_types:
        raise ValueError(f"activity_weights: unknown activity types {sorted(unknown_types)}")
    unknown = set(values["seniority_multipliers"]) - set(Seniority.values)
    if unknown:
        raise ValueError(f"seniority_multipliers: unknown seniorities {sorted(unknown)}")
    unknown = set(values["required_roles"]) - set(BuyingRole.values)
    if unknown:
        raise ValueError(f"required_roles: unknown buying roles {sorted(unknown)}")
    for name in ("half_life_days", "contact_cap", "scale"):
        if not float(values[name]) > 0:
            raise ValueError(f"{name} must be above 0, got {values[name]!r}")
    if not 1 <= values["engaged_min"] < values["qualified_min"] <= 100:
        raise ValueError(
            f"bands must satisfy 1 <= engaged_min < qualified_min <= 100, got "
            f"{values['engaged_min']} and {values['qualified_min']}"
        )


@transaction.atomic
def scoring_model_update(
    *, segment_id: int, changes: dict[str, Any], created_by_id: int | None = None
) -> ScoringModel:
    """Save changed parameters as a new version and schedule a full recompute.

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
    transaction.on_commit(lambda: scores_recompute_task.delay(segment_id))
    return new


# --- Daily snapshots and history backfill ------------------------------------------


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def score_valid_at(day: dt.date, *, now: dt.datetime | None = None) -> dt.datetime:
    """The moment a day's score describes: the end of the day, or now while the
    day is not over. A score never carries a future time (it would be decayed
    for hours that have not happened, and disagree with its explanation)."""
    return min(_end_of(day), now or timezone.now())


_SNAPSHOT_FIELDS = ["model_version", "score", "raw_score", "stage", "engaged_contacts",
                    "roles_covered"]  # fmt: skip


@transaction.atomic
def snapshots_take(*, segment_id: int, day: dt.date) -> int:
    """Store every member account's score at the end of `day` (or now, if the day
    is not over): what the trend charts and lift read."""
    scores_refresh(segment_id=segment_id, at=score_valid_at(day))
    rows = [
        EngagementSnapshot(
            account_id=row.account_id,
            segment_id=segment_id,
            day=day,
            model_version=row.scoring_model.version,
            score=row.score,
            raw_score=row.raw_score,
            stage=row.stage,
            engaged_contacts=row.engaged_contacts,
            roles_covered=len(row.roles_covered),
        )
        for row in AccountEngagement.objects.filter(segment_id=segment_id).select_related(
            "scoring_model"
        )
    ]
    bulk.bulk_upsert(
        model=EngagementSnapshot, objects=rows, unique_fields=["account", "segment", "day"],
        update_fields=_SNAPSHOT_FIELDS,
    )  # fmt: skip
    return len(rows)


def _deal_flags_as_of(day: dt.date) -> dict[int, dict[str, Any]]:
    """Won and open deals per account as they stood at the end of `day`."""
    closed_by_then = Q(status__in=("won", "lost"), close_on__lte=day)
    rows = (
        Opportunity.objects.filter(opened_on__lte=day, account_id__isnull=False)
        .values("account_id")
        .annotate(
            won=Count("id", filter=Q(status="won", close_on__lte=day)),
            open=Count("id", filter=~closed_by_then),
        )
    )
    return {row["account_id"]: dict(row) for row in rows}


def _history_scores(
    scoring: SegmentScoring,
    at: dt.datetime,
    *,
    which: ActivityFilter,
    member_ids: Sequence[int],
    deal_flags: dict[int, dict[str, Any]],
) -> dict[int, AccountScore]:
    """The scores at `at` of the member accounts, from the activity `which`
    selects (it must select none after `at`): the backfill's and the score-as-of's
    one computation. The landmark is `at` itself, so every exponent is at most 0
    and the sums are the points at `at` directly (no decay factor to apply)."""
    params = scoring.params
    sums = _person_sums(scoring, at, at, which=which)
    inputs = ScoreInputs(contacts=sums.contacts, deal_flags=deal_flags)
    for account_id, totals in sums.contacts.items():
        inputs.seen(account_id, totals.latest)
    for account_id, (total, latest) in sums.anonymous.items():
        inputs.anonymous_points[account_id] = points_at(
            decay_sum=total, landmark=at, at=at, rate=params.decay_rate
        )
        inputs.seen(account_id, latest)
    return {account_id: _account_score(account_id, inputs, params, at) for account_id in member_ids}


def scores_as_of(*, segment_id: int, day: dt.date, accounts: QuerySet[Any]) -> dict[int, int]:
    """The score on `day` (at `score_valid_at(day)`) of each member of the segment
    among `accounts` (a queryset of account ids), computed exactly from the
    activity stored before then: forward decay makes a past score a plain sum
    of the activity up to that moment, with the cap, anonymous factor and
    normalisation of every other score. An account without any activity by
    then scores 0, a real zero; an account outside the segment has no score.

    The segment's current scoring model applies (as in `snapshots_backfill`),
    so that both ends of a lift are measured with the same weights. Junk
    exclusions count as they stand now. A fixed number of queries whatever the
    number of accounts.
    """
    scoring = segment_scoring(segment_id=segment_id)
    at = score_valid_at(day)
    subquery, subquery_params = accounts.query.sql_with_params()
    before = ActivityFilter.before(at)
    which = ActivityFilter(
        f"{before.sql} AND a.account_id IN ({subquery})", [*before.params, *subquery_params]
    )
    member_ids = list(
        SegmentMembership.objects.filter(segment_id=segment_id, account_id__in=accounts)
        .values_list("account_id", flat=True)
        .order_by("account_id")
    )
    scores = _history_scores(scoring, at, which=which, member_ids=member_ids, deal_flags={})
    return {account_id: result.score for account_id, result in scores.items()}


# The per-account columns of a snapshot row, with their PostgreSQL types.
_SNAPSHOT_COLUMNS = (
    ("account_id", "bigint"), ("score", "integer"), ("raw_score", "float8"), ("stage", "text"),
    ("engaged_contacts", "integer"), ("roles_covered", "integer"),
)  # fmt: skip


def _snapshots_upsert(
    *, segment_id: int, day: dt.date, model_version: int, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert or update one day's snapshots of a segment in one statement, the rows
    travelling as one JSON parameter as in `_account_scores_upsert` (building an
    ORM instance per row cost most of a year's backfill)."""
    if not rows:
        return
    names = [name for name, _ in _SNAPSHOT_COLUMNS]
    source = _json_rows_source(_SNAPSHOT_COLUMNS)
    updated = list(_SNAPSHOT_FIELDS)
    sql = f"""
        INSERT INTO {EngagementSnapshot._meta.db_table}
            ({", ".join(names)}, segment_id, day, model_version)
        SELECT {", ".join(f"r.{name}" for name in names)}, %s, %s, %s
        FROM ({source}) r WHERE true
        ON CONFLICT (account_id, segment_id, day) DO UPDATE SET
            {", ".join(f"{name} = excluded.{name}" for name in updated)}
    """  # noqa: S608 - table and column names are ours; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [segment_id, connection.ops.adapt_datefield_value(day), model_version,
             orjson.dumps(rows).decode()],
        )  # fmt: skip


def _member_activity_terms(
    scoring: SegmentScoring, landmark: dt.datetime, *, since: dt.datetime | None = None
) -> Generator[tuple[int, int | None, str | None, float, float], None, None]:
    """Every counted activity of the segment's members before `landmark` (and at
    or after `since`, when given), in time order: (account, contact or None, the
    contact's buying role, days from the landmark (negative), forward-decay term
    against the landmark). The term is the rollup's own (`_term_sql`; anonymous
    rows have no seniority, so 1). Read through a chunked cursor, so memory does
    not grow with the activity."""
    term, term_params = _term_sql(scoring, landmark, anonymous=False)
    lower = "" if since is None else "AND a.occurred_at >= %s"
    sql = f"""
        SELECT a.account_id, a.contact_id, c.buying_role, {_days_since("a.occurred_at")}, {term}
        FROM {Activity._meta.db_table} a
        JOIN {SegmentMembership._meta.db_table} m
          ON m.account_id = a.account_id AND m.segment_id = %s
        LEFT JOIN accounts_contact c ON c.id = a.contact_id
        WHERE a.occurred_at < %s {lower} AND a.excluded_reason = ''
        ORDER BY a.occurred_at
    """  # noqa: S608 - table names are ours; every value is a parameter
    params = [
        _landmark_param(landmark), *term_params, scoring.segment_id,
        connection.ops.adapt_datetimefield_value(landmark),
        *([] if since is None else [connection.ops.adapt_datetimefield_value(since)]),
    ]  # fmt: skip
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(10_000):
            for account_id, contact_id, role, offset, value in rows:
                yield account_id, contact_id, role, float(offset), float(value)


def snapshots_backfill(
    *,
    segment_id: int,
    since: dt.date,
    until: dt.date,
    on_day: bulk.OnBatch | None = None,
) -> int:
    """Daily snapshots from past activity, so imported history shows a trend and
    lift reads a score on every day of it.

    Each day is scored at its end (`score_valid_at`: now, for a day not over)
    from the activity that happened before then (junk exclusions as they stand
    now) and the deals as they stood that day. Forward decay makes this one
    pass: the members' activity is read once in time order, each contact's sum
    against a landmark at the end of `until` grows as the days pass, and a
    day's points are the sums times one decay factor. The score of each day
    then comes from the pure functions every score uses (the cap per contact,
    engaged contacts and roles, the anonymous factor, normalisation, stage), so
    a backfilled day equals a recompute at its end. One query per day besides
    (the deals), none per account; each day is written in its own transaction,
    so an interrupted backfill keeps the days it finished.
    """
    if since > until:
        raise ValueError(f"since {since} is after until {until}")
    scoring = segment_scoring(segment_id=segment_id)
    version, params = scoring.model_version, scoring.params
    member_ids = list(
        SegmentMembership.objects.filter(segment_id=segment_id).values_list("account_id", flat=True)
    )
    sums: dict[int, dict[int | None, float]] = defaultdict(dict)  # account -> contact -> S
    roles: dict[int, str] = {}
    latest: dict[int, dt.datetime] = {}  # account -> its latest activity so far
    written = 0
    previous_landmark: dt.datetime | None = None
    for first_day, last_day in _backfill_windows(since, until, rate=params.decay_rate):
        # Each window has its own landmark at its last day's end, so neither a
        # term's exponent nor a day's decay factor grows past BACKFILL_EXPONENT
        # however long the history or short the half-life; the sums carried in
        # from the window before are moved to the new landmark (a pure decay).
        landmark = score_valid_at(last_day)
        if previous_landmark is not None:
            factor = rebased(decay_sum=1.0, landmark=previous_landmark, new_landmark=landmark,
                             rate=params.decay_rate)  # fmt: skip
            for own in sums.values():
                for contact_id in own:
                    own[contact_id] *= factor
        activity = _member_activity_terms(scoring, landmark, since=previous_landmark)
        pending = next(activity, None)
        day = first_day
        while day <= last_day:
            at = score_valid_at(day)
            boundary = -days_between(at, landmark)
            while pending is not None and pending[3] < boundary:
                account_id, contact_id, role, offset, term = pending
                own = sums[account_id]
                own[contact_id] = own.get(contact_id, 0.0) + term
                if contact_id is not None:
                    roles[contact_id] = role or ""
                latest[account_id] = landmark + dt.timedelta(days=offset)
                pending = next(activity, None)
            decay = points_at(decay_sum=1.0, landmark=landmark, at=at, rate=params.decay_rate)
            written += _backfill_day(
                segment_id=segment_id, day=day, at=at, version=version, params=params,
                member_ids=member_ids, sums=sums, roles=roles, latest=latest, decay=decay,
            )  # fmt: skip
            if on_day is not None:
                on_day(1)
            day += dt.timedelta(days=1)
        activity.close()
        previous_landmark = landmark
    return written


# The largest exponent a backfill window lets a term or a day's decay factor
# reach: exp(100) ~ 3e43 leaves a float ample room, and a term older than
# MIN_EXPONENT from its window's landmark is still below weight x 7e-66.
BACKFILL_EXPONENT = 100.0


def _backfill_windows(
    since: dt.date, until: dt.date, *, rate: float
) -> list[tuple[dt.date, dt.date]]:
    """[since, until] cut into runs of days no longer than BACKFILL_EXPONENT / rate
    (at least one day): about 12 years at a 30-day half-life, 144 days at one day."""
    length = max(1, int(BACKFILL_EXPONENT / rate) - 1)
    windows, first = [], since
    while first <= until:
        last = min(until, first + dt.timedelta(days=length - 1))
        windows.append((first, last))
        first = last + dt.timedelta(days=1)
    return windows


def _backfill_day(
    *,
    segment_id: int,
    day: dt.date,
    at: dt.datetime,
    version: int,
    params: ScoringParameters,
    member_ids: Sequence[int],
    sums: dict[int, dict[int | None, float]],
    roles: dict[int, str],
    latest: dict[int, dt.datetime],
    decay: float,
) -> int:
    """Score every member at `at` from the running sums (times `decay`, their
    landmark's factor at `at`) and write the day's snapshots in one statement."""
    inputs = ScoreInputs(deal_flags=_deal_flags_as_of(day))
    for account_id, own in sums.items():
        points = {c: total * decay for c, total in own.items() if c is not None}
        engaged, covered, _ = breadth(
            points_by_contact=points, roles_by_contact=roles,
            required_roles=params.required_roles,
        )  # fmt: skip
        inputs.contacts[account_id] = ContactTotals(
            raw_score(contact_points=points.values(), anonymous_points=0.0,
                      cap=params.contact_cap, anonymous_factor=0.0),
            engaged, frozenset(covered), None,
        )  # fmt: skip
        inputs.anonymous_points[account_id] = own.get(None, 0.0) * decay
        inputs.seen(account_id, latest[account_id])
    rows = []
    for account_id in member_ids:
        result = _account_score(account_id, inputs, params, at)
        rows.append({
            "account_id": account_id, "score": result.score, "raw_score": result.raw,
            "stage": result.stage, "engaged_contacts": result.engaged_contacts,
            "roles_covered": len(result.roles_covered),
        })  # fmt: skip
    with transaction.atomic():
        _snapshots_upsert(segment_id=segment_id, day=day, model_version=version, rows=rows)
    return len(rows)
