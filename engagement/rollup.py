"""Writes of engagement scores: activity rolled up into contact and account scores.

The score services live here, apart from services.py (ingest, sources, junk),
because they are their own concern: set-based SQL over the activity table.

- `scores_recompute` rebuilds a segment's sums from all of its activity with one
  INSERT ... SELECT for contacts and one aggregate for anonymous activity.
- `scores_rollup` adds only the activity stored since the segment's cursor:
  forward decay (DESIGN 4) makes each new term a plain addition, so the cost is
  O(new activities) and the result equals a full recompute.
Both then refresh the touched accounts' scores, stages and breadth with a fixed
number of reads and one bulk upsert.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Opportunity, SegmentMembership
from config import bulk
from engagement.alerts import alerts_create
from engagement.models import (
    AccountEngagement,
    Activity,
    ContactEngagement,
    EngagementSnapshot,
    RollupCursor,
    ScoringModel,
)
from engagement.scoring import (
    ScoringParameters,
    breadth,
    normalised_score,
    points_at,
    raw_score,
    stage,
)


@dataclass(frozen=True)
class SegmentScoring:
    segment_id: int
    model_id: int
    model_version: int
    params: ScoringParameters


def segment_scoring(*, segment_id: int) -> SegmentScoring:
    model = ScoringModel.objects.get(segment_id=segment_id, is_current=True)
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
    """SQL for the days from the landmark parameter to a timestamp column."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({column} - %s)) / 86400.0)"
    return f"(julianday({column}) - julianday(%s))"


def _case(column: str, values: dict[str, float], default: float) -> tuple[str, list[Any]]:
    if not values:
        return str(float(default)), []
    whens = " ".join("WHEN %s THEN %s" for _ in values)
    params: list[Any] = []
    for key, value in values.items():
        params += [key, float(value)]
    return f"(CASE {column} {whens} ELSE %s END)", [*params, float(default)]


def _term_sql(
    scoring: SegmentScoring, landmark: dt.datetime, *, anonymous: bool
) -> tuple[str, list[Any]]:
    """w(type) * m(seniority) * exp(lambda * (t - L)) for one activity row `a` (contact `c`)."""
    weight, weight_params = _case("a.type", dict(scoring.params.activity_weights), 0.0)
    multiplier_params: list[Any] = []
    if anonymous:
        multiplier = "1.0"
    else:
        multiplier, multiplier_params = _case(
            "c.seniority", dict(scoring.params.seniority_multipliers), 1.0
        )
    sql = f"{weight} * {multiplier} * EXP(%s * {_days_since('a.occurred_at')})"
    adapted = connection.ops.adapt_datetimefield_value(landmark)
    return sql, [*weight_params, *multiplier_params, scoring.params.decay_rate, adapted]


def _contact_sums_sql(
    scoring: SegmentScoring, landmark: dt.datetime, *, after_id: int, upto_id: int, add: bool
) -> tuple[str, list[Any]]:
    term, term_params = _term_sql(scoring, landmark, anonymous=False)
    table = ContactEngagement._meta.db_table
    later = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    on_conflict = (
        f"ON CONFLICT (contact_id, account_id, segment_id) DO UPDATE SET "
        f"decay_sum = {table}.decay_sum + excluded.decay_sum, "
        f"last_activity_at = {later}({table}.last_activity_at, excluded.last_activity_at)"
        if add
        else ""
    )
    sql = f"""
        INSERT INTO {table}
            (contact_id, account_id, segment_id, landmark, decay_sum, last_activity_at)
        SELECT a.contact_id, a.account_id, %s, %s, SUM({term}), MAX(a.occurred_at)
        FROM {Activity._meta.db_table} a
        JOIN accounts_contact c ON c.id = a.contact_id
        JOIN {SegmentMembership._meta.db_table} m
          ON m.account_id = a.account_id AND m.segment_id = %s
        WHERE a.id > %s AND a.id <= %s AND a.excluded_reason = ''
          AND a.contact_id IS NOT NULL AND a.account_id IS NOT NULL
        GROUP BY a.contact_id, a.account_id
        {on_conflict}
    """  # noqa: S608 - table names are ours; every value is a parameter
    params = [
        scoring.segment_id,
        connection.ops.adapt_datetimefield_value(landmark),
        *term_params,
        scoring.segment_id,
        after_id,
        upto_id,
    ]
    return sql, params


