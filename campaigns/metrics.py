"""Campaign measurement math (DESIGN 5) on plain values: no ORM, no I/O.

Lift with a Welch 95% interval (the Student t quantile is computed here, from
the regularised incomplete beta function, so no statistics package is needed),
the even split of opportunity credit, guarded ratios, funnel and deal
velocity, and the pipeline-plan arithmetic.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

# --- Student's t ---------------------------------------------------------------


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function, evaluated by the
    modified Lentz method; converges quickly for x < (a + 1) / (a + b + 2)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 400):
        # Even step, then odd step, of the fraction's terms.
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 + even * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + even / c if abs(c) > tiny else tiny
        result *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + odd * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + odd / c if abs(c) > tiny else tiny
        step = d * c
        result *= step
        if abs(step - 1.0) < 1e-15:
            break
    return result


def regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) for 0 <= x <= 1 and a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(x, a, b) / a
    return 1.0 - front * _beta_continued_fraction(1.0 - x, b, a) / b


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with df > 0 degrees of freedom (df may be fractional)."""
    tail = 0.5 * regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
    return 1.0 - tail if t >= 0 else tail


def student_t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p, by bisection on the monotone CDF (to 1e-12)."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"need 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -student_t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while student_t_cdf(high, df) < p:
        high *= 2.0
    while high - low > 1e-12 * max(1.0, high):
        middle = (low + high) / 2.0
        if student_t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


# --- Lift ------------------------------------------------------------------------


@dataclass(frozen=True)
class Lift:
    """Engagement lift. `kind` is "holdout" (treated minus holdout mean score
    change, Welch interval) or "pre_post" (the treated mean change alone, with a
    one-sample t interval), when there is no usable holdout. Interval bounds are
    None when there are too few accounts to estimate a variance. `treated` and
    `holdout` count the accounts measured in each arm; `not_measured` the
    targets without a score on one of the two days; `reason` says why there is
    no estimate when there is none."""

    kind: str
    estimate: float | None
    low: float | None
    high: float | None
    df: float | None
    treated: int
    holdout: int
    treated_mean: float | None
    holdout_mean: float | None
    not_measured: int = 0
    reason: str | None = None


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    mean = math.fsum(values) / len(values)
    var = math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0
    return mean, var


def lift_welch(
    treated: Sequence[float], holdout: Sequence[float], *, confidence: float = 0.95
) -> Lift:
    """Lift = mean(treated) - mean(holdout) with Welch's interval; pre/post when
    the holdout has fewer than two accounts."""
    q = 1.0 - (1.0 - confidence) / 2.0
    if not treated:
        return Lift("holdout" if len(holdout) >= 2 else "pre_post", None, None, None, None,
                    0, len(holdout), None, None,
                    reason="no treated target account was measured")  # fmt: skip
    mean_t, var_t = _mean_var(treated)
    if len(holdout) < 2:
        if len(treated) < 2:
            return Lift("pre_post", mean_t, None, None, None, len(treated), len(holdout),
                        mean_t, None)  # fmt: skip
        se = math.sqrt(var_t / len(treated))
        df = float(len(treated) - 1)
        half = student_t_quantile(q, df) * se
        return Lift("pre_post", mean_t, mean_t - half, mean_t + half, df, len(treated),
                    len(holdout), mean_t, None)  # fmt: skip
    mean_h, var_h = _mean_var(holdout)
    estimate = mean_t - mean_h
    if len(treated) < 2:
        return Lift("holdout", estimate, None, None, None, 1, len(holdout), mean_t, mean_h)
    a, b = var_t / len(treated), var_h / len(holdout)
    if a + b == 0:
        return Lift("holdout", estimate, estimate, estimate, None, len(treated), len(holdout),
                    mean_t, mean_h)  # fmt: skip
    df = (a + b) ** 2 / (a * a / (len(treated) - 1) + b * b / (len(holdout) - 1))
    half = student_t_quantile(q, df) * math.sqrt(a + b)
    return Lift("holdout", estimate, estimate - half, estimate + half, df, len(treated),
                len(holdout), mean_t, mean_h)  # fmt: skip


def lift_unavailable(reason: str, *, not_measured: int = 0) -> Lift:
    """No lift: nothing measured, and why (for instance a period outside the data)."""
    return Lift("none", None, None, None, None, 0, 0, None, None, not_measured, reason)


# --- Attribution -------------------------------------------------------------------


# The influence window's default, in days: the reports', the ranking's (its API,
# its command and the RankingRun column) and the window a run stores.
INFLUENCE_WINDOW_DAYS = 90


def influenced(*, first_touch: dt.date, opened_on: dt.date, window_days: int) -> bool:
    """An opportunity counts for a program when it opened on or after the
    program's first touch on the account and at most `window_days` later."""
    return 0 <= (opened_on - first_touch).days <= window_days


CENT = Decimal("0.01")


def even_split(amount: Decimal, programs: Iterable[int]) -> dict[int, Decimal]:
    """An amount shared evenly, to the cent, among programs; the leftover cents go
    one each to the lowest program ids, so the shares add up to the amount exactly."""
    ordered = sorted(set(programs))
    if not ordered:
        return {}
    cents = int((amount / CENT).to_integral_value(rounding=ROUND_DOWN))
    base, extra = divmod(cents, len(ordered))
    shares = {p: (base + (1 if i < extra else 0)) * CENT for i, p in enumerate(ordered)}
    shares[ordered[0]] += amount - cents * CENT  # sub-cent remainder, if any
    return shares


