"""Reads of one account for its page: where it stands in each segment, its score
trend, what changed lately, its buying team and its activity timeline.

Each read costs a fixed number of queries whatever the account's history
(pinned in tests/engagement/test_account_selectors.py); the figures come from
the stored scores and snapshots, or, for the points of recent activity, from
the scoring model through the pure functions of engagement/scoring.py.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Max, Min, Q, QuerySet

from accounts.models import Contact, SegmentMembership
from engagement.changes import WindowFacts
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityType,
    ContactEngagement,
    EngagementSnapshot,
    ScoringModel,
)
from engagement.rollup.scoring_models import scoring_of
from engagement.scoring import ScoringParameters, activity_points, contact_counted, points_at

PRICING_TYPES = (ActivityType.PRICING_PAGE_VIEW,)
DEMO_TYPES = (ActivityType.DEMO_REQUEST,)


@dataclass(frozen=True)
class SegmentStanding:
    """The account in one segment it belongs to. A member not scored yet has
    no score, stage or model version (None), and the bands of the segment's
    current model."""

    segment_id: int
    segment_name: str
    fit_score: int | None
    fit_grade: str | None
    score: int | None
    raw_score: float | None
    stage: str | None
    engaged_contacts: int
    roles_covered: list[str]
    roles_required: list[str]
    model_version: int | None
    computed_at: dt.datetime | None
    last_activity_at: dt.datetime | None
    # The score at the end of the day a week before today (its snapshot); None:
    # no snapshot that day.
    score_7d_ago: int | None = None
    params: ScoringParameters | None = field(default=None, repr=False)

    @property
    def score_change_7d(self) -> int | None:
        """The change over 7 days; None (unknown, never a change from 0) without
        a score or without the snapshot of a week ago."""
        if self.score is None or self.score_7d_ago is None:
            return None
        return self.score - self.score_7d_ago

    @property
    def roles_missing(self) -> list[str]:
        return [role for role in self.roles_required if role not in self.roles_covered]

    @property
    def engaged_min(self) -> int | None:
        return self.params.engaged_min if self.params else None

    @property
    def qualified_min(self) -> int | None:
        return self.params.qualified_min if self.params else None


def account_standings(*, account_id: int, today: dt.date) -> list[SegmentStanding]:
    """Every segment the account belongs to, highest score first (not scored
    last, then by name), with the change since the snapshot of a week before
    `today`. Four queries."""
    memberships = list(
        SegmentMembership.objects.filter(account_id=account_id).select_related("segment")
    )
    engagements = {
        e.segment_id: e
        for e in AccountEngagement.objects.filter(account_id=account_id).select_related(
            "scoring_model"
        )
    }
    unscored = [m.segment_id for m in memberships if m.segment_id not in engagements]
    current_models = {
        model.segment_id: model
        for model in ScoringModel.objects.filter(segment_id__in=unscored, is_current=True)
    }
    week_ago = dict(
        EngagementSnapshot.objects.filter(
            account_id=account_id, day=today - dt.timedelta(days=7)
        ).values_list("segment_id", "score")
    )
    standings = []
    for membership in memberships:
        engagement = engagements.get(membership.segment_id)
        model = (
            engagement.scoring_model if engagement else current_models.get(membership.segment_id)
        )
        standings.append(
            SegmentStanding(
                segment_id=membership.segment_id,
                segment_name=membership.segment.name,
                fit_score=membership.fit_score,
                fit_grade=membership.fit_grade,
                score=engagement.score if engagement else None,
                raw_score=engagement.raw_score if engagement else None,
                stage=engagement.stage if engagement else None,
                engaged_contacts=engagement.engaged_contacts if engagement else 0,
                roles_covered=list(engagement.roles_covered) if engagement else [],
                roles_required=list(model.required_roles) if model else [],
                model_version=engagement.scoring_model.version if engagement else None,
                computed_at=engagement.computed_at if engagement else None,
                last_activity_at=engagement.last_activity_at if engagement else None,
                score_7d_ago=week_ago.get(membership.segment_id),
                params=scoring_of(model).params if model else None,
            )
        )
    standings.sort(key=lambda s: (s.score is None, -(s.score or 0), s.segment_name))
    return standings


def account_trend(
    *, account_id: int, segment_ids: list[int], until: dt.date, days: int = 365
) -> dict[int, list[tuple[dt.date, int | None]]]:
    """Each segment's score on each of the `days` days up to `until`, from the
    daily snapshots; a day without a snapshot is None (a gap, never 0). One query."""
    since = until - dt.timedelta(days=days - 1)
    stored: dict[int, dict[dt.date, int]] = defaultdict(dict)
    for segment_id, day, score in EngagementSnapshot.objects.filter(
        account_id=account_id, segment_id__in=segment_ids, day__range=(since, until)
    ).values_list("segment_id", "day", "score"):
        stored[segment_id][day] = score
    all_days = [since + dt.timedelta(days=offset) for offset in range(days)]
    return {
        segment_id: [(day, stored[segment_id].get(day)) for day in all_days]
        for segment_id in segment_ids
    }


def _person(first: str, last: str, email: str | None, title: str = "") -> str:
    name = f"{first} {last}".strip() or email or "someone unnamed"
    return f"{name} ({title})" if title else name


def account_recent_facts(
    *,
    account_id: int,
    standing: SegmentStanding | None,
    at: dt.datetime,
    windows: tuple[int, ...] = (7, 30),
) -> list[WindowFacts]:
    """The facts behind "what changed" over each window (days up to `at`), for
    the segment of `standing` (its score and model; without one, activity only).
    Three queries: the activity of the longest window, the first activity of
    the people active in it, the snapshots the windows compare with."""
    longest = max(windows)
    recent = list(
        Activity.objects.filter(
            account_id=account_id,
            excluded_reason="",
            occurred_at__gt=at - dt.timedelta(days=longest),
            occurred_at__lte=at,
        ).values(
            "type",
            "occurred_at",
            "contact_id",
            "contact__first_name",
            "contact__last_name",
            "contact__email",
            "contact__title",
            "contact__seniority",
        )
    )
    people = {row["contact_id"] for row in recent if row["contact_id"] is not None}
    first_seen = dict(
        Activity.objects.filter(account_id=account_id, excluded_reason="", contact_id__in=people)
        .values("contact_id")
        .annotate(first=Min("occurred_at"))
        .values_list("contact_id", "first")
    )
    today = at.date()
    then_scores: dict[dt.date, int] = {}
    if standing is not None and standing.score is not None:
        then_scores = dict(
            EngagementSnapshot.objects.filter(
                account_id=account_id,
                segment_id=standing.segment_id,
                day__in=[today - dt.timedelta(days=days) for days in windows],
            ).values_list("day", "score")
        )
    params = standing.params if standing else None
    facts = []
    for days in windows:
        start = at - dt.timedelta(days=days)
        rows = [row for row in recent if row["occurred_at"] > start]
        new_people = sorted(
            {
                _person(
                    row["contact__first_name"],
                    row["contact__last_name"],
                    row["contact__email"],
                    row["contact__title"],
                )
                for row in rows
                if row["contact_id"] is not None and first_seen[row["contact_id"]] > start
            }
        )
        points_by_type: dict[str, float] = defaultdict(float)
        if params is not None:
            for row in rows:
                seniority = row["contact__seniority"]
                multiplier = 1.0 if row["contact_id"] is None else params.multiplier(seniority)
                points_by_type[row["type"]] += activity_points(
                    weight=params.weight(row["type"]),
                    multiplier=multiplier,
                    occurred_at=row["occurred_at"],
                    landmark=at,
                    at=at,
                    rate=params.decay_rate,
                )
        pricing = [row for row in rows if row["type"] in PRICING_TYPES]
        demos = sorted(
            (row for row in rows if row["type"] in DEMO_TYPES),
            key=lambda row: row["occurred_at"],
            reverse=True,
        )
        facts.append(
            WindowFacts(
                days=days,
                score_now=standing.score if standing else None,
                score_then=then_scores.get(today - dt.timedelta(days=days)),
                new_people=new_people,
                points_by_type=dict(points_by_type),
                pricing_views=len(pricing),
                pricing_people=len({row["contact_id"] or -1 for row in pricing}),
                demo_requests=[
                    (
                        "an anonymous visitor"
                        if row["contact_id"] is None
                        else _person(
                            row["contact__first_name"],
                            row["contact__last_name"],
                            row["contact__email"],
                        ),
                        row["occurred_at"].date(),
                    )
                    for row in demos
                ],
            )
        )
    return facts


@dataclass(frozen=True)
class TeamMember:
    """A contact of the account and their own engagement in one segment."""

    contact_id: int
    name: str
    email: str | None
    title: str
    seniority: str
    job_function: str
    buying_role: str
    is_junk: bool
    junk_reason: str
    # Points at `at` (None: no activity scored in the segment) and what the
    # score counts of them (capped per person).
    points: float | None
    points_counted: float | None
    last_activity_at: dt.datetime | None


def account_buying_team(
    *, account_id: int, standing: SegmentStanding | None, at: dt.datetime
) -> list[TeamMember]:
    """The account's contacts: the buying team by points counted (then by last
    activity, then name), junk contacts after them. Three queries."""
    contacts = list(Contact.objects.filter(account_id=account_id).order_by("last_name", "id"))
    sums: dict[int, tuple[float, dt.datetime]] = {}
    if standing is not None and standing.params is not None:
        sums = {
            contact_id: (decay_sum, landmark)
            for contact_id, decay_sum, landmark in ContactEngagement.objects.filter(
                account_id=account_id, segment_id=standing.segment_id
            ).values_list("contact_id", "decay_sum", "landmark")
        }
    last_seen = dict(
        Activity.objects.filter(account_id=account_id, contact__isnull=False)
        .values("contact_id")
        .annotate(last=Max("occurred_at"))
        .values_list("contact_id", "last")
    )
    members = []
    for contact in contacts:
        points = counted = None
        if contact.pk in sums and standing is not None and standing.params is not None:
            decay_sum, landmark = sums[contact.pk]
            params = standing.params
            points = points_at(
                decay_sum=decay_sum, landmark=landmark, at=at, rate=params.decay_rate
            )
            counted = contact_counted(points, cap=params.contact_cap)
        members.append(
            TeamMember(
                contact_id=contact.pk,
                name=_person(contact.first_name, contact.last_name, contact.email),
                email=contact.email,
                title=contact.title,
                seniority=contact.get_seniority_display(),
                job_function=contact.get_job_function_display(),
                buying_role=contact.buying_role,
                is_junk=contact.is_junk,
                junk_reason=contact.junk_reason,
                points=points,
                points_counted=counted,
                last_activity_at=last_seen.get(contact.pk),
            )
        )
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    members.sort(
        key=lambda m: (
            m.is_junk,
            -(m.points_counted or 0.0),
            -(m.last_activity_at or oldest).timestamp(),
            m.name,
        )
    )
    return members


@dataclass(frozen=True)
class TimelineFilter:
    """The timeline's filters, all optional; dates are whole days, both included."""

    contact_id: int | None = None
    activity_type: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    anonymous_only: bool = False