def _anonymous_sums(
    scoring: SegmentScoring, landmark: dt.datetime, *, after_id: int, upto_id: int
) -> dict[int, tuple[float, dt.datetime | None]]:
    """account id -> (forward-decay sum, latest time) of its anonymous activity."""
    term, term_params = _term_sql(scoring, landmark, anonymous=True)
    sql = f"""
        SELECT a.account_id, SUM({term}), MAX(a.occurred_at)
        FROM {Activity._meta.db_table} a
        JOIN {SegmentMembership._meta.db_table} m
          ON m.account_id = a.account_id AND m.segment_id = %s
        WHERE a.id > %s AND a.id <= %s AND a.excluded_reason = ''
          AND a.contact_id IS NULL AND a.account_id IS NOT NULL
        GROUP BY a.account_id
    """  # noqa: S608 - table names are ours; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [*term_params, scoring.segment_id, after_id, upto_id])
        rows = cursor.fetchall()
    return {account_id: (float(total), _aware(latest)) for account_id, total, latest in rows}


def _aware(value: Any) -> dt.datetime | None:
    """A timestamp from raw SQL: a datetime on PostgreSQL, text on SQLite."""
    if value is None:
        return None
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"unreadable timestamp {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class RollupResult:
    segment_id: int
    activities_through: int
    accounts_refreshed: int


def _cursor_locked(segment_id: int) -> RollupCursor:
    RollupCursor.objects.get_or_create(segment_id=segment_id)
    return RollupCursor.objects.select_for_update().get(segment_id=segment_id)


@transaction.atomic
def scores_recompute(
    *, segment_id: int, at: dt.datetime | None = None, alerts: bool = True
) -> RollupResult:
    """Rebuild a segment's scores from all its activity, against a fresh landmark.

    alerts=False scores history without alerting on it (a first import or the
    demo): accounts already qualified are disarmed as if they had been alerted.
    """
    at = at or timezone.now()
    scoring = segment_scoring(segment_id=segment_id)
    cursor = _cursor_locked(segment_id)
    upto = Activity.objects.aggregate(top=Max("id"))["top"] or 0
    landmark = at.replace(hour=0, minute=0, second=0, microsecond=0)
    ContactEngagement.objects.filter(segment_id=segment_id).delete()
    # Accounts that left the segment keep no score in it.
    AccountEngagement.objects.filter(segment_id=segment_id).exclude(
        account_id__in=SegmentMembership.objects.filter(segment_id=segment_id).values("account_id")
    ).delete()
    sql, params = _contact_sums_sql(scoring, landmark, after_id=0, upto_id=upto, add=False)
    with connection.cursor() as db:
        db.execute(sql, params)
    anonymous = _anonymous_sums(scoring, landmark, after_id=0, upto_id=upto)
    refreshed = _accounts_refresh(
        scoring=scoring, landmark=landmark, at=at, account_ids=None,
        anonymous=anonymous, replace_anonymous=True, alerts=alerts,
    )  # fmt: skip
    cursor.last_activity_id, cursor.landmark = upto, landmark
    cursor.save(update_fields=["last_activity_id", "landmark", "updated_at"])
    return RollupResult(segment_id, upto, refreshed)


def scores_rollup(*, segment_id: int, at: dt.datetime | None = None) -> RollupResult:
    """Add the activity stored since the cursor; refresh only the accounts it touched.

    A segment never scored has no landmark yet: its first rollup is a recompute.
    """
    if not RollupCursor.objects.filter(segment_id=segment_id, landmark__isnull=False).exists():
        return scores_recompute(segment_id=segment_id, at=at)
    with transaction.atomic():
        return _scores_add(segment_id=segment_id, at=at or timezone.now())