def even_share(programs: int) -> float:
    """A program's share of one opportunity's count (1/n)."""
    return 1.0 / programs if programs else 0.0


# --- Ratios, funnel, velocity ---------------------------------------------------


Number = int | float | Decimal


def ratio(numerator: Number | None, denominator: Number | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return float(numerator) / float(denominator)


def win_rate(*, won: int, lost: int) -> float | None:
    """Won over closed (won + lost); open deals are not decided yet."""
    return ratio(won, won + lost)


def average(values: Sequence[Number]) -> float | None:
    return ratio(sum(values, Decimal(0)) if values and isinstance(values[0], Decimal)
                 else sum(values), len(values))  # fmt: skip


def cycle_days(pairs: Iterable[tuple[dt.date, dt.date]]) -> float | None:
    """Mean days from opening to closing over (opened, closed) pairs."""
    days = [(closed - opened).days for opened, closed in pairs]
    return ratio(sum(days), len(days))


FUNNEL_STAGES = ("targeted", "engaged", "qualified", "opportunity", "won")


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    accounts: int
    from_previous: float | None  # conversion from the stage before
    from_first: float | None  # conversion from the top of the funnel


def funnel(counts: Mapping[str, int]) -> list[FunnelStep]:
    """Each stage's accounts with its conversion from the previous stage and the top."""
    steps: list[FunnelStep] = []
    top = counts.get(FUNNEL_STAGES[0], 0)
    previous: int | None = None
    for stage in FUNNEL_STAGES:
        n = counts.get(stage, 0)
        steps.append(FunnelStep(stage, n, None if previous is None else ratio(n, previous),
                                None if previous is None else ratio(n, top)))  # fmt: skip
        previous = n
    return steps


# --- Pipeline plan ---------------------------------------------------------------


@dataclass(frozen=True)
class PlanNeeds:
    required_pipeline: Decimal
    required_opportunities: Decimal  # exact; `opportunities_to_open` rounds up
    opportunities_to_open: int
    open_from: dt.date
    open_until: dt.date


def plan_needs(
    *,
    revenue_target: Decimal,
    win_rate: Decimal,
    average_deal_size: Decimal,
    cycle_time_days: int,
    period_start: dt.date,
    period_end: dt.date,
) -> PlanNeeds:
    """Pipeline T / w; opportunities T / (w * d), to be opened between
    period start - c and period end - c so that they close inside the period."""
    if not 0 < win_rate <= 1:
        raise ValueError(f"win rate {win_rate} is outside (0, 1]")
    if average_deal_size <= 0:
        raise ValueError(f"average deal size {average_deal_size} must be positive")
    pipeline = revenue_target / win_rate
    opportunities = revenue_target / (win_rate * average_deal_size)
    lag = dt.timedelta(days=cycle_time_days)
    return PlanNeeds(
        required_pipeline=pipeline.quantize(CENT),
        required_opportunities=opportunities.quantize(CENT),
        opportunities_to_open=math.ceil(opportunities),
        open_from=period_start - lag,
        open_until=period_end - lag,
    )


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of the months that [start, end] touches."""
    months, cursor = [], start.replace(day=1)
    while cursor <= end:
        months.append(cursor)
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    return months


# --- Deal metrics for a period ---------------------------------------------------


@dataclass(frozen=True)
class DealFacts:
    """What the deal metrics read of one opportunity. `amount` is None when the
    CRM gave none; `close_on` is the actual close date of a won or lost deal."""

    amount: Decimal | None
    status: str  # open, won or lost
    opened_on: dt.date
    close_on: dt.date | None


def _cycle_mean(deals: Sequence[DealFacts]) -> float | None:
    return cycle_days((d.opened_on, d.close_on) for d in deals if d.close_on is not None)


def deal_figures(deals: Iterable[DealFacts], *, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Deal metrics for [start, end] (both days included).

    Each figure selects deals by one date: pipeline and opened counts by the
    opened date; won revenue, win rate, average won deal and cycle times by the
    close date of won and lost deals (an open deal's close date is only
    expected, so it selects nothing). A missing amount is not zero: the deal
    counts in every count and rate, adds nothing to an amount, is left out of
    the average won deal, and is counted in the `..._without_amount` figures."""
    chosen = list(deals)
    opened = [d for d in chosen if start <= d.opened_on <= end]
    closed = [
        d for d in chosen
        if d.status in ("won", "lost") and d.close_on is not None and start <= d.close_on <= end
    ]  # fmt: skip
    won = [d for d in closed if d.status == "won"]
    won_amounts = [d.amount for d in won if d.amount is not None]
    won_revenue = sum(won_amounts, Decimal(0))
    return {
        "opportunities_opened": len(opened),
        "opportunities_opened_without_amount": sum(1 for d in opened if d.amount is None),
        "pipeline": sum((d.amount for d in opened if d.amount is not None), Decimal(0)),
        "opportunities_closed": len(closed),
        "opportunities_won": len(won),
        "opportunities_lost": len(closed) - len(won),
        "won_without_amount": len(won) - len(won_amounts),
        "won_revenue": won_revenue,
        "win_rate": win_rate(won=len(won), lost=len(closed) - len(won)),
        "average_won_deal": (won_revenue / len(won_amounts)).quantize(CENT, ROUND_HALF_UP)
        if won_amounts else None,
        "cycle_days_won": _cycle_mean(won),
        "cycle_days_closed": _cycle_mean(closed),
    }  # fmt: skip
