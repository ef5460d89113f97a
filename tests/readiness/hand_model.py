"""A hand-written readiness model and a small world to serve it on (a plain
helper, not a test module): three members of one segment whose every figure
tests/readiness/test_serving.py works out by hand; the served API, the account
page and the browser tests reuse it."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.utils import timezone

from accounts.models import ICPSegment
from readiness.feature_names import FEATURE_NAMES
from readiness.models import ReadinessModel, ReadinessModelStatus
from tests.factories import (
    ActivityFactory,
    EngagementSnapshotFactory,
    ICPSegmentFactory,
    UserFactory,
    segment_member,
)
from tests.readiness.history import at

TODAY = dt.date(2026, 12, 1)
YESTERDAY = dt.date(2026, 11, 30)

# z = -4 + 0.045 * score + 1.2 * demo_interest_30d - 0.8 * tier_unknown (no
# scaling: mean 0, scale 1; a missing score is imputed as 50), calibrated as
# p = 1 / (1 + exp(-2 z + 0.5)), so each term moves the calibrated log-odds by
# twice its size.
COEF = {"score": 0.045, "demo_interest_30d": 1.2, "tier_unknown": -0.8}
RELIABILITY = [
    {"bin": 1, "count": 100, "mean_predicted": 0.05, "observed_rate": 0.12, "positives": 12},
    {"bin": 2, "count": 50, "mean_predicted": 0.80, "observed_rate": 0.80, "positives": 40},
]


def parameters() -> dict[str, Any]:
    n = len(FEATURE_NAMES)
    return {
        "kind": "logistic_platt",
        "feature_names": list(FEATURE_NAMES),
        "impute": [50.0 if name == "score" else 0.0 for name in FEATURE_NAMES],
        "log": [False] * n,
        "mean": [0.0] * n,
        "scale": [1.0] * n,
        "coef": [COEF.get(name, 0.0) for name in FEATURE_NAMES],
        "intercept": -4.0,
        "calibration": {"a": -2.0, "b": 0.5, "split": "time"},
    }


def hand_model(segment: ICPSegment, *, version: int = 1, **fields: Any) -> ReadinessModel:
    values: dict[str, Any] = {
        "status": ReadinessModelStatus.TRAINED,
        "feature_names": list(FEATURE_NAMES),
        "parameters": parameters(),
        "metrics": {
            "metrics": {
                "model": {"auc": 0.81, "reliability": RELIABILITY},
                "score": {"auc": 0.74, "reliability": []},
                "mql": {"auc": 0.58, "reliability": []},
            }
        },
        **fields,
    }
    return ReadinessModel.objects.create(
        segment=segment, version=version, trained_at=timezone.now(), as_of=TODAY, **values
    )


def calibrated(z: float) -> float:
    return 1 / (1 + math.exp(-2 * z + 0.5))


class World:
    def __init__(self) -> None:
        self.segment = ICPSegmentFactory.create()
        # warm: score 60 yesterday, a demo request on 20 November, no tier
        self.warm = segment_member(self.segment, tier=None)
        # hot: score 90 yesterday, a demo request, tier 1
        self.hot = segment_member(self.segment, tier=1, owner=UserFactory.create())
        # unknown: no snapshot yesterday (score imputed as 50), no activity, tier 1
        self.unknown = segment_member(self.segment, tier=1)
        for account, score in ((self.warm, 60), (self.hot, 90)):
            EngagementSnapshotFactory.create(
                account=account, segment=self.segment, day=YESTERDAY, score=score
            )
            ActivityFactory.create(
                account=account, type="demo_request", occurred_at=at(dt.date(2026, 11, 20))
            )
