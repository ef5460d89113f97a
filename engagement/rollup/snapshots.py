"""Daily snapshots and history backfill, and the score of any past day.

`snapshots_take` stores every member's score at the end of a day;
`snapshots_backfill` scores past days from the activity in one pass;
`scores_as_of` computes a past day's score exactly from history. All three
score a day at `score_valid_at(day)`. After activity retention dropped old
months, the last two add the carried sums of the dropped activity and refuse a
day before the cutoff (engagement.retention_selectors.HistoryDropped).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Generator, Sequence
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Opportunity, SegmentMembership
from core import bulk
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityCarried,
    EngagementSnapshot,
)
from engagement.retention_selectors import history_check, retention_cutoff
from engagement.rollup.dialect import (
    aware,
    case_sql,
    days_since_sql,
    decay_exp_sql,
    float_placeholder,
    json_rows_source,
    landmark_param,
)
from engagement.rollup.recompute import scores_refresh
from engagement.rollup.refresh import AccountScore, ScoreInputs, account_score
from engagement.rollup.scoring_models import SegmentScoring, segment_scoring
from engagement.rollup.sums import ActivityFilter, ContactTotals, person_sums, term_sql
from engagement.scoring import (
    ScoringParameters,
    breadth,
    days_between,
    points_at,
    raw_score,
    rebased,
)


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
    sums = person_sums(scoring, at, at, which=which)
    inputs = ScoreInputs(contacts=sums.contacts, deal_flags=deal_flags)
    for account_id, totals in sums.contacts.items():
        inputs.seen(account_id, totals.latest)
    for account_id, (total, latest) in sums.anonymous.items():
        inputs.anonymous_points[account_id] = points_at(
            decay_sum=total, landmark=at, at=at, rate=params.decay_rate
        )
        inputs.seen(account_id, latest)
    return {account_id: account_score(account_id, inputs, params, at) for account_id in member_ids}


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
    cutoff = retention_cutoff()
    history_check(at=at, what="a score", cutoff=cutoff)
    subquery, subquery_params = accounts.query.sql_with_params()
    before = ActivityFilter.before(at)
    which = ActivityFilter(
        f"{before.sql} AND a.account_id IN ({subquery})", [*before.params, *subquery_params]
    )
    if cutoff is not None:
        which = which.with_carried(f"k.account_id IN ({subquery})", subquery_params)
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
    travelling as one JSON parameter as in `refresh._account_scores_upsert` (building an
    ORM instance per row cost most of a year's backfill)."""
    if not rows:
        return
    names = [name for name, _ in _SNAPSHOT_COLUMNS]
    source = json_rows_source(_SNAPSHOT_COLUMNS)
    updated = list(_SNAPSHOT_FIELDS)
    sql = f"""
        INSERT INTO {EngagementSnapshot._meta.db_table}
            ({", ".join(names)}, segment_id, day, model_version)
        SELECT {", ".join(f"r.{name}" for name in names)}, %s, %s, %s
        FROM ({source}) r WHERE true
        ON CONFLICT (account_id, segment_id, day) DO UPDATE SET
            {", ".join(f"{name} = excluded.{name}" for name in updated)}
    """  # noqa: S608 - table and column names are ours; every value is a parameter  # nosec B608
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
    against the landmark). The term is the rollup's own (`term_sql`; anonymous
    rows have no seniority, so 1). Read through a chunked cursor, so memory does
    not grow with the activity."""
    term, term_params = term_sql(scoring, landmark, anonymous=False)
    lower = "" if since is None else "AND a.occurred_at >= %s"
    sql = f"""
        SELECT a.account_id, a.contact_id, c.buying_role, {days_since_sql("a.occurred_at")}, {term}
        FROM {Activity._meta.db_table} a
        JOIN {SegmentMembership._meta.db_table} m
          ON m.account_id = a.account_id AND m.segment_id = %s
        LEFT JOIN accounts_contact c ON c.id = a.contact_id
        WHERE a.occurred_at < %s {lower} AND a.excluded_reason = ''
        ORDER BY a.occurred_at
    """  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
    params = [
        landmark_param(landmark), *term_params, scoring.segment_id,
        connection.ops.adapt_datetimefield_value(landmark),
        *([] if since is None else [connection.ops.adapt_datetimefield_value(since)]),
    ]  # fmt: skip
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(10_000):
            for account_id, contact_id, role, offset, value in rows:
                yield account_id, contact_id, role, float(offset), float(value)


def _carried_terms(
    scoring: SegmentScoring, landmark: dt.datetime
) -> list[tuple[int, int | None, str | None, dt.datetime, float]]:
    """The members' carried sums of dropped activity (ActivityCarried, the
    segment's decay rate, not excluded) against `landmark`: (account, contact or
    None, the contact's buying role, latest time, weighted sum), weighed as
    `term_sql` weighs a live activity (the type's weight, the contact's
    seniority multiplier; anonymous rows 1)."""
    params = scoring.params
    weight, weight_params = case_sql("k.type", dict(params.activity_weights), 0.0)
    multiplier, multiplier_params = case_sql("c.seniority", dict(params.seniority_multipliers), 1.0)
    sql = f"""
        SELECT k.account_id, k.contact_id, c.buying_role, MAX(k.latest),
               SUM({weight} * {multiplier} * k.decay_sum
                   * {decay_exp_sql(days_since_sql("k.landmark"))})
        FROM {ActivityCarried._meta.db_table} k
        JOIN {SegmentMembership._meta.db_table} m
          ON m.account_id = k.account_id AND m.segment_id = %s
        LEFT JOIN accounts_contact c ON c.id = k.contact_id
        WHERE k.decay_rate = {float_placeholder()} AND k.excluded_reason = ''
        GROUP BY k.account_id, k.contact_id, c.buying_role
    """  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [*weight_params, *multiplier_params, params.decay_rate, landmark_param(landmark),
             scoring.segment_id, params.decay_rate],
        )  # fmt: skip
        rows = cursor.fetchall()
    return [
        (account_id, contact_id, role, aware(seen) or landmark, float(term))
        for account_id, contact_id, role, seen, term in rows
    ]


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
    cutoff = retention_cutoff()
    history_check(at=score_valid_at(since), what="a backfilled day", cutoff=cutoff)
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
        if previous_landmark is None and cutoff is not None:
            # Activity dropped by retention all happened before the cutoff, so
            # before every day scored here: it starts the running sums.
            for account_id, contact_id, role, seen, term in _carried_terms(scoring, landmark):
                own = sums[account_id]
                own[contact_id] = own.get(contact_id, 0.0) + term
                if contact_id is not None:
                    roles[contact_id] = role or ""
                latest[account_id] = max(latest.get(account_id, seen), seen)
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
        result = account_score(account_id, inputs, params, at)
        rows.append({
            "account_id": account_id, "score": result.score, "raw_score": result.raw,
            "stage": result.stage, "engaged_contacts": result.engaged_contacts,
            "roles_covered": len(result.roles_covered),
        })  # fmt: skip
    with transaction.atomic():
        _snapshots_upsert(segment_id=segment_id, day=day, model_version=version, rows=rows)
    return len(rows)
