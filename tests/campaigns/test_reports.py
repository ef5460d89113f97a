"""Measurement selectors over the hand-computed scenario (tests/campaigns/scenario.py)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import pytest

from campaigns import metrics
from campaigns.reports.attribution import NO_PROGRAM, PERIOD_TOTAL, pipeline_lines
from campaigns.reports.funnel import funnel_report
from campaigns.reports.measurement import measurement_load
from campaigns.reports.programs import campaign_rows, channel_rows, program_rows
from campaigns.reports.sources import source_rows
from tests.campaigns import scenario
from tests.campaigns.scenario import END, START
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def by(rows: list[dict], key: str) -> dict[Any, dict]:
    return {row[key]: row for row in rows}


def test_program_numbers_by_hand() -> None:
    s = scenario.build()
    data = measurement_load(start=START, end=END)
    rows = by(program_rows(data), "program_id")
    p1, p2 = rows[s.p1.pk], rows[s.p2.pk]
    assert p1["spend"] == Decimal("1000") and p2["spend"] == Decimal("500")
    assert (p1["accounts_targeted"], p1["accounts_touched"]) == (3, 2)
    assert (p1["accounts_engaged"], p1["accounts_qualified"]) == (2, 1)  # A1, A2; A1
    # O1 (90,000, won) is shared by P1 and P2; O2 (10,000) is P1's alone.
    assert p1["opportunities_influenced"] == 2 and p1["opportunities_attributed"] == 1.5
    assert p1["pipeline_influenced"] == Decimal("100000")
    assert p1["pipeline_attributed"] == Decimal("55000")
    assert (p1["won_influenced"], p1["won_attributed"]) == (1, 0.5)
    assert p1["won_revenue_attributed"] == Decimal("45000")
    assert p2["pipeline_attributed"] == Decimal("45000")
    assert p1["cost_per_engaged_account"] == 500.0
    assert p1["cost_per_qualified_account"] == 1000.0
    assert p1["cost_per_opportunity"] == pytest.approx(1000 / 1.5)
    assert p1["cost_per_acquisition"] == 2000.0
    assert (p1["pipeline_per_spend"], p2["pipeline_per_spend"]) == (55.0, 90.0)
    assert p1["won_revenue_per_spend"] == 45.0
    # P1 lift: touched treated A1 (60), A2 (30) against holdout H1 (10), H2 (0).
    assert p1["lift"]["estimate"] == 40.0 and p1["lift"]["kind"] == "holdout"
    assert p1["lift_per_spend"] == 0.04
    assert p1["engaged_to_opportunity"] == 1.0 and p1["win_rate"] == 1.0  # O2 is still open
    assert p1["close_rate"] == 0.5


def test_campaign_and_channel_numbers_by_hand() -> None:
    s = scenario.build()
    data = measurement_load(start=START, end=END)
    campaign = campaign_rows(data)[0]
    assert campaign["campaign_id"] == s.campaign.pk and campaign["spend"] == Decimal("1500")
    # Attributed pipeline adds up to the influenced deals' whole: 90,000 + 10,000.
    assert campaign["pipeline_attributed"] == Decimal("100000")
    assert campaign["opportunities_attributed"] == 2.0
    # Intention to treat: A1 60, A2 30, A3 30 against H1 10, H2 0.
    lift = campaign["lift"]
    assert (lift["estimate"], lift["treated"], lift["holdout"]) == (35.0, 3, 2)
    t = metrics.student_t_quantile(0.975, 15625 / 5625)
    assert lift["low"] == pytest.approx(35 - t * math.sqrt(125))
    channels = by(channel_rows(data), "channel")
    assert set(channels) == {"webinar", "email"}
    assert channels["email"]["spend"] == Decimal("500")
    assert channels["email"]["cost_per_opportunity"] == 1000.0  # 500 / 0.5
    total = sum(row["pipeline_attributed"] for row in program_rows(data))
    assert total == Decimal("100000")


def test_influence_window_is_configurable() -> None:
    s = scenario.build()
    narrow = measurement_load(start=START, end=END, window_days=30)
    rows = by(program_rows(narrow), "program_id")
    # With 30 days only P2 (28 days before O1) influenced anything.
    assert rows[s.p1.pk]["opportunities_influenced"] == 0
    assert rows[s.p2.pk]["pipeline_attributed"] == Decimal("90000")


def test_funnel_and_sources_by_hand() -> None:
    s = scenario.build()
    data = measurement_load(start=START, end=END)
    funnel = funnel_report(data, campaign_ids={s.campaign.pk})
    assert [(step["stage"], step["accounts"]) for step in funnel["steps"]] == [
        ("targeted", 3),
        ("engaged", 2),
        ("qualified", 1),
        ("opportunity", 3),
        ("won", 1),
    ]
    assert funnel["steps"][1]["from_previous"] == pytest.approx(2 / 3)
    assert funnel["opportunities"] == 4 and funnel["win_rate"] == 0.5
    assert funnel["average_deal_size"] == 90000.0 and funnel["cycle_time_days"] == 19.0
    sources = by(source_rows(data), "source")
    marketing, other = sources["marketing"], sources["other"]
    assert (marketing["opportunities"], marketing["close_rate"], marketing["win_rate"]) == (
        1,
        1.0,
        1.0,
    )
    assert (other["opportunities"], other["close_rate"], other["win_rate"]) == (3, 0.0, 0.0)
    assert marketing["engaged_to_opportunity"] == 0.5  # A1 of engaged A1, A2
    assert other["engaged_to_opportunity"] == 0.5  # A2 (A3 has a deal but is not engaged)
    assert marketing["cost_per_opportunity"] == 1500.0
    assert marketing["win_rate_by_month"] == {"2026-03": 1.0}
    assert other["win_rate_by_month"] == {"2026-01": 0.0, "2026-02": None, "2026-03": None}


def test_deals_without_an_account_count_in_the_period_and_for_no_program() -> None:
    """The scenario plus two deals not assigned to an account yet: a won
    marketing deal (7,000) and an open one of another source (3,000). They are
    the period's pipeline, influenced by no program, nobody's funnel step."""
    s = scenario.build()
    OpportunityFactory.create(account=None, amount=Decimal("7000"), status="won",
                              source="marketing", opened_on=dt.date(2026, 2, 20),
                              close_on=dt.date(2026, 3, 10))  # fmt: skip
    OpportunityFactory.create(account=None, amount=Decimal("3000"), source="partner",
                              opened_on=dt.date(2026, 3, 5))  # fmt: skip
    data = measurement_load(start=START, end=END)
    rows = by(program_rows(data), "program_id")
    assert rows[s.p1.pk]["pipeline_attributed"] == Decimal("55000")  # as without them
    assert rows[s.p2.pk]["pipeline_attributed"] == Decimal("45000")
    lines = by(pipeline_lines(data, label="program", listed_program_ids={s.p1.pk, s.p2.pk}),
               "program")  # fmt: skip
    # No program: O3 (5,000, lost, opened before A2's touch), O4 (1,000, A3
    # untouched) and the two deals without an account.
    none, total = lines[NO_PROGRAM], lines[PERIOD_TOTAL]
    assert (none["opportunities_influenced"], none["pipeline_attributed"]) == (4, Decimal("16000"))
    assert (none["won_influenced"], none["won_revenue_attributed"]) == (1, Decimal("7000"))
    assert (total["opportunities_influenced"], total["pipeline_attributed"]) == (
        6,
        Decimal("116000"),
    )
    funnel = funnel_report(data, campaign_ids={s.campaign.pk})
    assert [step["accounts"] for step in funnel["steps"]] == [3, 2, 1, 3, 1]  # as without them
    assert funnel["opportunities"] == 4
    sources = by(source_rows(data), "source")
    marketing, other = sources["marketing"], sources["other"]
    # Marketing: O1 and the won deal without an account; the rest: O2, O3, O4, the open one.
    assert (marketing["opportunities"], marketing["won"]) == (2, 2)
    assert marketing["won_revenue"] == Decimal("97000")
    assert (other["opportunities"], other["win_rate"]) == (4, 0.0)
    # Conversions are of accounts: a deal without one converts nobody.
    assert marketing["engaged_to_opportunity"] == 0.5
    assert other["engaged_to_opportunity"] == 0.5
    assert marketing["cost_per_opportunity"] == 750.0


@pytest.mark.parametrize("extra", [0, 6])
def test_loading_costs_ten_queries_whatever_the_size(
    extra: int, django_assert_num_queries: Any
) -> None:
    scenario.build()
    scenario.grow(extra)
    # The targets' scores come from their snapshots: nothing to compute from
    # history. The engaged and qualified accounts are one query, the period's
    # whole months' peaks and the daily rest together.
    with django_assert_num_queries(10):
        data = measurement_load(start=START, end=END)
    assert len(data.programs) == 2 + extra


def test_influence_window_edges_by_hand() -> None:
    """Each program's first touch on the deal's account at an edge of the
    window (UTC days): the day it opened, late that evening, counts; so does
    the window's first day at midnight; the day before it, late, and the day
    after the deal opened, at midnight, do not. The report narrows the pairs in
    SQL per deal; this pins the narrowing to the rule's own edges."""
    from campaigns.models import Touch
    from tests.factories import AccountFactory, ProgramFactory

    account = AccountFactory.create()
    opened = dt.date(2026, 3, 20)
    deal = OpportunityFactory.create(account=account, opened_on=opened, amount=Decimal("900"))
    utc = dt.UTC
    firsts = {
        "opened day, 23:59": dt.datetime(2026, 3, 20, 23, 59, 59, tzinfo=utc),
        "window start, 00:00": dt.datetime(2025, 12, 20, 0, 0, tzinfo=utc),  # 90 days before
        "day before the window, 23:59": dt.datetime(2025, 12, 19, 23, 59, 59, tzinfo=utc),
        "day after opened, 00:00": dt.datetime(2026, 3, 21, 0, 0, tzinfo=utc),
    }
    programs = {}
    for label, first in firsts.items():
        program = ProgramFactory.create(name=label)
        Touch.objects.create(program=program, account=account, first_touch_at=first,
                             last_touch_at=first + dt.timedelta(days=1), touch_count=1)  # fmt: skip
        programs[label] = program.pk
    data = measurement_load(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), window_days=90)
    assert data.influencers == {
        deal.pk: {programs["opened day, 23:59"], programs["window start, 00:00"]}
    }
    # The two share the deal evenly: 450 each.
    rows = by(program_rows(data), "program_id")
    assert [rows[programs[label]]["pipeline_attributed"] for label in firsts] == [
        Decimal("450"), Decimal("450"), Decimal("0"), Decimal("0"),
    ]  # fmt: skip


def test_a_one_day_period_measures_each_target_from_that_days_snapshot() -> None:
    """Start and end the same day: both ends read the one snapshot (a change of
    0, measured), not a missing second day; a target without a snapshot that
    day and no activity scores 0 on it (computed), also a change of 0."""
    from campaigns.models import CampaignTarget
    from tests.factories import (
        CampaignFactory,
        EngagementSnapshotFactory,
        ICPSegmentFactory,
        ScoringModelFactory,
        segment_member,
    )

    day = dt.date(2026, 3, 10)
    segment = ICPSegmentFactory.create()
    ScoringModelFactory.create(segment=segment)
    campaign = CampaignFactory.create(segment=segment)
    snapped, quiet = segment_member(segment), segment_member(segment)
    for account in (snapped, quiet):
        CampaignTarget.objects.create(campaign=campaign, account=account, in_holdout=False)
    EngagementSnapshotFactory.create(account=snapped, segment=segment, day=day, score=42)
    data = measurement_load(start=day, end=day)
    assert data.lift_reason is None
    assert data.targets[campaign.pk] == {snapped.pk: (False, 0), quiet.pk: (False, 0)}
