"""The score refresh: an account's score, stage and breadth from its sums
(`account_score`, the pure functions of engagement.scoring applied to
`ScoreInputs`), and the re-score of a set of member accounts with a fixed
number of reads, the qualified alert's hysteresis and one bulk upsert
(`accounts_refresh`), which the rollup and the recompute both end with.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from django.db import connection
from django.db.models import BooleanField, Count, Q
from django.db.models.expressions import RawSQL

from accounts.models import Opportunity, SegmentMembership
from engagement.alerts import alerts_create
from engagement.models import (
    AccountEngagement,
    Activity,
    ContactEngagement,
)
from engagement.rollup.dialect import json_rows_source
from engagement.rollup.scoring_models import SegmentScoring
from engagement.rollup.sums import (
    NO_CONTACTS,
    ROLE_OF_CONTACT,
    AccountRange,
    ActivityFilter,
    ContactTotals,
    contact_totals,
)
from engagement.scoring import (
    ScoringParameters,
    account_raw,
    normalised_score,
    points_at,
    roles_covered,
    stage,
)


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


def account_score(
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


def _batch_accounts_in(column: str, batch_id: int) -> tuple[str, list[Any]]:
    """`column` among the accounts of the activity a rollup claimed as one
    batch, and the parameters. The claimed rows are ActivityFilter.batch's
    (one owner of how a batch is read: on PostgreSQL its ids as an array and
    its time bounds, so only the batch's months are read, whatever the
    planner guesses of the batch's size). The accounts too are an array
    built once (an InitPlan), not a semi-join: on a guess of one pending row
    the planner may join the claimed activity, an Append over every monthly
    partition, once per member account. SQLite plans the IN list once."""
    claimed = ActivityFilter.batch(batch_id)
    accounts = (
        f"SELECT DISTINCT a.account_id FROM {Activity._meta.db_table} a"  # noqa: S608  # nosec B608
        f" WHERE {claimed.sql} AND a.account_id IS NOT NULL"
    )
    if connection.vendor == "postgresql":
        return f"{column} = ANY(ARRAY({accounts}))", claimed.params
    return f"{column} IN ({accounts})", claimed.params


@dataclass(frozen=True)
class AccountScope:
    """The member accounts a refresh re-scores: as a filter over `account_id`
    for the ORM reads (None: all of them), and as SQL over a column."""

    q: Q | RawSQL | None
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
        """The accounts of the activity a rollup claimed as this batch (its
        pending rows carry the batch until the rollup commits)."""
        template, params = _batch_accounts_in("{column}", batch_id)
        touched = RawSQL(  # noqa: S611 - constant text of ours; the batch id is a parameter  # nosec B611
            template.format(column="account_id"), params, output_field=BooleanField()
        )
        return cls(touched, template, tuple(params))

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
        SELECT e.account_id, e.contact_id, e.decay_sum, e.last_activity_at AS latest
        FROM {ContactEngagement._meta.db_table} e
        WHERE e.segment_id = %s AND {in_scope}
    """  # noqa: S608 - table names are ours; every value is a parameter  # nosec B608
    return contact_totals(
        scoring, decay, source, [scoring.segment_id, *params], role=ROLE_OF_CONTACT
    )


def accounts_refresh(
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
        result = account_score(account_id, inputs, params, at)
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
    source = json_rows_source(_SCORE_COLUMNS)
    table = AccountEngagement._meta.db_table
    updated = [*names[1:], "scoring_model_id", "landmark", "computed_at"]
    sql = f"""
        INSERT INTO {table}
            ({", ".join(names)}, segment_id, scoring_model_id, landmark, computed_at)
        SELECT {", ".join(f"r.{name}" for name in names)}, %s, %s, %s, %s
        FROM ({source}) r WHERE true
        ON CONFLICT (account_id, segment_id) DO UPDATE SET
            {", ".join(f"{name} = excluded.{name}" for name in updated)}
    """  # noqa: S608 - table and column names are ours; every value is a parameter  # nosec B608
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [scoring.segment_id, scoring.model_id, adapt(landmark), adapt(at),
             orjson.dumps(rows).decode()],
        )  # fmt: skip
