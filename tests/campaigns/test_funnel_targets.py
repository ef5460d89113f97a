"""The funnel's "targeted" stage: targets of campaigns running in the period only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from accounts.models import Account, SegmentMembership
from campaigns.models import CampaignTarget
from campaigns.reports.funnel import funnel_report, segment_funnels
from campaigns.reports.measurement import measurement_load
from tests.campaigns import scenario
from tests.campaigns.scenario import END, START
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ICPSegmentFactory,
    OpportunityFactory,
)

pytestmark = pytest.mark.django_db


def _targets(campaign_dates: tuple[dt.date, dt.date], n: int) -> list[Account]:
    campaign = CampaignFactory.create(starts_on=campaign_dates[0], ends_on=campaign_dates[1])
    accounts = AccountFactory.create_batch(n)
    for account in accounts:
        CampaignTarget.objects.create(campaign=campaign, account=account)
        # A deal in the period, so the later stages would count them too.
        OpportunityFactory.create(account=account, opened_on=dt.date(2026, 2, 1))
    return accounts


def test_targets_of_campaigns_not_running_in_the_period_are_not_targeted() -> None:
    s = scenario.build()
    _targets((dt.date(2026, 4, 1), dt.date(2026, 6, 30)), 4)  # starts after the period
    _targets((dt.date(2025, 9, 1), dt.date(2025, 12, 31)), 2)  # ended the day before it
    edge = _targets((dt.date(2026, 3, 31), dt.date(2026, 5, 31)), 1)  # starts on its last day
    data = measurement_load(start=START, end=END)
    funnel = funnel_report(data)
    steps = {step["stage"]: step["accounts"] for step in funnel["steps"]}
    # Recomputed from the rows: treated targets of campaigns whose dates overlap.
    expected = set(
        CampaignTarget.objects.filter(
            in_holdout=False, campaign__starts_on__lte=END, campaign__ends_on__gte=START
        ).values_list("account_id", flat=True)
    )
    assert expected == {s.accounts[n].pk for n in ("A1", "A2", "A3")} | {edge[0].pk}
    assert steps["targeted"] == len(expected) == 4
    assert steps["opportunity"] == 4  # A1, A2, A3 and the edge account
    assert funnel["opportunities"] == 5
    # Asking for a campaign that had not started gives an empty funnel.
    later = CampaignTarget.objects.filter(campaign__starts_on=dt.date(2026, 4, 1)).first()
    assert later is not None
    empty = funnel_report(data, campaign_ids={later.campaign_id})
    assert [step["accounts"] for step in empty["steps"]] == [0, 0, 0, 0, 0]


def test_a_won_deal_without_an_amount_is_left_out_of_the_average() -> None:
    s = scenario.build()
    OpportunityFactory.create(
        account=s.accounts["A3"], amount=None, status="won",
        opened_on=dt.date(2026, 2, 1), close_on=dt.date(2026, 2, 11),
    )  # fmt: skip
    funnel = funnel_report(measurement_load(start=START, end=END))
    # Won: O1 (90,000) and the deal without an amount; the average is O1's alone.
    assert funnel["average_deal_size"] == 90000.0
    assert funnel["cycle_time_days"] == (19 + 10) / 2


@pytest.mark.parametrize("segments", [1, 10])
def test_every_segments_funnel_in_two_queries_by_hand(
    segments: int, django_assert_num_queries: Any
) -> None:
    """The scenario's segment holds all five targets (3 -> 2 -> 1 -> 3 -> 1);
    each extra segment holds A2 only: targeted 1, engaged 1 (50), not
    qualified, O2 and O3 opened, none won. A segment with no target: zeros."""
    s = scenario.build()
    extra = [ICPSegmentFactory.create(name=f"Extra {i:02}") for i in range(segments)]
    for segment in extra:
        SegmentMembership.objects.create(segment=segment, account=s.accounts["A2"])
    ICPSegmentFactory.create(name="Zz empty")
    data = measurement_load(start=START, end=END)
    with django_assert_num_queries(2):
        rows = segment_funnels(data)
    counts = {r["segment"]: [step["accounts"] for step in r["steps"]] for r in rows}
    assert [r["segment"] for r in rows] == sorted(counts)
    spring = next(r for r in rows if r["segment_id"] == s.campaign.segment_id)
    assert [step["accounts"] for step in spring["steps"]] == [3, 2, 1, 3, 1]
    for segment in extra:
        assert counts[segment.name] == [1, 1, 0, 1, 0]
        row = next(r for r in rows if r["segment_id"] == segment.pk)
        assert row["opportunities"] == 2 and row["win_rate"] == 0.0  # O3 lost, O2 open
    assert counts["Zz empty"] == [0, 0, 0, 0, 0]
