"""A synthetic history with a known generating process, for the model tests:
rows in the layout of readiness.feature_names whose label is drawn from a known
logistic function of two features, so the true probability of every row is known.

    P(open within 90 days) = 1 / (1 + exp(-(-4.0 + 0.045 * score + 1.2 * demo_interest_30d)))

`score` is uniform on 0-100 (NaN with `score_missing` = 1 for one row in
twenty, where the truth reads it as 0), demo interest is 1 for one row in six;
the other features are noise (counts unrelated to the label)."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from readiness.feature_names import FEATURE_INDEX, FEATURE_NAMES
from readiness.months import month_ends_between

INTERCEPT, SCORE_WEIGHT, DEMO_WEIGHT = -4.0, 0.045, 1.2


def true_probability(score: float, demo: float) -> float:
    z = INTERCEPT + SCORE_WEIGHT * (0.0 if math.isnan(score) else score) + DEMO_WEIGHT * demo
    return 1.0 / (1.0 + math.exp(-z))


@dataclass
class Synthetic:
    features: list[list[float]]
    labels: list[int]
    month_ends: list[dt.date]
    account_ids: list[int]
    truth: list[float]


def synthetic_history(
    *, accounts: int, months: int = 10, seed: int = 19, first: dt.date = dt.date(2025, 11, 1)
) -> Synthetic:
    rng = random.Random(seed)
    ends = month_ends_between(first, first + dt.timedelta(days=31 * months - 1))[:months]
    data = Synthetic([], [], [], [], [])
    for end in ends:
        for account in range(1, accounts + 1):
            row = [0.0] * len(FEATURE_NAMES)
            missing = rng.random() < 0.05
            score = math.nan if missing else rng.uniform(0, 100)
            demo = 1.0 if rng.random() < 1 / 6 else 0.0
            row[FEATURE_INDEX["score"]] = score
            row[FEATURE_INDEX["score_missing"]] = 1.0 if missing else 0.0
            row[FEATURE_INDEX["demo_interest_30d"]] = demo
            row[FEATURE_INDEX["activity_demo_request_30d"]] = demo * rng.randint(1, 3)
            row[FEATURE_INDEX["activity_form_fill_30d"]] = float(rng.random() < 0.3)
            row[FEATURE_INDEX["activity_page_view_30d"]] = float(rng.randint(0, 40))
            row[FEATURE_INDEX["fit_score"]] = rng.uniform(0, 100)
            truth = true_probability(score, demo)
            data.features.append(row)
            data.truth.append(truth)
            data.labels.append(1 if rng.random() < truth else 0)
            data.month_ends.append(end)
            data.account_ids.append(account)
    return data