def account_timeline(*, account_id: int, filters: TimelineFilter) -> QuerySet[Activity]:
    """The account's activity, newest first, with its contact joined; anonymous
    activity resolved to the account (no contact) is included. One query per
    page (plus the paginator's count); served by the account timeline index."""
    activity = Activity.objects.filter(account_id=account_id).select_related("contact", "source")
    if filters.contact_id is not None:
        activity = activity.filter(contact_id=filters.contact_id)
    if filters.anonymous_only:
        activity = activity.filter(contact__isnull=True)
    if filters.activity_type:
        activity = activity.filter(type=filters.activity_type)
    if filters.since is not None:
        activity = activity.filter(
            occurred_at__gte=dt.datetime.combine(filters.since, dt.time.min, tzinfo=dt.UTC)
        )
    if filters.until is not None:
        activity = activity.filter(
            occurred_at__lt=dt.datetime.combine(
                filters.until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC
            )
        )
    return activity.order_by("-occurred_at", "-id")


def account_activity_types(*, account_id: int) -> list[str]:
    """The activity types the account has any activity of, for the timeline's
    type filter. One query."""
    return sorted(
        Activity.objects.filter(account_id=account_id)
        .filter(~Q(type=""))
        .values_list("type", flat=True)
        .distinct()
    )
