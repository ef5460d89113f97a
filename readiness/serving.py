"""Pure: what readiness shows for one account, from a stored model version's
parameters and backtest: the probability's band and the features that pushed
it up or down. No Django, no numpy (an import-linter contract, as scoring).

**Band.** A probability alone does not say how often it is right. The band is
the backtest's answer for predictions like this one: the reliability decile of
the version's own backtest (readiness.metrics) whose mean prediction is
nearest, and the 95% Wilson interval of the rate observed in it, with its
count. "30%, band 24-37% (n=138)" reads: of the 138 backtest predictions
nearest 30%, between 24% and 37% opened an opportunity, at 95% confidence.
The count is of rows (account-months), which are not all independent (one
account appears at several month ends), so the interval is a little narrow.

**Why.** Each feature's term of the calibrated log-odds: the regression's
term `coef * standardised value` (readiness.scoring.contributions) times the
calibration's slope `-a`, so that a positive term raised the probability
whatever the sign Platt scaling found. The largest few each way are shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from campaigns.conversion_rates import wilson_interval
from readiness.feature_names import feature_label
from readiness.scoring import contributions

# How many reasons each way an account shows.
REASONS_SHOWN = 3
# Terms smaller than this (in log-odds) moved the probability by well under a
# point: not a reason.
REASON_MIN = 0.01


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    count: int
    observed_rate: float
    mean_predicted: float


@dataclass(frozen=True)
class Reason:
    feature: str
    label: str
    value: float | None  # None: the history did not hold it (NaN)
    contribution: float  # its term of the calibrated log-odds

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "label": self.label,
            "value": self.value,
            "contribution": round(self.contribution, 4),
        }


def band(probability: float, reliability: Sequence[Mapping[str, Any]]) -> Band | None:
    """The band of `probability` from a backtest's reliability table (rows
    with count, mean_predicted, observed_rate, positives); None without one."""
    bins = [row for row in reliability if row.get("count")]
    if not bins:
        return None
    nearest = min(bins, key=lambda row: (abs(row["mean_predicted"] - probability), row["bin"]))
    interval = wilson_interval(int(nearest["positives"]), int(nearest["count"]))
    assert interval is not None  # count > 0
    return Band(
        low=interval.low,
        high=interval.high,
        count=int(nearest["count"]),
        observed_rate=float(nearest["observed_rate"]),
        mean_predicted=float(nearest["mean_predicted"]),
    )


def reasons(
    parameters: Mapping[str, Any],
    row: Sequence[float],
    feature_names: Sequence[str],
    *,
    shown: int = REASONS_SHOWN,
) -> tuple[list[Reason], list[Reason]]:
    """The features that pushed this row's probability up and down the most,
    largest first (each list at most `shown` long)."""
    slope = -float(parameters["calibration"]["a"])
    terms = [
        Reason(
            feature=name,
            label=feature_label(name),
            value=None if math.isnan(value) else value,
            contribution=slope * term,
        )
        for name, value, term in zip(
            feature_names, row, contributions(parameters, row), strict=True
        )
    ]
    up = sorted((r for r in terms if r.contribution >= REASON_MIN), key=lambda r: -r.contribution)
    down = sorted((r for r in terms if r.contribution <= -REASON_MIN), key=lambda r: r.contribution)
    return up[:shown], down[:shown]
