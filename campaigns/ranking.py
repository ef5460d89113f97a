"""Program ranking (DESIGN 5) on plain values: order, flags, periods. No ORM."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Candidate:
    program_id: int
    spend: Decimal
    value: float | None  # the ranking metric; None (no lift measured) ranks last


@dataclass(frozen=True)
class Ranked:
    program_id: int
    rank: int
    flagged: bool


def flag_count(*, ranked: int, fraction: Decimal) -> int:
    """ceil(fraction * n), computed in decimals so 10% of 10 is exactly 1."""
    return math.ceil(Decimal(str(fraction)) * ranked) if ranked else 0


def programs_rank(candidates: Sequence[Candidate], *, fraction: Decimal) -> list[Ranked]:
    """Best first by metric; ties broken by lower spend first (the same result
    for less money), then by program id, so every run orders the same way. The
    bottom ceil(fraction * n) are flagged."""
    ordered = sorted(
        candidates,
        key=lambda c: (c.value is None, -(c.value or 0.0), c.spend, c.program_id),
    )
    flagged_from = len(ordered) - flag_count(ranked=len(ordered), fraction=fraction)
    return [
        Ranked(c.program_id, position + 1, position >= flagged_from)
        for position, c in enumerate(ordered)
    ]


def previous_half_year(today: dt.date) -> tuple[dt.date, dt.date]:
    """The six whole months before `today`'s month: on 1 July, 1 January to 30 June."""
    end = today.replace(day=1) - dt.timedelta(days=1)
    month = end.month - 5
    year = end.year if month > 0 else end.year - 1
    return dt.date(year, month if month > 0 else month + 12, 1), end


def too_early_to_judge(*, program_ends_on: dt.date, period_end: dt.date, window_days: int) -> bool:
    """A program can be judged once its influence window has closed by the end
    of the period: an account it first touched on its last day could still
    open an opportunity up to `window_days` later. So a program that ended
    less than `window_days` before the period's end (or runs on after it) is
    too early to judge."""
    return judgeable_from(program_ends_on=program_ends_on, window_days=window_days) > period_end


def judgeable_from(*, program_ends_on: dt.date, window_days: int) -> dt.date:
    """The first period end on which a program can be judged: the day its
    influence window closes."""
    return program_ends_on + dt.timedelta(days=window_days)


# A month of spend, for a run-rate: 30 days, so the figure can be checked by hand.
RUN_RATE_DAYS = 30


def days_running_in(
    *, starts_on: dt.date, ends_on: dt.date, period_start: dt.date, period_end: dt.date
) -> int:
    """How many days of the period the program ran (its dates, both included)."""
    first, last = max(starts_on, period_start), min(ends_on, period_end)
    return max(0, (last - first).days + 1)


def monthly_run_rate(*, spend: Decimal, days_running: int) -> Decimal | None:
    """Spend per 30 days of running, to the cent: what the program cost for
    each month it ran in the period. None when it ran no day of the period."""
    if days_running <= 0:
        return None
    return (spend * RUN_RATE_DAYS / days_running).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class CutSaving:
    """What cutting programs saves: their spend in the period (what running
    them again for as long would cost) and their run-rates added up (None when
    one of them ran no day of the period, so has no run-rate)."""

    programs: int
    spend: Decimal
    run_rate: Decimal | None


def cut_saving(cuts: Sequence[tuple[Decimal, Decimal | None]]) -> CutSaving:
    """The saving of cutting every program in `cuts`, given as (spend in the
    period, monthly run-rate) pairs."""
    rates = [rate for _, rate in cuts]
    return CutSaving(
        programs=len(cuts),
        spend=sum((spend for spend, _ in cuts), Decimal("0.00")),
        run_rate=None
        if None in rates
        else sum((r for r in rates if r is not None), Decimal("0.00")),
    )