def _scores_add(*, segment_id: int, at: dt.datetime) -> RollupResult:
    cursor = _cursor_locked(segment_id)
    assert cursor.landmark is not None  # set by the first recompute, never cleared
    scoring = segment_scoring(segment_id=segment_id)
    landmark = cursor.landmark
    after = cursor.last_activity_id
    upto = Activity.objects.aggregate(top=Max("id"))["top"] or 0
    if upto <= after:
        return RollupResult(segment_id, after, 0)
    touched = list(
        Activity.objects.filter(id__gt=after, id__lte=upto, account_id__isnull=False)
        .values_list("account_id", flat=True)
        .distinct()
    )
    sql, params = _contact_sums_sql(scoring, landmark, after_id=after, upto_id=upto, add=True)
    with connection.cursor() as db:
        db.execute(sql, params)
    anonymous = _anonymous_sums(scoring, landmark, after_id=after, upto_id=upto)
    refreshed = _accounts_refresh(
        scoring=scoring, landmark=landmark, at=at, account_ids=touched,
        anonymous=anonymous, replace_anonymous=False,
    )  # fmt: skip
    cursor.last_activity_id = upto
    cursor.save(update_fields=["last_activity_id", "updated_at"])
    return RollupResult(segment_id, upto, refreshed)


@transaction.atomic
def scores_refresh(*, segment_id: int, at: dt.datetime | None = None) -> int:
    """Re-score every member account at `at` from the stored sums: scores decay
    and stages move with time even without new activity (the daily task)."""
    cursor = _cursor_locked(segment_id)
    if cursor.landmark is None:
        return scores_recompute(segment_id=segment_id, at=at).accounts_refreshed
    return _accounts_refresh(
        scoring=segment_scoring(segment_id=segment_id), landmark=cursor.landmark,
        at=at or timezone.now(), account_ids=None, anonymous={}, replace_anonymous=False,
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
    """Everything an account's score at one time is computed from."""

    points: dict[int, dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    roles: dict[int, str] = field(default_factory=dict)
    latest: dict[int, dt.datetime] = field(default_factory=dict)
    anonymous_points: dict[int, float] = field(default_factory=dict)
    deal_flags: dict[int, dict[str, Any]] = field(default_factory=dict)

    def seen(self, account_id: int, moment: dt.datetime | None) -> None:
        if moment and (account_id not in self.latest or moment > self.latest[account_id]):
            self.latest[account_id] = moment


def _account_score(
    account_id: int, inputs: ScoreInputs, params: ScoringParameters, at: dt.datetime
) -> AccountScore:
    raw = raw_score(
        contact_points=inputs.points[account_id].values(),
        anonymous_points=inputs.anonymous_points.get(account_id, 0.0),
        cap=params.contact_cap,
        anonymous_factor=params.anonymous_factor,
    )
    score = normalised_score(raw, params.scale)
    engaged, covered, _missing = breadth(
        points_by_contact=inputs.points[account_id], roles_by_contact=inputs.roles,
        required_roles=params.required_roles,
    )  # fmt: skip
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
        engaged_contacts=engaged,
        roles_covered=covered,
        last_activity_at=last,
    )


def _accounts_refresh(
    *,
    scoring: SegmentScoring,
    landmark: dt.datetime,
    at: dt.datetime,
    account_ids: Sequence[int] | None,
    anonymous: dict[int, tuple[float, dt.datetime | None]],
    replace_anonymous: bool,
    alerts: bool = True,
) -> int:
    """Recompute score, stage and breadth of member accounts from the stored sums."""
    params, rate = scoring.params, scoring.params.decay_rate
    members = SegmentMembership.objects.filter(segment_id=scoring.segment_id)
    contacts = ContactEngagement.objects.filter(segment_id=scoring.segment_id)
    stored = AccountEngagement.objects.filter(segment_id=scoring.segment_id)
    deals = Opportunity.objects.all()
    if account_ids is not None:
        if not account_ids:
            return 0
        scope = Q(account_id__in=account_ids)
        members, contacts, stored, deals = (
            members.filter(scope), contacts.filter(scope), stored.filter(scope),
            deals.filter(scope),
        )  # fmt: skip
    member_ids = list(members.values_list("account_id", flat=True))
    inputs = ScoreInputs()
    for account_id, contact_id, decay_sum, last_at, role in contacts.values_list(
        "account_id", "contact_id", "decay_sum", "last_activity_at", "contact__buying_role"
    ):
        inputs.points[account_id][contact_id] = points_at(
            decay_sum=decay_sum, landmark=landmark, at=at, rate=rate
        )
        inputs.roles[contact_id] = role
        inputs.seen(account_id, last_at)
    previous = {row.account_id: row for row in stored}
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
        inputs.anonymous_points[account_id] = points_at(
            decay_sum=anonymous_sum, landmark=landmark, at=at, rate=rate
        )
    rows = []
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
            AccountEngagement(
                account_id=account_id,
                segment_id=scoring.segment_id,
                scoring_model_id=scoring.model_id,
                landmark=landmark,
                anonymous_decay_sum=anonymous_sums[account_id],
                raw_score=result.raw,
                score=result.score,
                stage=result.stage,
                engaged_contacts=result.engaged_contacts,
                roles_covered=result.roles_covered,
                last_activity_at=result.last_activity_at,
                alert_armed=armed,
                computed_at=at,
            )
        )
    bulk.bulk_upsert(
        model=AccountEngagement,
        objects=rows,
        unique_fields=["account", "segment"],
        update_fields=[
            "scoring_model", "landmark", "anonymous_decay_sum", "raw_score", "score", "stage",
            "engaged_contacts", "roles_covered", "last_activity_at", "alert_armed",
            "computed_at",
        ],
    )  # fmt: skip
    if crossed and alerts:
        alerts_create(
            segment_id=scoring.segment_id, scores=crossed, model_version=scoring.model_version
        )
    return len(rows)


