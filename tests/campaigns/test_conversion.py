"""What converts (issue 19, part 5): the arithmetic by hand on the tiny history
of tests/campaigns/conversion_scenario.py, the Wilson interval against
published values, the ranking rule, and the report's fixed query count."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from campaigns import conversion_rates as rates
from campaigns.conversion_rates import Deal, GroupRate, account_outcome, ranked, wilson_interval
from campaigns.reports.conversion import ConversionQuery, SegmentNotFound, conversion_report
from engagement.models import ActivityPending
from engagement.services.retention import activity_retention_apply
from tests.campaigns import conversion_scenario
from tests.campaigns.conversion_scenario import END, START, TODAY


def report(dimension: str, segment_id: int | None = None) -> dict[str, Any]:
    return conversion_report(ConversionQuery(dimension=dimension, start=START, end=END,
                                             segment_id=segment_id, today=TODAY))  # fmt: skip


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    """accounts, converted, window open, in a deal, rate, [low, high] to 4 places."""
    low, high = row["low"], row["high"]
    return (row["accounts"], row["converted"], row["window_open"], row["in_a_deal"],
            row["rate"], None if low is None else round(low, 4),
            None if high is None else round(high, 4))  # fmt: skip


def by_group(data: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {row["group"]: figures(row) for row in data["rows"]}


# --- The Wilson interval and the rules on plain values -------------------------------


def test_the_wilson_interval_matches_published_values() -> None:
    # 0/10, 5/10 and 10/10: the values of Wilson (1927) tables and of
    # statsmodels' proportion_confint(method="wilson").
    assert [round(v, 4) for v in vars(wilson_interval(0, 10)).values()] == [0.0, 0.2775]
    assert [round(v, 4) for v in vars(wilson_interval(5, 10)).values()] == [0.2366, 0.7634]
    assert [round(v, 4) for v in vars(wilson_interval(10, 10)).values()] == [0.7225, 1.0]
    # 1 of 4 by hand: z^2 = 3.8415; denominator 1 + 3.8415/4 = 1.9604; centre
    # (0.25 + 3.8415/8) / 1.9604 = 0.3725; half 1.96/1.9604 * sqrt(0.25*0.75/4
    # + 3.8415/64) = 0.9998 * 0.32695 = 0.3269: [0.0456, 0.6994].
    interval = wilson_interval(1, 4)
    assert interval is not None
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.0456, 0.6994)
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="between 0 and accounts"):
        wilson_interval(5, 4)


def test_an_account_outcome_needs_a_closed_window_and_no_deal_open_at_the_first_touch() -> None:
    touched = dt.date(2026, 1, 10)
    late = dt.date(2026, 12, 1)
    assert account_outcome(first_touch=touched, deals=[], today=late) == rates.NOT_CONVERTED
    # Opened on the day of the first touch, and on its 90th day: converted.
    for opened in (touched, touched + dt.timedelta(days=90)):
        deal = Deal(opened_on=opened, closed_on=None)
        assert account_outcome(first_touch=touched, deals=[deal], today=late) == rates.CONVERTED
    # The 91st day is too late.
    deal = Deal(opened_on=touched + dt.timedelta(days=91), closed_on=None)
    assert account_outcome(first_touch=touched, deals=[deal], today=late) == rates.NOT_CONVERTED
    # A deal opened before and still open at the first touch (or closed that
    # very day) excludes the account; one closed the day before does not.
    for closed in (None, touched):
        deal = Deal(opened_on=dt.date(2025, 12, 1), closed_on=closed)
        assert account_outcome(first_touch=touched, deals=[deal], today=late) == rates.IN_A_DEAL
    deal = Deal(opened_on=dt.date(2025, 12, 1), closed_on=touched - dt.timedelta(days=1))
    assert account_outcome(first_touch=touched, deals=[deal], today=late) == rates.NOT_CONVERTED
    # The window's last day (touch + 90) must be before today, even when a deal opened.
    won = Deal(opened_on=touched + dt.timedelta(days=5), closed_on=None)
    last = touched + dt.timedelta(days=90)
    assert account_outcome(first_touch=touched, deals=[won], today=last) == rates.WINDOW_OPEN
    assert account_outcome(first_touch=touched, deals=[],
                           today=last + dt.timedelta(days=1)) == rates.NOT_CONVERTED  # fmt: skip


def group(label: str, accounts: int, converted: int) -> GroupRate:
    return GroupRate(key=label, label=label, accounts=accounts, converted=converted,
                     window_open=0, in_a_deal=0)  # fmt: skip


def test_groups_rank_by_their_interval_low_and_small_groups_are_never_ranked() -> None:
    groups = [
        group("lucky few", 29, 20),  # 69%, but 29 accounts: not ranked
        group("steady", 400, 100),  # 25% [0.21, 0.29]
        group("noisy", 30, 12),  # 40% [0.25, 0.58]: higher rate, lower bound about equal
        group("weak", 300, 15),  # 5%
        group("tiny", 3, 0),
    ]
    order = ranked(groups)
    assert [(g.label, g.rank) for g in order] == [
        ("noisy", 1), ("steady", 2), ("weak", 3), ("lucky few", None), ("tiny", None)]  # fmt: skip
    steady, weak = order[1], order[2]
    assert rates.against_base(steady, 0.10) == rates.ABOVE
    assert rates.against_base(weak, 0.10) == rates.BELOW
    assert rates.against_base(steady, 0.25) == rates.WITHIN
    assert rates.against_base(group("empty", 0, 0), 0.25) is None


# --- The report on the database ----------------------------------------------------


@pytest.mark.django_db
def test_program_conversion_by_hand_in_the_segment() -> None:
    s = conversion_scenario.build()
    data = report("program", s.segment.pk)
    assert data["segment"] == "Mid-market SaaS"
    # Base: A1 (5 Jan) and A6 (10 Feb; its 2 Jan touch is junk) convert; A2,
    # A5, A8 do not; A3 was in a deal; A4's window is open: 2 of 5.
    assert figures(data["base"]) == (5, 2, 1, 1, 0.4, 0.1176, 0.7693)
    assert by_group(data) == {
        # A1 converts, A2 not; A3 in a deal; A4 window open; A7 outside S.
        "Risk webinar": (2, 1, 1, 1, 0.5, 0.0945, 0.9055),
        # A2, A5 (deal 1 May: day 118), A8 not; A6 the same day: 1 of 4.
        "Nurture email": (4, 1, 0, 0, 0.25, 0.0456, 0.6994),
        "Summit webinar": (1, 1, 0, 0, 1.0, 0.2065, 1.0),
    }
    # Every group is under 30 accounts: none is ranked, none compared as ranked.
    assert [row["rank"] for row in data["rows"]] == [None, None, None]
    assert [row["group"] for row in data["rows"]] == ["Nurture email", "Risk webinar",
                                                      "Summit webinar"]  # fmt: skip
    assert {row["against_base"] for row in data["rows"]} == {"within"}


@pytest.mark.django_db
def test_without_a_segment_every_account_counts() -> None:
    conversion_scenario.build()
    data = report("program")
    assert data["segment"] is None
    # A7 joins: base 3 of 6, Risk webinar 2 of 3 (A1, A7 convert; A2 not).
    assert figures(data["base"])[:4] == (6, 3, 1, 1)
    assert by_group(data)["Risk webinar"][:4] == (3, 2, 1, 1)


@pytest.mark.django_db
def test_channel_content_type_and_first_touch_source_by_hand() -> None:
    s = conversion_scenario.build()
    segment = s.segment.pk
    # Webinar: P1 and P3 together, A1 counted once from its first (10 Jan).
    assert by_group(report("channel", segment)) == {
        "Webinar": (2, 1, 1, 1, 0.5, 0.0945, 0.9055),
        "Email": (4, 1, 0, 0, 0.25, 0.0456, 0.6994),
    }
    # /pricing: A1 (converts), A2 (does not); the Guide: A5 (does not).
    assert by_group(report("content", segment)) == {
        "/pricing": (2, 1, 0, 0, 0.5, 0.0945, 0.9055),
        "Guide": (1, 0, 0, 0, 0.0, 0.0, 0.7935),
    }
    types = by_group(report("activity_type", segment))
    assert types["Email click"] == (4, 1, 0, 0, 0.25, 0.0456, 0.6994)
    assert types["Webinar attended"] == (2, 1, 1, 1, 0.5, 0.0945, 0.9055)
    assert types["Pricing page view"][:2] == (1, 1)
    # First counted activity ever, in the period: A1's carries utm_source
    # LinkedIn; A2..A6 came from the "Web" source; A8's first is in December.
    assert by_group(report("first_touch_source", segment)) == {
        "Web": (3, 1, 1, 1, 1 / 3, 0.0615, 0.7923),
        "linkedin": (1, 1, 0, 0, 1.0, 0.2065, 1.0),
    }


@pytest.mark.django_db
def test_after_retention_the_first_touch_stays_before_the_period_and_a_partial_period_says_so() -> (
    None
):
    s = conversion_scenario.build()
    segment = s.segment.pk
    before = by_group(report("first_touch_source", segment))
    assert report("program", segment)["activity_from"] is None
    ActivityPending.objects.all().delete()  # rolled up
    # Five months kept before June: A8's December page view is dropped, so its
    # first live activity is now 25 January, inside the period; it was first
    # touched in December all the same, and stays out of the first touches.
    result = activity_retention_apply(months=5, now=dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))
    assert result.activities_dropped == 1
    assert by_group(report("first_touch_source", segment)) == before
    data = report("program", segment)
    assert data["activity_from"] == dt.date(2026, 1, 1)
    assert data["period_partly_dropped"] is False
    earlier = conversion_report(ConversionQuery(
        dimension="program", start=dt.date(2025, 12, 1), end=END, segment_id=segment, today=TODAY,
    ))  # fmt: skip
    assert earlier["period_partly_dropped"] is True


@pytest.mark.django_db
def test_an_unknown_segment_is_refused() -> None:
    with pytest.raises(SegmentNotFound):
        report("program", 999_999)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("dimension", "queries"),
    [("program", 6), ("channel", 6), ("content", 5), ("activity_type", 5),
     ("first_touch_source", 5)],
)  # fmt: skip
def test_the_report_reads_a_fixed_number_of_queries(
    dimension: str, queries: int, django_assert_num_queries: Any
) -> None:
    # The segment, the retention cutoff, (the programs), the groups' first
    # touches, the base's, the deals.
    s = conversion_scenario.build()
    with django_assert_num_queries(queries):
        small = report(dimension, s.segment.pk)
    conversion_scenario.more_accounts(s, 12)
    with django_assert_num_queries(queries):
        large = report(dimension, s.segment.pk)
    assert large["base"]["accounts"] == small["base"]["accounts"] + 12
