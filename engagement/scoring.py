"""The engagement score of DESIGN section 4, as pure math (no ORM).

Forward decay: with lambda = ln 2 / half_life, an activity of weight w by a
contact with seniority multiplier m at time t_i adds the term
w * m * exp(lambda * (t_i - L)) to a plain sum S kept against a landmark L.
The contact's points at any time t are then c(t) = S * exp(-lambda * (t - L)),
so new or late activity only adds terms and an incremental rollup equals a full
recompute. Times are measured in days.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# Rebase the landmark before lambda * (t - L) grows past this: exp(700) is the
# edge of a float, and terms far beyond it would overflow.
REBASE_EXPONENT = 500.0
# Every term's exponent lambda * (t - L) is held within these bounds, so that no
# stored time, however far from the landmark (year 1, year 9999, PostgreSQL's
# infinity), can overflow or underflow the sums (PostgreSQL raises "value out
# of range" on either; SQLite gives inf and then NaN scores):
# - above: exp(600) ~ 4e260 leaves a factor 1e48 of room under a float's limit
#   for weights and the number of terms summed. Only a time dated far after the
#   landmark reaches it (ingest stores no time more than a day after receipt,
#   tracking.activity_time); it then counts as if at L + 600 / lambda.
# - below: a term of exp(-150) ~ 7e-66 or less, times the decay of a landmark
#   up to REBASE_EXPONENT old (the rebase's factor, or c(t)'s), stays above the
#   smallest float (exp(-708)) for any weight over 1e-25, where the exact term
#   would underflow. At scoring time t >= L the bound changes a contact's
#   points by less than weight x 7e-66, which no score, stage or breadth can show.
MAX_EXPONENT = 600.0
MIN_EXPONENT = -150.0
SECONDS_PER_DAY = 86_400.0
# A scoring model's default bands: scores from ENGAGED_MIN_DEFAULT are
# "engaged", from QUALIFIED_MIN_DEFAULT "qualified". The one owner of these
# numbers: ScoringParameters, the ScoringModel columns and the campaign
# reports (for a snapshot whose model version is gone) all read them here.
ENGAGED_MIN_DEFAULT = 41
QUALIFIED_MIN_DEFAULT = 61
# The other defaults of DESIGN 4, owned here the same way (the activity weights
# and seniority multipliers are engagement.models.default_activity_weights and
# default_seniority_multipliers, which name the activity types).
HALF_LIFE_DAYS_DEFAULT = 30.0
CONTACT_CAP_DEFAULT = 40.0
SCALE_DEFAULT = 50.0
LOOKBACK_DAYS_DEFAULT = 365
ANONYMOUS_FACTOR_DEFAULT = 0.5


@dataclass(frozen=True)
class ScoringParameters:
    activity_weights: Mapping[str, float]
    seniority_multipliers: Mapping[str, float]
    half_life_days: float = HALF_LIFE_DAYS_DEFAULT
    contact_cap: float = CONTACT_CAP_DEFAULT
    scale: float = SCALE_DEFAULT
    engaged_min: int = ENGAGED_MIN_DEFAULT
    qualified_min: int = QUALIFIED_MIN_DEFAULT
    lookback_days: int = LOOKBACK_DAYS_DEFAULT
    anonymous_factor: float = ANONYMOUS_FACTOR_DEFAULT
    required_roles: Sequence[str] = field(default_factory=tuple)

    @property
    def decay_rate(self) -> float:
        """lambda, per day."""
        return math.log(2) / self.half_life_days

    def weight(self, activity_type: str) -> float:
        return float(self.activity_weights.get(activity_type, 0.0))

    def multiplier(self, seniority: str) -> float:
        return float(self.seniority_multipliers.get(seniority, 1.0))


def days_between(earlier: dt.datetime, later: dt.datetime) -> float:
    return (later - earlier).total_seconds() / SECONDS_PER_DAY


def forward_term(
    *,
    weight: float,
    multiplier: float,
    occurred_at: dt.datetime,
    landmark: dt.datetime,
    rate: float,
) -> float:
    """One activity's contribution to S against the landmark (its exponent held
    within MIN_EXPONENT and MAX_EXPONENT, as the SQL of engagement/rollup/dialect.py)."""
    return (
        weight * multiplier * math.exp(bounded_exponent(rate * days_between(landmark, occurred_at)))
    )


def bounded_exponent(exponent: float) -> float:
    return min(MAX_EXPONENT, max(MIN_EXPONENT, exponent))


def activity_points(
    *,
    weight: float,
    multiplier: float,
    occurred_at: dt.datetime,
    landmark: dt.datetime,
    at: dt.datetime,
    rate: float,
) -> float:
    """One activity's points at `at`, as the rollup scores it: its term against
    the landmark (the bounded exponent, so any stored time gives a finite
    number) decayed from the landmark to `at`."""
    return forward_term(
        weight=weight, multiplier=multiplier, occurred_at=occurred_at, landmark=landmark, rate=rate
    ) * points_at(decay_sum=1.0, landmark=landmark, at=at, rate=rate)


def points_at(*, decay_sum: float, landmark: dt.datetime, at: dt.datetime, rate: float) -> float:
    """c(t) = S * exp(-lambda * (t - L))."""
    return decay_sum * math.exp(-rate * days_between(landmark, at))


def rebased(
    *, decay_sum: float, landmark: dt.datetime, new_landmark: dt.datetime, rate: float
) -> float:
    """The same points expressed against a later landmark."""
    return decay_sum * math.exp(-rate * days_between(landmark, new_landmark))


def needs_rebase(*, landmark: dt.datetime, latest: dt.datetime, rate: float) -> bool:
    return rate * days_between(landmark, latest) > REBASE_EXPONENT


def raw_score(
    *, contact_points: Iterable[float], anonymous_points: float, cap: float, anonymous_factor: float
) -> float:
    """R = sum over contacts of min(cap, max(0, c)) + factor * anonymous points.

    The cap keeps one heavy reader from qualifying an account alone; negative
    points (unsubscribes, bounces) can cancel a contact's interest but never
    drag the account below what its other contacts earned.
    """
    return account_raw(
        capped_contact_points=sum(contact_counted(points, cap=cap) for points in contact_points),
        anonymous_points=anonymous_points,
        anonymous_factor=anonymous_factor,
    )


def contact_counted(points: float, *, cap: float) -> float:
    """What a contact's points add to R: min(cap, max(0, c)) (the SQL twin is
    engagement/rollup/sums.py `contact_totals`)."""
    return min(cap, max(0.0, points))


def anonymous_counted(points: float, *, anonymous_factor: float) -> float:
    """What an account's anonymous points add to R: factor * max(0, points)."""
    return anonymous_factor * max(0.0, points)


