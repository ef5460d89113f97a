"""Pure: is the readiness model better than a baseline on the same backtest
rows? A paired bootstrap over ACCOUNTS (issue 19's "better than both
baselines"). No Django.

The pooled backtest rows are not independent: an account appears once per
test month. So each resample draws accounts with replacement and takes every
row of each account drawn, for both methods at once (paired). For each
resample: AUC(model) - AUC(baseline) and Brier(model) - Brier(baseline).
The report gives the difference on the rows as they are, the standard
deviation of the resampled differences (its standard error) and the 2.5th
and 97.5th percentiles (a 95% interval).

The verdict, per baseline:

- "better": the AUC difference's interval lies above 0 or the Brier
  difference's lies below 0 (a lower Brier is better), and neither lies on
  the wrong side;
- "worse": the reverse;
- "tie": anything else (both intervals straddle 0, or they disagree).

numpy here only for speed (2,000 resamples of some thousands of rows);
readiness.metrics holds the same AUC and Brier in plain arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

RESAMPLES_DEFAULT = 2000
SEED_DEFAULT = 19


@dataclass(frozen=True)
class Difference:
    """model minus baseline on one measure."""

    value: float
    standard_error: float
    low: float  # 2.5th percentile of the resampled differences
    high: float  # 97.5th


@dataclass(frozen=True)
class Comparison:
    baseline: str
    accounts: int
    rows: int
    resamples: int
    auc: Difference
    brier: Difference
    verdict: str  # "better", "tie" or "worse"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def better_than_every_baseline(verdicts: Sequence[str]) -> bool:
    """Issue 19's "better than both baselines": every comparison says better
    (False when there is none)."""
    return bool(verdicts) and all(verdict == "better" for verdict in verdicts)


def comparison_verdict(auc: Difference, brier: Difference) -> str:
    better = auc.low > 0 or brier.high < 0
    worse = auc.high < 0 or brier.low > 0
    if better and not worse:
        return "better"
    if worse and not better:
        return "worse"
    return "tie"


def _difference(value: float, resampled: np.ndarray) -> Difference:
    # A resample that drew accounts of one outcome only has no AUC: left out.
    resampled = resampled[np.isfinite(resampled)]
    if len(resampled) < 2:
        raise ValueError("too few resamples hold both outcomes to give an interval")
    low, high = np.percentile(resampled, [2.5, 97.5])
    return Difference(
        value=float(value),
        standard_error=float(resampled.std(ddof=1)),
        low=float(low),
        high=float(high),
    )


def account_resamples(
    *, account_ids: Sequence[int], resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """`resamples` draws of the accounts with replacement, each as the row
    indexes of every row of every account drawn (`index`, resamples x width)
    and a weight of 1 per real row. Resamples differ in row count, so each is
    padded to the longest with row 0 at weight 0, which counts for neither
    AUC nor Brier."""
    accounts, row_account = np.unique(np.asarray(account_ids), return_inverse=True)
    rows_of = [np.flatnonzero(row_account == number) for number in range(len(accounts))]
    sizes = np.array([len(rows) for rows in rows_of])
    draws = np.random.default_rng(seed).integers(0, len(accounts), size=(resamples, len(accounts)))
    width = int(sizes[draws].sum(axis=1).max())
    index = np.zeros((resamples, width), dtype=int)
    weight = np.zeros((resamples, width), dtype=float)
    for sample in range(resamples):
        picked = np.concatenate([rows_of[account] for account in draws[sample]])
        index[sample, : len(picked)] = picked
        weight[sample, : len(picked)] = 1.0
    return index, weight


def paired_comparison(
    *,
    baseline: str,
    model: Sequence[float],
    other: Sequence[float],
    observed: Sequence[int],
    account_ids: Sequence[int],
    resamples: int = RESAMPLES_DEFAULT,
    seed: int = SEED_DEFAULT,
) -> Comparison:
    """The model against `other` (the baseline's predictions) on the same rows,
    resampling `account_ids` (one per row) with replacement."""
    if not len(model) == len(other) == len(observed) == len(account_ids):
        raise ValueError("model, baseline, observed and account_ids differ in length")
    if not observed:
        raise ValueError("no rows to compare")
    if len(set(observed)) < 2:
        raise ValueError("the rows hold one outcome only: AUC is not defined")
    model_p = np.asarray(model, dtype=float)
    other_p = np.asarray(other, dtype=float)
    y = np.asarray(observed, dtype=float)
    index, weight = account_resamples(account_ids=account_ids, resamples=resamples, seed=seed)
    lengths = weight.sum(axis=1)
    auc_diff = _auc_weighted(model_p, y, index, weight) - _auc_weighted(other_p, y, index, weight)
    brier_model = ((model_p[index] - y[index]) ** 2 * weight).sum(axis=1) / lengths
    brier_other = ((other_p[index] - y[index]) ** 2 * weight).sum(axis=1) / lengths
    full = np.arange(len(y))[None, :]
    ones = np.ones((1, len(y)))
    auc_value = float(
        _auc_weighted(model_p, y, full, ones)[0] - _auc_weighted(other_p, y, full, ones)[0]
    )
    brier_value = float(((model_p - y) ** 2).mean() - ((other_p - y) ** 2).mean())
    auc = _difference(auc_value, auc_diff)
    brier = _difference(brier_value, brier_model - brier_other)
    return Comparison(
        baseline=baseline,
        accounts=len(set(account_ids)),
        rows=len(y),
        resamples=resamples,
        auc=auc,
        brier=brier,
        verdict=comparison_verdict(auc, brier),
    )


def _auc_weighted(
    predicted: np.ndarray, observed: np.ndarray, index: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """AUC of each resample (a row of `index`), padding rows (weight 0) left
    out: they are given a value below every real one and no class, so they
    shift every real rank by the same amount, which the Mann-Whitney
    statistic subtracts out through the positives' count."""
    values = np.where(weight > 0, predicted[index], -np.inf)
    labels = np.where(weight > 0, observed[index], 0.0)
    padding = (weight == 0).sum(axis=1)
    order = np.argsort(values, axis=1, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=1)
    count = values.shape[1]
    new_run = np.ones(values.shape, dtype=bool)
    new_run[:, 1:] = sorted_values[:, 1:] != sorted_values[:, :-1]
    run_id = np.cumsum(new_run, axis=1) - 1
    ranks_sorted = np.empty(values.shape, dtype=float)
    for row in range(values.shape[0]):
        firsts = np.flatnonzero(new_run[row]) + 1.0
        lasts = np.append(firsts[1:] - 1.0, float(count))
        ranks_sorted[row] = ((firsts + lasts) / 2.0)[run_id[row]]
    ranks = np.empty(values.shape, dtype=float)
    np.put_along_axis(ranks, order, ranks_sorted, axis=1)
    positives = labels.sum(axis=1)
    negatives = (weight > 0).sum(axis=1) - positives
    # Real rows' ranks start after the padding (which sorts first).
    rank_sum = ((ranks - padding[:, None]) * labels).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
    return result
