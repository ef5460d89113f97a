"""The forward-decay term and the sums built from it, in set-based SQL: the
term of one activity row (`term_sql`), which rows a sum reads
(`ActivityFilter`, `AccountRange`), the incremental add to the stored contact
sums, the anonymous sums, one scan's contact and anonymous sums
(`person_sums`, which the recompute also stores) and their totals per account
(`contact_totals`). Each statement is the same on PostgreSQL and SQLite but
for the dialect helpers of engagement.rollup.dialect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Q

from accounts.models import SegmentMembership
from engagement.models import (
    Activity,
    ActivityCarried,
    ActivityPending,
    ContactEngagement,
)
from engagement.rollup.dialect import (
    aware,
    case_sql,
    days_since_sql,
    decay_exp_sql,
    float_placeholder,
    landmark_param,
)
from engagement.rollup.scoring_models import SegmentScoring
from engagement.scoring import (
    ENGAGED_CONTACT_POINTS,
    points_at,
)

# Activity not rolled up yet (ActivityPending); a batch's rows while its rollup runs.
_PENDING = ActivityPending._meta.db_table


def term_sql(
    scoring: SegmentScoring, landmark: dt.datetime, *, anonymous: bool
) -> tuple[str, list[Any]]:
    """w(type) * m(seniority) * exp(lambda * (t - L)) for one activity row `a` (contact `c`)."""
    weight, weight_params = case_sql("a.type", dict(scoring.params.activity_weights), 0.0)
    if anonymous:
        multiplier, multiplier_params = case_sql("''", {}, 1.0)
    else:
        multiplier, multiplier_params = case_sql(
            "c.seniority", dict(scoring.params.seniority_multipliers), 1.0
        )
    sql = f"{weight} * {multiplier} * {decay_exp_sql(days_since_sql('a.occurred_at'))}"
    return sql, [
        *weight_params, *multiplier_params, scoring.params.decay_rate, landmark_param(landmark)
    ]  # fmt: skip


def contact_sums_add_sql(
    scoring: SegmentScoring, landmark: dt.datetime, *, which: ActivityFilter
) -> tuple[str, list[Any]]:
    """Add the contact terms of the activity `which` selects to the stored sums
    (the incremental rollup; the recompute replaces sums in person_sums)."""
    term, term_params = term_sql(scoring, landmark, anonymous=False)
    table = ContactEngagement._meta.db_table
    later = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    on_conflict = (
        f"ON CONFLICT (segment_id, account_id, contact_id) DO UPDATE SET "  # nosec B608
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
    """  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
    params = [
        scoring.segment_id,
        connection.ops.adapt_datetimefield_value(landmark),
        *term_params,
        scoring.segment_id,
        *which.params,
    ]
    return sql, params


def anonymous_sums(
    scoring: SegmentScoring, landmark: dt.datetime, *, which: ActivityFilter
) -> dict[int, tuple[float, dt.datetime | None]]:
    """account id -> (forward-decay sum, latest time) of its anonymous activity."""
    term, term_params = term_sql(scoring, landmark, anonymous=True)
    sql = f"""
        SELECT a.account_id, SUM({term}), MAX(a.occurred_at)
        FROM {Activity._meta.db_table} a
        JOIN {SegmentMembership._meta.db_table} m
          ON m.account_id = a.account_id AND m.segment_id = %s
        WHERE {which.sql} AND a.excluded_reason = ''
          AND a.contact_id IS NULL AND a.account_id IS NOT NULL
        GROUP BY a.account_id
    """  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*term_params, scoring.segment_id, *which.params])
        rows = cursor.fetchall()
    return {account_id: (float(total), aware(latest)) for account_id, total, latest in rows}


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
                               <= {float_placeholder()} * abs(s.decay_sum))""",  # noqa: S608 - our tables  # nosec B608
            [adapted, segment_id, adapted, SUM_UNCHANGED_RELATIVE],
        ),
        (
            f"""DELETE FROM {table} WHERE {table}.segment_id = %s AND {in_range}
                AND NOT EXISTS (
                    SELECT 1 FROM {temporary} s
                    WHERE s.account_id = {table}.account_id AND s.contact_id = {table}.contact_id
                )""",  # noqa: S608 - our table names  # nosec B608
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
                )""",  # noqa: S608 - our table names  # nosec B608
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


# A contact sum's buying role, looked up by the contact's primary key (the
# stored sums do not carry it). In contact_totals it is evaluated only for an
# engaged contact (a CASE evaluates its THEN only when its WHEN holds): a third
# of the stored sums in the benchmark's datasets. Joining every sum's contact
# was four fifths of the incremental rollup's read of the sums at 10M
# activities; looked up this way, that read takes 0.7 s instead of 1.1 s
# (docs/benchmarks.md, "The buying role read for engaged contacts only").
ROLE_OF_CONTACT = "(SELECT c.buying_role FROM accounts_contact c WHERE c.id = s.contact_id)"


