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
