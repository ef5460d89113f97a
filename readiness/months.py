"""Pure: the month ends of the training data and the moments a month end reads.
No Django here."""

from __future__ import annotations

import datetime as dt


def month_end(day: dt.date) -> dt.date:
    """The last day of `day`'s month."""
    first_of_next = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first_of_next - dt.timedelta(days=1)


def month_ends_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month end in [first, last], oldest first."""
    ends: list[dt.date] = []
    day = month_end(first)
    while day <= last:
        ends.append(day)
        day = month_end(day + dt.timedelta(days=1))
    return ends


def end_of_day(day: dt.date) -> dt.datetime:
    """Midnight UTC after `day`: a month end's features read activity strictly
    before it, the moment the day's snapshot describes."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def label_known(month_end_day: dt.date, *, today: dt.date, horizon_days: int) -> bool:
    """Whether the whole label window (month end, month end + horizon] is past:
    only then is "no opportunity opened" a known 0."""
    return month_end_day + dt.timedelta(days=horizon_days) < today


def last_month_end_before(today: dt.date) -> dt.date:
    """The latest month end strictly before `today`."""
    return today.replace(day=1) - dt.timedelta(days=1)


# How far back a model's history reaches by default (then trimmed to the month
# ends that the stored activity covers: `covered_month_ends`).
HISTORY_DAYS = 730


def history_month_ends(today: dt.date, *, days: int = HISTORY_DAYS) -> list[dt.date]:
    """The month ends a model trains on by default: the last one before today
    and every one in the `days` before it."""
    until = last_month_end_before(today)
    return month_ends_between(until - dt.timedelta(days=days), until)


def covered_month_ends(
    month_ends: list[dt.date], *, first_day: dt.date | None, window_days: int
) -> list[dt.date]:
    """The month ends whose longest window, the `window_days` up to the end of
    the day, lies within the stored history, which begins on `first_day` (the
    day of the first activity; None: no history, no month end). Before that a
    month end's counts are cut short by the start of the data, not by the
    account's behaviour: rows that would teach the model that a new tenant's
    first months look quiet."""
    if first_day is None:
        return []
    return [m for m in month_ends if m - dt.timedelta(days=window_days - 1) >= first_day]