def contact_totals(
    scoring: SegmentScoring,
    decay: float,
    source: str,
    source_params: Sequence[Any],
    *,
    role: str = "s.role",
) -> dict[int, ContactTotals]:
    """account id -> ContactTotals, aggregated in SQL from `source`: a query of
    contact sums with the columns account_id, decay_sum and latest, and those
    that `role` reads (an SQL expression over the source's row `s` giving the
    contact's buying role: by default its column role; ROLE_OF_CONTACT from
    its column contact_id). `decay` turns a sum into points at the scoring time.

    The cap and the engaged threshold here are the SQL twins of
    scoring.raw_score and scoring.breadth (same hand-computed tests): summing
    in the database returns one row per account instead of one per contact.
    """
    cap = float(scoring.params.contact_cap)
    engaged = float(ENGAGED_CONTACT_POINTS)
    number = float_placeholder()
    engaged_role = f"CASE WHEN s.points >= {number} THEN {role} END"
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
        FROM (SELECT q.*, q.decay_sum * {number} AS points FROM ({source}) q) s
        GROUP BY s.account_id
    """  # noqa: S608 - the source is ours; every value is a parameter  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, [cap, cap, engaged, engaged, decay, *source_params])
        return {
            account_id: ContactTotals(
                float(capped),
                int(count),
                frozenset(held.split(",")) if held else frozenset(),
                aware(latest),
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


def person_sums(
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
    weight, weight_params = case_sql("a.type", dict(params.activity_weights), 0.0)
    # Anonymous rows have no contact: NULL matches no seniority, so 1.
    multiplier, multiplier_params = case_sql("c.seniority", dict(params.seniority_multipliers), 1.0)
    activity, membership = Activity._meta.db_table, SegmentMembership._meta.db_table
    temporary = _PERSON_SUMS_TABLE
    stage_sql = f"""
        CREATE TEMPORARY TABLE {temporary} AS
        SELECT g.account_id, g.contact_id, g.decay_sum * {multiplier} AS decay_sum,
               g.latest, c.buying_role AS role
        FROM (
            SELECT a.account_id, a.contact_id, MAX(a.occurred_at) AS latest,
                   SUM({weight} * {decay_exp_sql(days_since_sql("a.occurred_at"))}) AS decay_sum
            FROM {activity} a
            JOIN {membership} m ON m.account_id = a.account_id AND m.segment_id = %s
            WHERE {which.sql} AND a.excluded_reason = ''
            GROUP BY a.account_id, a.contact_id
        ) g
        LEFT JOIN accounts_contact c ON c.id = g.contact_id
    """  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
    stage_params = [
        *multiplier_params, *weight_params, params.decay_rate, landmark_param(landmark),
        scoring.segment_id, *which.params,
    ]  # fmt: skip
    anonymous_sql = (
        f"SELECT account_id, decay_sum, latest FROM {temporary} "  # noqa: S608  # nosec B608
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
        if which.carried_sql is not None:
            _carried_merge(scoring, landmark, which, cursor)
        if replace is not None:
            _contact_sums_replace(scoring, landmark, replace, cursor)
        contacts = contact_totals(
            scoring, decay,
            f"SELECT account_id, decay_sum, role, latest FROM {temporary} "  # noqa: S608  # nosec B608
            "WHERE contact_id IS NOT NULL",
            [],
        )  # fmt: skip
        cursor.execute(anonymous_sql)
        anonymous = {
            account_id: (float(total), aware(latest))
            for account_id, total, latest in cursor.fetchall()
        }
        cursor.execute(f"DROP TABLE {temporary}")
    return PersonSums(contacts=contacts, anonymous=anonymous)


def _carried_merge(
    scoring: SegmentScoring, landmark: dt.datetime, which: ActivityFilter, cursor: Any
) -> None:
    """Add to the staged sums what the activity dropped by retention contributes
    (ActivityCarried rows of the segment's decay rate that `which` selects):
    each row's count-like sum, times the current model's weight of its type and
    the contact's current seniority multiplier, moved from the row's landmark
    to `landmark` (a pure decay, DESIGN 4). A separate statement, so that the
    staging aggregate over activity, the recompute's costliest, keeps its plan;
    when no row is carried nothing else runs."""
    params = scoring.params
    weight, weight_params = case_sql("k.type", dict(params.activity_weights), 0.0)
    multiplier, multiplier_params = case_sql("c.seniority", dict(params.seniority_multipliers), 1.0)
    temporary, membership = _PERSON_SUMS_TABLE, SegmentMembership._meta.db_table
    number = float_placeholder()
    cursor.execute(
        f"""
        INSERT INTO {temporary} (account_id, contact_id, decay_sum, latest, role)
        SELECT g.account_id, g.contact_id, g.decay_sum * {multiplier}, g.latest, c.buying_role
        FROM (
            SELECT k.account_id, k.contact_id, MAX(k.latest) AS latest,
                   SUM({weight} * k.decay_sum
                       * {decay_exp_sql(days_since_sql("k.landmark"))}) AS decay_sum
            FROM {ActivityCarried._meta.db_table} k
            JOIN {membership} m ON m.account_id = k.account_id AND m.segment_id = %s
            WHERE k.decay_rate = {number} AND k.excluded_reason = '' AND {which.carried_sql}
            GROUP BY k.account_id, k.contact_id
        ) g
        LEFT JOIN accounts_contact c ON c.id = g.contact_id
        """,  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
        [
            *multiplier_params, *weight_params, params.decay_rate, landmark_param(landmark),
            scoring.segment_id, params.decay_rate, *which.carried_params,
        ],
    )  # fmt: skip
    if cursor.rowcount == 0:
        return
    # A pair with both live and carried activity now has two rows: one each.
    merged = f"{temporary}_merged"
    cursor.execute(
        f"""CREATE TEMPORARY TABLE {merged} AS
            SELECT account_id, contact_id, SUM(decay_sum) AS decay_sum, MAX(latest) AS latest,
                   MAX(role) AS role
            FROM {temporary} GROUP BY account_id, contact_id"""  # noqa: S608  # nosec B608
    )
    cursor.execute(f"DROP TABLE {temporary}")
    cursor.execute(f"ALTER TABLE {merged} RENAME TO {temporary}")


@dataclass(frozen=True)
class ActivityFilter:
    """Which activity rows `a` a sum reads: SQL over the alias `a`, and its
    parameters; and which sums of activity dropped by retention belong to it
    (`carried_sql` over ActivityCarried's alias `k`; None: none, as for a batch
    of new activity or while nothing was ever dropped)."""

    sql: str
    params: list[Any]
    carried_sql: str | None = None
    carried_params: list[Any] = field(default_factory=list)

    @classmethod
    def batch(cls, batch_id: int) -> ActivityFilter:
        """The activity a rollup claimed as this batch (in its own transaction).

        On PostgreSQL the batch's ids as an array and its time bounds, each
        read once (InitPlans), not a semi-join on (id, occurred_at): with a
        batch of 10,000 rows the planner knows the size of, the semi-join
        was planned as a hash join over a scan of every monthly partition
        (787 ms at 10M activities against 29 ms by probes); the array is
        planned as probes of each partition's key, and the bounds prune the
        partitions outside the batch's months: their scans never run (10 ms;
        docs/scaling.md, "Measured at 10M"). The bounds hold every row of the
        batch and an id is unique, so the rows read are exactly the batch's.
        SQLite plans the IN list once."""
        pending = f"FROM {_PENDING} p WHERE p.batch = %s"
        if connection.vendor != "postgresql":
            return cls(f"a.id IN (SELECT p.activity_id {pending})", [batch_id])  # nosec B608
        return cls(
            f"a.id = ANY(ARRAY(SELECT p.activity_id {pending}))"  # nosec B608
            f" AND a.occurred_at >= (SELECT MIN(p.occurred_at) {pending})"
            f" AND a.occurred_at <= (SELECT MAX(p.occurred_at) {pending})",
            [batch_id, batch_id, batch_id],
        )

    @classmethod
    def before(cls, moment: dt.datetime) -> ActivityFilter:
        return cls("a.occurred_at < %s", [connection.ops.adapt_datetimefield_value(moment)])

    def with_carried(self, sql: str, params: Sequence[Any] = ()) -> ActivityFilter:
        """The same selection plus the carried sums `sql` selects (over `k`): for
        a caller that read a retention cutoff (nothing is carried without one,
        and the merge then costs no statement)."""
        return replace(self, carried_sql=sql, carried_params=list(params))

    @classmethod
    def claimed_in_range(cls, accounts: AccountRange, *, carried: bool) -> ActivityFilter:
        """Everything claimed so far (pending rows are the next rollup's), for a
        range of accounts."""
        in_range, params = accounts.sql("a.account_id")
        claimed = (
            f"NOT EXISTS (SELECT 1 FROM {_PENDING} p"  # noqa: S608  # nosec B608
            " WHERE p.activity_id = a.id AND p.batch IS NULL)"
        )
        claimed_range = cls(f"{claimed} AND {in_range}", params)
        return (
            claimed_range.with_carried(*accounts.sql("k.account_id")) if carried else claimed_range
        )


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
