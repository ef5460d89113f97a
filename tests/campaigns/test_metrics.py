"""Campaign measurement math, checked against hand-computed values."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from campaigns import metrics


@pytest.mark.parametrize(
    ("df", "table"),
    # Two-sided 95% critical values of Student's t from printed tables.
    [(1, 12.7062), (2, 4.3027), (3, 3.1824), (4, 2.7764), (10, 2.2281), (30, 2.0423),
     (1e7, 1.9600)],
)  # fmt: skip
def test_t_quantile_matches_the_printed_table(df: float, table: float) -> None:
    assert metrics.student_t_quantile(0.975, df) == pytest.approx(table, abs=5e-5)
    assert metrics.student_t_quantile(0.025, df) == pytest.approx(-table, abs=5e-5)


def test_t_cdf_at_known_points() -> None:
    assert metrics.student_t_cdf(0.0, 5) == pytest.approx(0.5)
    # df = 1 is the Cauchy distribution: P(T <= 1) = 3/4.
    assert metrics.student_t_cdf(1.0, 1) == pytest.approx(0.75)
    # df = 2 has a closed form: 1/2 + t / (2 sqrt(2 + t^2)).
    assert metrics.student_t_cdf(1.5, 2) == pytest.approx(0.5 + 1.5 / (2 * math.sqrt(4.25)))


def test_welch_lift_and_its_interval_by_hand() -> None:
    # treated 2, 4, 6: mean 4, variance 4; holdout 0, 2, 4: mean 2, variance 4.
    # se^2 = 4/3 + 4/3 = 8/3; df = (8/3)^2 / (2 * (4/3)^2 / 2) = 4; t(0.975, 4) = 2.776445.
    lift = metrics.lift_welch([2, 4, 6], [0, 2, 4])
    half = 2.776445105 * math.sqrt(8 / 3)
    assert lift.kind == "holdout"
    assert lift.estimate == 2.0 and lift.df == pytest.approx(4.0)
    assert (lift.low, lift.high) == (pytest.approx(2 - half), pytest.approx(2 + half))
    # Unequal variances: treated 60, 30, 30 (mean 40, var 300); holdout 10, 0
    # (mean 5, var 50): se^2 = 100 + 25; df = 125^2 / (100^2/2 + 25^2/1) = 2.7778.
    lift = metrics.lift_welch([60, 30, 30], [10, 0])
    assert lift.estimate == 35.0 and lift.df == pytest.approx(15625 / 5625)
    t = metrics.student_t_quantile(0.975, 15625 / 5625)
    assert 3.18 < t < 4.31  # between the df = 3 and df = 2 table values
    assert lift.high == pytest.approx(35 + t * math.sqrt(125))


def test_without_a_holdout_the_lift_is_labelled_pre_post() -> None:
    # mean 4, variance 4, se = sqrt(4/3), df 2, t = 4.302653.
    lift = metrics.lift_welch([2, 4, 6], [7])
    assert lift.kind == "pre_post" and lift.estimate == 4.0 and lift.holdout_mean is None
    assert lift.low == pytest.approx(4 - 4.302653 * math.sqrt(4 / 3), abs=1e-5)
    lonely = metrics.lift_welch([3], [])
    assert (lonely.kind, lonely.estimate, lonely.low) == ("pre_post", 3.0, None)
    assert metrics.lift_welch([], [1, 2]).estimate is None
    flat = metrics.lift_welch([1, 1], [0, 0])
    assert (flat.low, flat.high) == (1.0, 1.0)


def test_even_split_adds_up_to_the_cent() -> None:
    shares = metrics.even_split(Decimal("100.00"), [3, 1, 2])
    assert shares == {1: Decimal("33.34"), 2: Decimal("33.33"), 3: Decimal("33.33")}
    assert sum(shares.values()) == Decimal("100.00")
    odd = metrics.even_split(Decimal("0.005"), [4, 5])
    assert sum(odd.values()) == Decimal("0.005")
    assert metrics.even_split(Decimal(10), []) == {}
    assert metrics.even_share(4) == 0.25


def test_influence_window_is_inclusive_and_after_the_first_touch() -> None:
    touch = dt.date(2026, 1, 1)
    assert metrics.influenced(first_touch=touch, opened_on=touch, window_days=90)
    assert metrics.influenced(first_touch=touch, opened_on=dt.date(2026, 4, 1), window_days=90)
    assert not metrics.influenced(first_touch=touch, opened_on=dt.date(2026, 4, 2), window_days=90)
    assert not metrics.influenced(first_touch=touch, opened_on=dt.date(2025, 12, 31),
                                  window_days=90)  # fmt: skip


def test_ratios_never_divide_by_zero() -> None:
    assert metrics.ratio(10, 4) == 2.5
    assert metrics.ratio(Decimal("1000"), 0) is None
    assert metrics.ratio(None, 3) is None and metrics.ratio(3, None) is None
    assert metrics.win_rate(won=3, lost=1) == 0.75
    assert metrics.win_rate(won=0, lost=0) is None
    assert metrics.average([Decimal(10), Decimal(20)]) == 15.0
    assert metrics.average([]) is None
    pairs = [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 11)),
    ]
    assert metrics.cycle_days(pairs) == 20.0


def test_funnel_conversions() -> None:
    steps = metrics.funnel({"targeted": 200, "engaged": 50, "qualified": 20, "opportunity": 5,
                            "won": 0})  # fmt: skip
    assert [(s.stage, s.accounts, s.from_previous, s.from_first) for s in steps] == [
        ("targeted", 200, None, None), ("engaged", 50, 0.25, 0.25),
        ("qualified", 20, 0.4, 0.1), ("opportunity", 5, 0.25, 0.025), ("won", 0, 0.0, 0.0),
    ]  # fmt: skip
    assert metrics.funnel({})[1].from_previous is None


def test_pipeline_plan_arithmetic() -> None:
    # T = 1,000,000, w = 0.25, d = 40,000, c = 60: pipeline 4,000,000; 100 deals.
    needs = metrics.plan_needs(
        revenue_target=Decimal("1000000"), win_rate=Decimal("0.25"),
        average_deal_size=Decimal("40000"), cycle_time_days=60,
        period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 9, 30),
    )  # fmt: skip
    assert needs.required_pipeline == Decimal("4000000.00")
    assert needs.required_opportunities == Decimal("100.00")
    assert needs.opportunities_to_open == 100
    assert (needs.open_from, needs.open_until) == (dt.date(2026, 5, 2), dt.date(2026, 8, 1))
    odd = metrics.plan_needs(
        revenue_target=Decimal("100000"), win_rate=Decimal("0.3"),
        average_deal_size=Decimal("25000"), cycle_time_days=0,
        period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 1, 31),
    )  # fmt: skip
    assert odd.required_pipeline == Decimal("333333.33")
    assert odd.required_opportunities == Decimal("13.33") and odd.opportunities_to_open == 14
    with pytest.raises(ValueError, match="win rate"):
        metrics.plan_needs(
            revenue_target=Decimal(1),
            win_rate=Decimal(0),
            average_deal_size=Decimal(1),
            cycle_time_days=1,
            period_start=dt.date(2026, 1, 1),
            period_end=dt.date(2026, 1, 2),
        )
    assert metrics.months_between(dt.date(2026, 1, 15), dt.date(2026, 3, 1)) == [
        dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]  # fmt: skip
