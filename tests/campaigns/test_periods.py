"""Report periods by hand: the default quarter, the presets and the previous
period a report compares with (campaigns.periods)."""

from __future__ import annotations

from datetime import date

import pytest

from campaigns.periods import default_period, period_presets, previous_period


@pytest.mark.parametrize(
    ("start", "end", "previous_start", "previous_end"),
    [
        # A quarter to date: the previous quarter to the same day.
        (date(2026, 10, 1), date(2026, 12, 2), date(2026, 7, 1), date(2026, 9, 2)),
        # A whole quarter: the previous whole quarter (Q2 ends on June 30).
        (date(2026, 7, 1), date(2026, 9, 30), date(2026, 4, 1), date(2026, 6, 30)),
        # A whole month: the previous whole month, however long it is.
        (date(2026, 3, 1), date(2026, 3, 31), date(2026, 2, 1), date(2026, 2, 28)),
        # A year: the previous year.
        (date(2026, 1, 1), date(2026, 12, 31), date(2025, 1, 1), date(2025, 12, 31)),
        # Any other period: the same number of days just before it (10 days).
        (date(2026, 3, 10), date(2026, 3, 19), date(2026, 2, 28), date(2026, 3, 9)),
        # The 31st of a month to date, clamped in a shorter month.
        (date(2026, 5, 1), date(2026, 5, 31), date(2026, 4, 1), date(2026, 4, 30)),
    ],
)
def test_previous_period(start: date, end: date, previous_start: date, previous_end: date) -> None:
    previous = previous_period(start, end)
    assert (previous.start, previous.end) == (previous_start, previous_end)


def test_the_default_is_the_quarter_to_date() -> None:
    period = default_period(date(2026, 12, 2))
    assert (period.start, period.end, period.label) == (
        date(2026, 10, 1),
        date(2026, 12, 2),
        "Q4 2026 to date",
    )


def test_presets_by_hand() -> None:
    presets = {p.label: (p.start, p.end) for p in period_presets(date(2026, 2, 15))}
    assert presets == {
        "Q1 2026 to date": (date(2026, 1, 1), date(2026, 2, 15)),
        "Q4 2025": (date(2025, 10, 1), date(2025, 12, 31)),
        "2026 to date": (date(2026, 1, 1), date(2026, 2, 15)),
        "2025": (date(2025, 1, 1), date(2025, 12, 31)),
        "Last 12 months": (date(2025, 2, 16), date(2026, 2, 15)),
    }
