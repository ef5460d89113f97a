"""At 2,000 accounts every demo campaign's lift interval holds its true effect,
and "what converts" ranks the programs in the order the generator planted
(catalogue.DEAL_LIFTS) within their intervals.

The generator knows each campaign's true effect on engagement: the treated
targets' score change minus the change of the same histories generated without
the campaign (`campaign_true_effects`). The report estimates it from
treated minus holdout, through the API, on snapshots the seed backfilled.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Max, Min
from pytest_django import DjangoDbBlocker
from rest_framework.test import APIClient

from campaigns.models import Campaign
from campaigns.reports.conversion import ConversionQuery, conversion_report
from demo.catalogue import DEAL_LIFTS, PROGRAM_SPECS
from demo.dataset import WINDOW_DAYS, DemoDataset
from demo.histories import campaign_true_effects
from demo.process import demo_dataset_generate
from engagement.models import EngagementSnapshot
from tests.proof_figures import record

TODAY = date(2026, 3, 31)
ACCOUNTS = 2000


@pytest.fixture(scope="module")
def large_demo(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[DemoDataset]:
    """The 2,000-account demo, seeded once and rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", "--accounts", str(ACCOUNTS), "--today", TODAY.isoformat(),
                     stdout=StringIO(), stderr=StringIO())  # fmt: skip
        yield demo_dataset_generate(accounts=ACCOUNTS, seed=42, today=TODAY)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_snapshots_cover_the_whole_history(large_demo: DemoDataset) -> None:
    span = EngagementSnapshot.objects.aggregate(first=Min("day"), last=Max("day"))
    assert (span["first"], span["last"]) == (TODAY - timedelta(days=WINDOW_DAYS), TODAY)


@pytest.mark.django_db
def test_each_campaign_interval_holds_its_true_effect_with_the_right_sign(
    large_demo: DemoDataset, executive: APIClient
) -> None:
    truth = campaign_true_effects(large_demo)
    assert set(truth) == set(Campaign.objects.values_list("name", flat=True))
    for campaign in Campaign.objects.all():
        effect = truth[campaign.name]
        url = f"/api/reports/campaigns/{campaign.pk}/?start={effect.start}&end={effect.end}"
        lift = executive.get(url).json()["campaign"]["lift"]
        assert lift["kind"] == "holdout" and lift["reason"] is None, campaign.name
        # Every treated target is measured, on snapshots or from history.
        assert (lift["treated"], lift["not_measured"]) == (effect.treated, 0), campaign.name
        # The product's scores are the generator's: the treated arm's mean change agrees.
        assert lift["treated_mean"] == pytest.approx(effect.treated_change, abs=1e-6)
        assert lift["low"] <= effect.effect <= lift["high"], (campaign.name, effect, lift)
        assert effect.effect > 0 and lift["estimate"] > 0, campaign.name


@pytest.mark.django_db
def test_what_converts_ranks_the_programs_in_their_planted_order_within_their_intervals(
    large_demo: DemoDataset,
) -> None:
    assert set(DEAL_LIFTS) == {spec.key for spec in PROGRAM_SPECS}
    # The selector the API and the page call, on the demo's own today: its
    # history stops there, so a later clock would read windows with no data
    # after TODAY as closed without a deal.
    report = conversion_report(ConversionQuery(
        dimension="program", start=TODAY - timedelta(days=364), end=TODAY, today=TODAY,
    ))  # fmt: skip
    rows = report["rows"]
    keys = dict(Campaign.objects.values_list("programs__id", "programs__tracking_key"))
    planted = {row["group"]: DEAL_LIFTS[keys[int(row["key"])]] for row in rows}
    assert len(rows) == len(DEAL_LIFTS)
    for row in rows:
        record("what converts", f"{row['rank'] or '-':>2} {row['group'][:34]:34} planted "
               f"+{planted[row['group']]:.1f}: {row['converted']}/{row['accounts']} = "
               f"{row['rate']:.1%} [{row['low']:.1%}, {row['high']:.1%}]")  # fmt: skip
    # Never a weaker planted program's whole interval above a stronger one's.
    for strong in rows:
        for weak in rows:
            if planted[strong["group"]] > planted[weak["group"]]:
                assert not strong["high"] < weak["low"], (strong, weak)
    ranked = [row for row in rows if row["ranked"]]
    assert len(ranked) >= 6
    # The strongest planted program that is ranked comes first, and the one
    # that plants nothing (display) lies wholly below it.
    assert max(ranked, key=lambda r: planted[r["group"]]) is ranked[0]
    nothing = next(row for row in rows if planted[row["group"]] == 0)
    assert nothing["high"] < ranked[0]["low"]
    # Rank agreement (Kendall's tau) between planted lift and rank.
    pairs = [(a, b) for i, a in enumerate(ranked) for b in ranked[i + 1 :]]
    agree = sum(1 if planted[a["group"]] > planted[b["group"]] else -1 for a, b in pairs)
    tau = agree / len(pairs)
    record("what converts", f"Kendall tau, planted lift against rank: {tau:.2f} "
           f"over {len(ranked)} ranked programs")  # fmt: skip
    assert tau > 0.3
