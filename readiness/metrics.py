"""Pure: how good a set of probabilities is against what happened. No Django,
no numpy: the backtest's figures are arithmetic anyone can redo by hand
(tests/readiness/test_metrics.py does, on a tiny set).

- AUC: the chance that a random positive is ranked above a random negative,
  ties counting one half (the Mann-Whitney statistic over average ranks).
- Brier score: the mean of (p - y)^2; 0 is perfect, base rate * (1 - base
  rate) is what always predicting the base rate scores.
- Reliability table: the rows sorted by predicted probability (ties in their
  given order) and cut into `bins` groups of equal count (the first groups take
  one extra row when the count does not divide): each bin's mean prediction
  against its observed rate. Bin 1 holds the lowest predictions.
- Expected calibration error (ECE): the count-weighted mean of
  |mean predicted - observed| over the bins.
- Top-decile lift: the observed rate in the top bin of ten / the base rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ReliabilityBin:
    bin: int
    count: int
    mean_predicted: float
    observed_rate: float
    positives: int


@dataclass(frozen=True)
class Metrics:
    rows: int
    positives: int
    base_rate: float
    auc: float | None  # None with only one class
    brier: float
    ece: float
    top_decile_rate: float
    top_decile_lift: float | None  # None when the base rate is 0
    reliability: list[ReliabilityBin]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(predicted: Sequence[float], observed: Sequence[int]) -> None:
    if len(predicted) != len(observed):
        raise ValueError(f"{len(predicted)} predictions for {len(observed)} outcomes")
    if not predicted:
        raise ValueError("no rows to measure")


def auc(predicted: Sequence[float], observed: Sequence[int]) -> float | None:
    _check(predicted, observed)
    order = sorted(range(len(predicted)), key=lambda i: predicted[i])
    ranks = [0.0] * len(predicted)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and predicted[order[end + 1]] == predicted[order[start]]:
            end += 1
        average = (start + end) / 2.0 + 1.0  # ranks are 1-based
        for position in range(start, end + 1):
            ranks[order[position]] = average
        start = end + 1
    positives = sum(1 for y in observed if y)
    negatives = len(observed) - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum = sum(rank for rank, y in zip(ranks, observed, strict=True) if y)
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def brier(predicted: Sequence[float], observed: Sequence[int]) -> float:
    _check(predicted, observed)
    return sum((p - y) ** 2 for p, y in zip(predicted, observed, strict=True)) / len(predicted)


def reliability(
    predicted: Sequence[float], observed: Sequence[int], *, bins: int = 10
) -> list[ReliabilityBin]:
    _check(predicted, observed)
    order = sorted(range(len(predicted)), key=lambda i: predicted[i])  # stable
    size, extra = divmod(len(order), bins)
    table: list[ReliabilityBin] = []
    start = 0
    for number in range(bins):
        count = size + (1 if number < extra else 0)
        members = order[start : start + count]
        start += count
        if not members:
            continue
        hits = sum(1 for i in members if observed[i])
        table.append(
            ReliabilityBin(
                bin=number + 1,
                count=len(members),
                mean_predicted=sum(predicted[i] for i in members) / len(members),
                observed_rate=hits / len(members),
                positives=hits,
            )
        )
    return table


def expected_calibration_error(table: Sequence[ReliabilityBin]) -> float:
    total = sum(row.count for row in table)
    return sum(row.count * abs(row.mean_predicted - row.observed_rate) for row in table) / total


def metrics(predicted: Sequence[float], observed: Sequence[int]) -> Metrics:
    table = reliability(predicted, observed, bins=10)
    positives = sum(1 for y in observed if y)
    base_rate = positives / len(observed)
    top = table[-1]
    return Metrics(
        rows=len(observed),
        positives=positives,
        base_rate=base_rate,
        auc=auc(predicted, observed),
        brier=brier(predicted, observed),
        ece=expected_calibration_error(table),
        top_decile_rate=top.observed_rate,
        top_decile_lift=top.observed_rate / base_rate if base_rate else None,
        reliability=table,
    )
