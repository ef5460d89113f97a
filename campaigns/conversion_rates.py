"""What converts (issue 19, part 5) on plain values: a conversion rate with its
Wilson score interval, which accounts count, and the ranking rule. No ORM;
campaigns.reports.conversion reads the rows (definitions: docs/readiness.md,
"What converts")."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

# The two-sided 95% normal quantile (scipy.stats.norm.ppf(0.975)).
Z_95 = 1.959963984540054
# An account converts when it opens an opportunity within this many days of
# its first touch by the group (DESIGN 5's influence window).
WINDOW_DAYS = 90
# A group with fewer measured accounts is shown, marked, and never ranked: at
# 30 accounts a 95% interval around a 10% rate is still about 22 points wide.
MIN_ACCOUNTS_TO_RANK = 30


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(converted: int, accounts: int, *, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of a proportion `converted / accounts`; None
    without accounts. Unlike the normal approximation it stays inside [0, 1]
    and is not empty at 0 or at 100%, which small groups reach often."""
    if accounts <= 0:
        return None
    if not 0 <= converted <= accounts:
        raise ValueError(f"converted ({converted}) must be between 0 and accounts ({accounts})")
    p = converted / accounts
    z2 = z * z
    denominator = 1 + z2 / accounts
    centre = (p + z2 / (2 * accounts)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / accounts + z2 / (4 * accounts * accounts))
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


# --- One account's outcome ---------------------------------------------------------

CONVERTED = "converted"
NOT_CONVERTED = "not_converted"
WINDOW_OPEN = "window_open"  # first touch + 90 days not over yet: no outcome
IN_A_DEAL = "in_a_deal"  # an opportunity was already open at the first touch


@dataclass(frozen=True)
class Deal:
    opened_on: dt.date
    # The day it was won or lost; None while open.
    closed_on: dt.date | None


def account_outcome(*, first_touch: dt.date, deals: Iterable[Deal], today: dt.date,
                    window_days: int = WINDOW_DAYS) -> str:  # fmt: skip
    """What one account's first touch (the day, UTC) led to. A deal open at the
    first touch (opened before that day, not won or lost before it) excludes
    the account: it could not open one. Otherwise it converted when a deal
    opened on the first-touch day or up to `window_days` later (as the
    campaign reports' influence, campaigns.metrics.influenced); without one,
    the account counts as not converted only once the window is over (its
    last day before today)."""
    last_day = first_touch + dt.timedelta(days=window_days)
    deals = list(deals)
    if any(d.opened_on < first_touch and (d.closed_on is None or d.closed_on >= first_touch)
           for d in deals):  # fmt: skip
        return IN_A_DEAL
    # Only deals opened by today exist: until the window is over the account
    # has no outcome, converted or not (no early "yes" against missing "no"s).
    if last_day >= today:
        return WINDOW_OPEN
    if any(first_touch <= d.opened_on <= last_day for d in deals):
        return CONVERTED
    return NOT_CONVERTED


# --- A group's rate and the ranking ------------------------------------------------


@dataclass(frozen=True)
class GroupRate:
    key: str
    label: str
    accounts: int  # measured: window over, not in a deal at the first touch
    converted: int
    window_open: int
    in_a_deal: int
    rank: int | None = None

    @property
    def rate(self) -> float | None:
        return self.converted / self.accounts if self.accounts else None

    @property
    def interval(self) -> Interval | None:
        return wilson_interval(self.converted, self.accounts)

    @property
    def rankable(self) -> bool:
        return self.accounts >= MIN_ACCOUNTS_TO_RANK


def group_rate(*, key: str, label: str, outcomes: Iterable[str]) -> GroupRate:
    counts = {CONVERTED: 0, NOT_CONVERTED: 0, WINDOW_OPEN: 0, IN_A_DEAL: 0}
    for outcome in outcomes:
        counts[outcome] += 1
    return GroupRate(key=key, label=label, accounts=counts[CONVERTED] + counts[NOT_CONVERTED],
                     converted=counts[CONVERTED], window_open=counts[WINDOW_OPEN],
                     in_a_deal=counts[IN_A_DEAL])  # fmt: skip


def ranked(groups: Sequence[GroupRate]) -> list[GroupRate]:
    """Groups with at least MIN_ACCOUNTS_TO_RANK measured accounts first, ranked
    by their interval's lower bound (the rate they beat with 95% confidence, so
    a group is not ranked high on a lucky few accounts), ties by rate, then
    accounts; then the small groups, unranked, by accounts. Ties in the bound
    share nothing: ranks run 1, 2, 3 in the order shown."""

    def strength(group: GroupRate) -> tuple[float, float, int, str]:
        interval, rate = group.interval, group.rate
        low = interval.low if interval is not None else 0.0
        return (-low, -(rate or 0.0), -group.accounts, group.label)

    big = sorted((g for g in groups if g.rankable), key=strength)
    small = sorted((g for g in groups if not g.rankable), key=lambda g: (-g.accounts, g.label))
    return [replace(g, rank=i) for i, g in enumerate(big, 1)] + small


ABOVE = "above"
BELOW = "below"
WITHIN = "within"


def against_base(group: GroupRate, base_rate: float | None) -> str | None:
    """Whether the group's whole interval lies above or below the segment's base
    rate ("within" when it straddles it); None without a rate to compare."""
    interval = group.interval
    if interval is None or base_rate is None:
        return None
    if interval.low > base_rate:
        return ABOVE
    if interval.high < base_rate:
        return BELOW
    return WITHIN
