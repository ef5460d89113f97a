"""The account list page's reads (web `/accounts/`, its CSV, the campaign
target picker) and My accounts, which lists the same columns: every
account's score, stage, fit, 7- and 30-day change and readiness, for one
segment or each account's best, filtered and sorted in SQL (issue 20: a
fixed number of queries, and for a chosen segment joins PostgreSQL can hash
once over the segment; docs/benchmarks.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from accounts.models import Account, AccountFollow, ICPSegment, SegmentMembership
from accounts.selectors import account_list
from core.paging import KeysFirst
from engagement.models import (
    AccountEngagement,
    AccountReadiness,
    EngagementSnapshot,
    ScoringModel,
    Stage,
)


class ScoreChange(models.TextChoices):
    """The account list's score-change filter: which way, over which period."""

    ROSE_7D = "rose_7d", "Rose in 7 days"
    FELL_7D = "fell_7d", "Fell in 7 days"
    ROSE_30D = "rose_30d", "Rose in 30 days"
    FELL_30D = "fell_30d", "Fell in 30 days"


_SCORE_CHANGE_FILTERS = {
    ScoreChange.ROSE_7D: Q(score_change_7d__gt=0),
    ScoreChange.FELL_7D: Q(score_change_7d__lt=0),
    ScoreChange.ROSE_30D: Q(score_change_30d__gt=0),
    ScoreChange.FELL_30D: Q(score_change_30d__lt=0),
}


@dataclass(frozen=True)
class AccountListFilters:
    """What the account list is narrowed to. Score, stage, fit and change filters
    apply to the chosen segment's values, or to each account's best segment."""

    search: str = ""
    stage: str = ""
    score_min: int | None = None
    score_max: int | None = None
    score_change: str = ""
    fit_grade: str = ""
    tier: int | None = None
    owner_id: int | None = None
    is_target: bool | None = None
    # Readiness (issue 19): the probability, 0-1; accounts without one (the
    # segment falls back, or not scored yet) are left out by either bound.
    readiness_min: float | None = None
    readiness_max: float | None = None


_STAGE_RANK = Case(
    *(When(stage=stage, then=Value(rank)) for rank, stage in enumerate(Stage.values)),
    default=None,
    output_field=IntegerField(),
)

# Sort key of the page -> the annotation it orders by; unknown values sort last
# whichever the direction, and name then id break ties so that pages are stable.
ACCOUNT_LIST_ORDERINGS: dict[str, str] = {
    "name": "name",
    "score": "score",
    "stage": "stage_rank",
    "change_7d": "score_change_7d",
    "change_30d": "score_change_30d",
    "fit": "fit_score",
    "engaged": "engaged_contacts",
    "owner": "owner__username",
    "open_deals": "open_opportunity_count",
    "tier": "tier",
    "readiness": "readiness_probability",
}
ACCOUNT_LIST_DEFAULT_ORDERING = "-score"


# The account list's columns of one (account, segment): where each is read
# from, by the row it lives in. One owner for both ways of reading them below.
_ENGAGEMENT_COLUMNS = {
    "scored_segment_id": "segment_id",
    "scored_segment_name": "segment__name",
    "score": "score",
    "stage": "stage",
    "engaged_contacts": "engaged_contacts",
    "roles_covered": "roles_covered",
}
_MEMBERSHIP_COLUMNS = {"fit_grade": "fit_grade", "fit_score": "fit_score"}
# Not `readiness`: Account.readiness is AccountReadiness's related name.
_READINESS_COLUMNS = {
    "readiness_probability": "probability",
    "readiness_band_low": "band_low",
    "readiness_band_high": "band_high",
    "readiness_fallback_reason": "fallback_reason",
}
_JSON_COLUMNS = {"roles_covered", "required_roles"}


def change_baselines_current(*, segment_id: int, today: dt.date) -> bool:
    """Whether every engagement row of the segment holds the change baselines
    of `today` (engagement.rollup.baselines), so that the account list can
    read its 7- and 30-day changes from them: none of an earlier or later
    day, none without. One query of three probes of the change index."""
    rows = AccountEngagement.objects.filter(segment_id=OuterRef("pk"))
    stale = (
        Exists(rows.filter(baselines_for__lt=today))
        | Exists(rows.filter(baselines_for__gt=today))
        | Exists(rows.filter(baselines_for__isnull=True))
    )
    return not ICPSegment.objects.filter(stale, pk=segment_id).exists()