def account_raw(
    *, capped_contact_points: float, anonymous_points: float, anonymous_factor: float
) -> float:
    """R from the contacts' capped points already summed (the rollup sums them in
    SQL: engagement/rollup/sums.py `contact_totals`)."""
    return capped_contact_points + anonymous_counted(
        anonymous_points, anonymous_factor=anonymous_factor
    )


def normalised_score(raw: float, scale: float) -> int:
    """score = round(100 * (1 - exp(-R / scale))), 0 to 100."""
    return round(100 * (1 - math.exp(-max(0.0, raw) / scale)))


def band(score: int, params: ScoringParameters) -> str:
    if score >= params.qualified_min:
        return "qualified"
    if score >= params.engaged_min:
        return "engaged"
    return "aware"


def stage(
    *,
    score: int,
    last_activity_at: dt.datetime | None,
    at: dt.datetime,
    has_won_opportunity: bool,
    has_open_opportunity: bool,
    params: ScoringParameters,
) -> str:
    """The highest stage that holds: customer, opportunity, then the score's band;
    unaware without any activity in the lookback."""
    if has_won_opportunity:
        return "customer"
    if has_open_opportunity:
        return "opportunity"
    if last_activity_at is None or not within_lookback(
        last_activity_at, at=at, lookback_days=params.lookback_days
    ):
        return "unaware"
    return band(score, params)


def within_lookback(moment: dt.datetime, *, at: dt.datetime, lookback_days: float) -> bool:
    """Whether `moment` is at most the lookback before `at`: the window of the
    unaware stage and of the activity an explanation lists."""
    return days_between(moment, at) <= lookback_days


ENGAGED_CONTACT_POINTS = 1.0


def breadth(
    *, points_by_contact: Mapping[int, float], roles_by_contact: Mapping[int, str],
    required_roles: Sequence[str],
) -> tuple[int, list[str], list[str]]:  # fmt: skip
    """(engaged contacts, required roles covered, required roles missing)."""
    engaged = [c for c, points in points_by_contact.items() if points >= ENGAGED_CONTACT_POINTS]
    covered, missing = roles_covered(
        engaged_roles={roles_by_contact.get(c, "unknown") for c in engaged},
        required_roles=required_roles,
    )
    return len(engaged), covered, missing


def roles_covered(
    *, engaged_roles: Collection[str], required_roles: Sequence[str]
) -> tuple[list[str], list[str]]:
    """(required roles some engaged contact holds, required roles none does)."""
    covered = [role for role in required_roles if role in engaged_roles]
    missing = [role for role in required_roles if role not in engaged_roles]
    return covered, missing