def segments_scored(*, segment_ids: Iterable[int] | None = None) -> list[int]:
    """Segments that have a current scoring model (the ones a rollup can score)."""
    models = ScoringModel.objects.filter(is_current=True)
    if segment_ids is not None:
        models = models.filter(segment_id__in=list(segment_ids))
    return list(models.values_list("segment_id", flat=True).order_by("segment_id"))


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


_SNAPSHOT_FIELDS = ["model_version", "score", "raw_score", "stage", "engaged_contacts",
                    "roles_covered"]  # fmt: skip


@transaction.atomic
def snapshots_take(*, segment_id: int, day: dt.date) -> int:
    """Store every member account's score at the end of `day` (or now, if the day
    is not over): what the trend charts and lift read."""
    scores_refresh(segment_id=segment_id, at=min(_end_of(day), timezone.now()))
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


def _sums_as_of(
    scoring: SegmentScoring, landmark: dt.datetime, until: dt.datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Contact rows (account, contact, sum, latest, role) and anonymous rows (account,
    sum, latest) of the activity that happened before `until`."""
    contact_term, contact_params = _term_sql(scoring, landmark, anonymous=False)
    anonymous_term, anonymous_params = _term_sql(scoring, landmark, anonymous=True)
    activity, membership = Activity._meta.db_table, SegmentMembership._meta.db_table
    bound = connection.ops.adapt_datetimefield_value(until)
    contact_sql = f"""
        SELECT a.account_id, a.contact_id, SUM({contact_term}), MAX(a.occurred_at), c.buying_role
        FROM {activity} a JOIN accounts_contact c ON c.id = a.contact_id
        JOIN {membership} m ON m.account_id = a.account_id AND m.segment_id = %s
        WHERE a.occurred_at < %s AND a.excluded_reason = '' AND a.account_id IS NOT NULL
        GROUP BY a.account_id, a.contact_id, c.buying_role
    """  # noqa: S608 - table names are ours; every value is a parameter
    anonymous_sql = f"""
        SELECT a.account_id, SUM({anonymous_term}), MAX(a.occurred_at)
        FROM {activity} a
        JOIN {membership} m ON m.account_id = a.account_id AND m.segment_id = %s
        WHERE a.occurred_at < %s AND a.excluded_reason = '' AND a.contact_id IS NULL
          AND a.account_id IS NOT NULL
        GROUP BY a.account_id
    """  # noqa: S608 - table names are ours; every value is a parameter
    with connection.cursor() as db:
        db.execute(contact_sql, [*contact_params, scoring.segment_id, bound])
        contact_rows = db.fetchall()
        db.execute(anonymous_sql, [*anonymous_params, scoring.segment_id, bound])
        anonymous_rows = db.fetchall()
    return contact_rows, anonymous_rows


def _deal_flags_as_of(day: dt.date) -> dict[int, dict[str, Any]]:
    """Won and open deals per account as they stood at the end of `day`."""
    closed_by_then = Q(status__in=("won", "lost"), close_on__lte=day)
    rows = (
        Opportunity.objects.filter(opened_on__lte=day)
        .values("account_id")
        .annotate(
            won=Count("id", filter=Q(status="won", close_on__lte=day)),
            open=Count("id", filter=~closed_by_then),
        )
    )
    return {row["account_id"]: dict(row) for row in rows}


def snapshots_backfill(
    *,
    segment_id: int,
    since: dt.date,
    until: dt.date,
    on_day: bulk.OnBatch | None = None,
) -> int:
    """Daily snapshots from past activity, so freshly imported history shows a trend.

    Each day is scored from the activity that happened before its end (junk
    exclusions as they stand now) and the deals as they stood that day; a few
    queries per day, none per account or activity. Days are written one
    transaction each, so an interrupted backfill keeps what it finished.
    """
    if since > until:
        raise ValueError(f"since {since} is after until {until}")
    scoring = segment_scoring(segment_id=segment_id)
    version = scoring.model_version
    params, rate = scoring.params, scoring.params.decay_rate
    landmark = _end_of(until)
    member_ids = list(
        SegmentMembership.objects.filter(segment_id=segment_id).values_list("account_id", flat=True)
    )
    written = 0
    day = since
    while day <= until:
        at = _end_of(day)
        contact_rows, anonymous_rows = _sums_as_of(scoring, landmark, at)
        inputs = ScoreInputs(deal_flags=_deal_flags_as_of(day))
        for account_id, contact_id, total, latest, role in contact_rows:
            inputs.points[account_id][contact_id] = points_at(
                decay_sum=float(total), landmark=landmark, at=at, rate=rate
            )
            inputs.roles[contact_id] = role
            inputs.seen(account_id, _aware(latest))
        for account_id, total, latest in anonymous_rows:
            inputs.anonymous_points[account_id] = points_at(
                decay_sum=float(total), landmark=landmark, at=at, rate=rate
            )
            inputs.seen(account_id, _aware(latest))
        rows = []
        for account_id in member_ids:
            result = _account_score(account_id, inputs, params, at)
            rows.append(
                EngagementSnapshot(
                    account_id=account_id,
                    segment_id=segment_id,
                    day=day,
                    model_version=version,
                    score=result.score,
                    raw_score=result.raw,
                    stage=result.stage,
                    engaged_contacts=result.engaged_contacts,
                    roles_covered=len(result.roles_covered),
                )
            )
        with transaction.atomic():
            bulk.bulk_upsert(
                model=EngagementSnapshot, objects=rows,
                unique_fields=["account", "segment", "day"], update_fields=_SNAPSHOT_FIELDS,
            )  # fmt: skip
        written += len(rows)
        if on_day is not None:
            on_day(1)
        day += dt.timedelta(days=1)
    return written