def _change_stored(days: int) -> Any:
    """The score change over `days` from the stored baseline: the expression
    of the change index (engagement.models.AccountEngagement), read through
    the chosen segment's engagement row."""
    return F("_engagement__score") - F(f"_engagement__baseline_score_{days}d")


def _segment_columns(
    accounts: QuerySet[Account], *, segment_id: int, today: dt.date, baselines_stored: bool
) -> tuple[QuerySet[Account], dict[str, Any]]:
    """The columns for one chosen segment, as LEFT JOINs on the rows of that
    segment (each unique per account and segment, so no row is repeated):
    PostgreSQL can hash-join them once over the whole segment to sort it by
    score or change, where correlated subqueries probed two indexes per
    member for the sort key, about twice as slow at 1M activities
    (docs/benchmarks.md). The changes come from the stored baselines where
    `baselines_stored` (they hold today's: change_baselines_current), else
    from the snapshots of 7 and 30 days ago; the two agree."""
    accounts = accounts.annotate(
        _membership=FilteredRelation(
            "memberships", condition=Q(memberships__segment_id=segment_id)
        ),
        _engagement=FilteredRelation(
            "engagements", condition=Q(engagements__segment_id=segment_id)
        ),
        _readiness=FilteredRelation("readiness", condition=Q(readiness__segment_id=segment_id)),
    )
    changes: dict[str, Any]
    if baselines_stored:
        changes = {
            "score_change_7d": _change_stored(7),
            "score_change_30d": _change_stored(30),
            # What account_list_pages filters the head by: the change index's
            # second column. A filter on `_engagement__baselines_for` itself
            # would join the engagement table a second time.
            "_baselines_for": F("_engagement__baselines_for"),
        }
    else:
        week, month = today - dt.timedelta(days=7), today - dt.timedelta(days=30)
        accounts = accounts.annotate(
            _snapshot_7d=FilteredRelation(
                "snapshots", condition=Q(snapshots__segment_id=segment_id, snapshots__day=week)
            ),
            _snapshot_30d=FilteredRelation(
                "snapshots", condition=Q(snapshots__segment_id=segment_id, snapshots__day=month)
            ),
        )
        # No snapshot on that day (the account joined the segment since, or
        # history was never backfilled): the change is unknown, None, never
        # a change from 0. Lists order such rows last.
        changes = {
            "score_change_7d": F("_engagement__score") - F("_snapshot_7d__score"),
            "score_change_30d": F("_engagement__score") - F("_snapshot_30d__score"),
        }
    accounts = accounts.filter(_membership__segment_id=segment_id)
    model = ScoringModel.objects.filter(segment_id=segment_id, is_current=True)
    columns: dict[str, Any] = {
        **{
            name: F(f"_engagement__{field}")
            for name, field in _ENGAGEMENT_COLUMNS.items()
            if name != "scored_segment_name"
        },
        # The segment's name where the account is scored in it. Not
        # `_engagement__segment__name`: Django joins that to an alias it never
        # declares ("missing FROM-clause entry"), so an uncorrelated subquery,
        # which PostgreSQL runs once.
        "scored_segment_name": Case(
            When(
                _engagement__segment_id__isnull=False,
                then=Subquery(ICPSegment.objects.filter(pk=segment_id).values("name")[:1]),
            ),
            default=None,
        ),
        "required_roles": Subquery(model.values("required_roles")[:1], output_field=JSONField()),
        **{name: F(f"_membership__{field}") for name, field in _MEMBERSHIP_COLUMNS.items()},
        **changes,
        **{name: F(f"_readiness__{field}") for name, field in _READINESS_COLUMNS.items()},
    }
    return accounts, columns


def _best_segment_of(account: OuterRef) -> Subquery:
    """The segment of the account `account` refers to where it scores best: its
    highest score, ties to the lowest segment id. The one owner of that rule,
    for the list's columns and for its head by score."""
    scores = AccountEngagement.objects.filter(account=account).order_by("-score", "segment_id")
    return Subquery(scores.values("segment_id")[:1])


