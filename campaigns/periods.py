"""Report periods: the default quarter, the presets a page offers, and the
previous period a report compares with. Pure: dates in, dates out.

The comparison rule (one owner: the overview API and its page both call
`previous_period`): a period that starts on the first of a month is compared
with the same span whole months earlier, so a quarter to date (Oct 1 to
Dec 2) is compared with the previous quarter to the same day (Jul 1 to Sep 2),
a quarter with the previous quarter, a year with the previous year; any other
period with the same number of days just before it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from core.csvimport import DATE_MAX, DATE_MIN


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period_day_refusal(day: date) -> str | None:
    """Why a report period's day is refused, or None: one outside the product's
    calendar (core.csvimport's DATE_MIN to DATE_MAX), where the previous period,
    an influence window or the months of the report would leave Python's
    calendar (issue 18: year 1 or 9999 was a 500). The API and the pages ask here."""
    if DATE_MIN <= day <= DATE_MAX:
        return None
    return f"must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"


def months_shifted(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _months_spanned(start: date, end: date) -> int:
    """How many calendar months [start, end] touches (start on the 1st)."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


class PeriodOutOfRange(ValueError):
    """The period it is compared with would start before the calendar does (year 1)."""


def previous_period(start: date, end: date) -> Period:
    """The period `start`..`end` is compared with (module docstring); a period
    so early that the one before it would start before year 1 is refused
    (PeriodOutOfRange), so that callers answer a 400, not a 500 (issue 18)."""
    try:
        return _previous_period(start, end)
    except (OverflowError, ValueError):
        raise PeriodOutOfRange(
            f"the period before {start.isoformat()} to {end.isoformat()}, which it is "
            "compared with, would start before year 1"
        ) from None


def _previous_period(start: date, end: date) -> Period:
    if start.day == 1:
        months = _months_spanned(start, end)
        shifted_end = months_shifted(end, -months)
        if end.day == calendar.monthrange(end.year, end.month)[1]:
            # A period ending on a month's last day compares with one that does.
            shifted_end = shifted_end.replace(
                day=calendar.monthrange(shifted_end.year, shifted_end.month)[1]
            )
        return Period(months_shifted(start, -months), shifted_end)
    days = (end - start).days + 1
    return Period(start - timedelta(days=days), start - timedelta(days=1))


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_label(day: date) -> str:
    return f"Q{(day.month - 1) // 3 + 1} {day.year}"


def default_period(today: date) -> Period:
    """The quarter to date: what an executive opens the reports on."""
    return Period(quarter_start(today), today, f"{quarter_label(today)} to date")


def period_presets(today: date) -> list[Period]:
    """The periods a report page offers with one click."""
    this_quarter = quarter_start(today)
    last_quarter = months_shifted(this_quarter, -3)
    return [
        default_period(today),
        Period(last_quarter, this_quarter - timedelta(days=1), quarter_label(last_quarter)),
        Period(date(today.year, 1, 1), today, f"{today.year} to date"),
        Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), str(today.year - 1)),
        Period(months_shifted(today, -12) + timedelta(days=1), today, "Last 12 months"),
    ]
