"""Accounts with readiness written by hand (issue 19, part 4), for the tests
of what is served: the account list (page, CSV, API) and the account page.

Fintech: Alpha 62% (band 50-71% of 120), Bravo 30% (22-37% of 138), Charlie
in fallback (the reason below), Delta not scored (no row); engagement scores
70, 45, 80, 20. Every figure the tests expect is written here, in full."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from accounts.models import Account, ICPSegment
from engagement.models import AccountReadiness
from tests.factories import (
    AccountEngagementFactory,
    AccountFactory,
    ICPSegmentFactory,
    ScoringModelFactory,
    SegmentMembershipFactory,
)

FALLBACK_REASON = "too little history: 3 accounts opened an opportunity and 40 did not"


@dataclass
class ServedWorld:
    segment: ICPSegment
    alpha: Account
    bravo: Account
    charlie: Account
    delta: Account


def readiness_write(
    account: Account,
    segment: ICPSegment,
    probability: float | None,
    band: tuple[float, float, int] | None = None,
    *,
    fallback_reason: str = "",
    reasons_up: list[dict[str, Any]] | None = None,
    reasons_down: list[dict[str, Any]] | None = None,
) -> AccountReadiness:
    low, high, count = band if band is not None else (None, None, None)
    return AccountReadiness.objects.create(
        account=account,
        segment=segment,
        model_version=1,
        probability=probability,
        band_low=low,
        band_high=high,
        band_count=count,
        reasons_up=reasons_up or [],
        reasons_down=reasons_down or [],
        fallback_reason=fallback_reason,
        features_as_of=timezone.now().date(),
        scored_at=timezone.now(),
    )


def served_world(*, owner: Any = None) -> ServedWorld:
    segment = ICPSegmentFactory.create(name="Fintech")
    ScoringModelFactory.create(segment=segment)
    accounts = {}
    for name, score in (("Alpha", 70), ("Bravo", 45), ("Charlie", 80), ("Delta", 20)):
        account = AccountFactory.create(name=name, domain=f"{name.lower()}.example", owner=owner)
        SegmentMembershipFactory.create(segment=segment, account=account)
        AccountEngagementFactory.create(account=account, segment=segment, score=score)
        accounts[name] = account
    readiness_write(accounts["Alpha"], segment, 0.62, (0.50, 0.71, 120))
    readiness_write(accounts["Bravo"], segment, 0.30, (0.22, 0.37, 138))
    readiness_write(accounts["Charlie"], segment, None, fallback_reason=FALLBACK_REASON)
    return ServedWorld(
        segment=segment,
        alpha=accounts["Alpha"],
        bravo=accounts["Bravo"],
        charlie=accounts["Charlie"],
        delta=accounts["Delta"],
    )