def _best_segment_columns(
    accounts: QuerySet[Account], *, today: dt.date
) -> tuple[QuerySet[Account], dict[str, Any]]:
    """The columns of each account's best-scoring segment: correlated
    subqueries keyed by that segment, the one way to read a different
    segment per row."""
    accounts = accounts.annotate(best_segment_id=_best_segment_of(OuterRef("pk")))
    segment = OuterRef("best_segment_id")
    rows = {
        "engagement": AccountEngagement.objects.filter(account=OuterRef("pk"), segment_id=segment),
        "membership": SegmentMembership.objects.filter(account=OuterRef("pk"), segment_id=segment),
        "readiness": AccountReadiness.objects.filter(account=OuterRef("pk"), segment_id=segment),
    }

    def pick(row: str, field: str, name: str) -> Subquery:
        json = {"output_field": JSONField()} if name in _JSON_COLUMNS else {}
        return Subquery(rows[row].values(field)[:1], **json)

    def score_on(day: dt.date) -> Subquery:
        return Subquery(
            EngagementSnapshot.objects.filter(
                account=OuterRef("pk"), segment_id=segment, day=day
            ).values("score")[:1]
        )

    score = pick("engagement", "score", "score")
    model = ScoringModel.objects.filter(segment_id=segment, is_current=True)
    columns: dict[str, Any] = {
        **{name: pick("engagement", field, name) for name, field in _ENGAGEMENT_COLUMNS.items()},
        "required_roles": Subquery(model.values("required_roles")[:1], output_field=JSONField()),
        **{name: pick("membership", field, name) for name, field in _MEMBERSHIP_COLUMNS.items()},
        "score_change_7d": score - score_on(today - dt.timedelta(days=7)),
        "score_change_30d": score - score_on(today - dt.timedelta(days=30)),
        **{name: pick("readiness", field, name) for name, field in _READINESS_COLUMNS.items()},
    }
    return accounts, columns


def account_list_scored(
    *,
    segment_id: int | None,
    today: dt.date,
    filters: AccountListFilters = AccountListFilters(),  # frozen: safe to share
    ordering: str = ACCOUNT_LIST_DEFAULT_ORDERING,
    baselines_stored: bool | None = None,
) -> QuerySet[Account]:
    """The account list page: accounts (buying team and open deals counted, owner
    joined) with, for `segment_id` or else for each account's best-scoring
    segment, the score, stage, fit, engaged contacts, required roles covered and
    the score change over 7 and 30 days (None where no snapshot was taken on
    that day: unknown, never a change from 0) and its readiness (issue 19):
    `readiness_probability` (0-1), `readiness_band_low`/`_high`,
    `readiness_fallback_reason` (why the segment falls back; with a null
    probability and a null reason the account is not scored yet). Filtered
    and ordered in SQL: one query per page whatever the page size. In a
    segment, only its members are listed; without one, every account
    (unscored ones with None). For a segment, the changes come from the
    stored baselines where they hold today's (`baselines_stored`; None: one
    query to find out, change_baselines_current), else from the snapshots."""
    accounts = account_list(search=filters.search, owner_id=filters.owner_id)
    if segment_id is not None:
        if baselines_stored is None:
            baselines_stored = change_baselines_current(segment_id=segment_id, today=today)
        accounts, columns = _segment_columns(
            accounts, segment_id=segment_id, today=today, baselines_stored=baselines_stored
        )
    else:
        accounts, columns = _best_segment_columns(accounts, today=today)
    accounts = accounts.annotate(**columns).annotate(stage_rank=_STAGE_RANK)
    # Each filter set (a blank text or None is unset) narrows by one lookup.
    lookups = {
        "stage": filters.stage or None,
        "score__gte": filters.score_min,
        "score__lte": filters.score_max,
        "fit_grade": filters.fit_grade or None,
        "tier": filters.tier,
        "is_target": filters.is_target,
        "readiness_probability__gte": filters.readiness_min,
        "readiness_probability__lte": filters.readiness_max,
    }
    conditions = Q(**{lookup: value for lookup, value in lookups.items() if value is not None})
    if filters.score_change:
        conditions &= _SCORE_CHANGE_FILTERS[ScoreChange(filters.score_change)]
    key = ordering.lstrip("-")
    if key not in ACCOUNT_LIST_ORDERINGS:
        raise ValueError(f"unknown ordering {ordering!r}")
    field = F(ACCOUNT_LIST_ORDERINGS[key])
    order = field.desc(nulls_last=True) if ordering.startswith("-") else field.asc(nulls_last=True)
    return accounts.filter(conditions).order_by(order, "name", "id")


# The orderings the stored baselines serve from an index.
_STORED_CHANGES = frozenset({"change_7d", "change_30d"})


def account_list_pages(
    *,
    segment_id: int | None,
    today: dt.date,
    filters: AccountListFilters = AccountListFilters(),  # frozen: safe to share
    ordering: str = ACCOUNT_LIST_DEFAULT_ORDERING,
) -> KeysFirst[Account]:
    """account_list_scored as the page reads it, a page's keys first
    (core.paging). A segment's list sorted by 7- or 30-day change, while its
    baselines hold today's, reads its keys as a head (the rows with a known
    change, in the order of the change index: `segment, baselines_for,
    score - baseline`) and a tail (unknown changes, by name): at 10M
    activities the page no longer sorts the segment's every member
    (docs/benchmarks.md, "Stored change baselines")."""
    stored = segment_id is not None and change_baselines_current(segment_id=segment_id, today=today)
    rows = account_list_scored(
        segment_id=segment_id, today=today, filters=filters, ordering=ordering,
        baselines_stored=stored,
    )  # fmt: skip
    # A segment's list unfiltered is its members, one row each: counted in
    # the membership table alone, not joined to the accounts (at 10M
    # activities 25 -> 5 ms, docs/benchmarks.md).
    counted = (
        SegmentMembership.objects.filter(segment_id=segment_id)
        if segment_id is not None and filters == AccountListFilters()
        else None
    )
    key = ordering.lstrip("-")
    if segment_id is None and key == "score" and filters == AccountListFilters():
        return _every_account_by_score(rows, descending=ordering.startswith("-"))
    if not stored or key not in _STORED_CHANGES:
        return KeysFirst(rows, counted=counted)
    change = ACCOUNT_LIST_ORDERINGS[key]
    order = F(change).desc() if ordering.startswith("-") else F(change).asc()
    head = rows.filter(**{f"{change}__isnull": False, "_baselines_for": today})
    return KeysFirst(
        rows,
        head=head.order_by(order, "name", "id"),
        # Unknown changes sort last either way, by name then id.
        tail=rows.filter(**{f"{change}__isnull": True}).order_by("name", "id"),
        counted=counted,
    )


def _every_account_by_score(rows: QuerySet[Account], *, descending: bool) -> KeysFirst[Account]:
    """Every account by its best segment's score (the account list as it
    opens), unfiltered: `rows` read as a head, each account's best score row
    walked in the order of the score index (`account_engagement_best_idx`),
    ties by name, and a tail, the accounts scored in no segment, by name. At
    10M activities the list no longer works out and sorts the best segment of
    every account for a page (docs/benchmarks.md, "The every-account list
    read from the score index")."""
    best = AccountEngagement.objects.filter(segment_id=_best_segment_of(OuterRef("account_id")))
    score = F("score").desc() if descending else F("score").asc()
    scored = AccountEngagement.objects.filter(account=OuterRef("pk"))
    return KeysFirst(
        rows,
        head=best.order_by(score, "account__name", "account_id"),
        head_key="account_id",
        tail=rows.filter(~Exists(scored)).order_by("name", "id"),
    )


# --- My accounts (web) and its API twin -------------------------------------------------


def my_accounts(*, user_id: int, today: dt.date) -> QuerySet[Account]:
    """The accounts the user owns or follows, each as the account list shows it
    (account_list_scored: the best segment's score, stage and 7- and 30-day
    change) with `owned` and `following`, by this week's change, largest rise
    first, unknown changes last. One query per page whatever the data."""
    follows = AccountFollow.objects.filter(user_id=user_id, account=OuterRef("pk"))
    return (
        account_list_scored(segment_id=None, today=today, ordering="-change_7d")
        .annotate(
            # False, not null, for an account without owner (followed only).
            owned=Case(
                When(owner_id=user_id, then=True), default=False, output_field=BooleanField()
            ),
            following=Exists(follows),
        )
        .filter(Q(owned=True) | Q(following=True))
    )


# --- The API's account list --------------------------------------------------------------


def account_list_engaged(*, segment_id: int | None, today: dt.date) -> QuerySet[Account]:
    """Accounts (with buying team and open deals counted) and, for a segment,
    their score, stage, fit grade and score change over 7 and 30 days (None
    where no snapshot was taken on that day). One query."""
    accounts = account_list()
    if segment_id is None:
        return accounts
    # The account list page's query for one segment (one owner of the score,
    # stage, fit and change annotations), in name order like account_list.
    return account_list_scored(segment_id=segment_id, today=today, ordering="name")
