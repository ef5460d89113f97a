"""The paired comparison of the model with a baseline (readiness.comparison):
differences worked out by hand, resamples that keep an account's rows
together, and the verdict's rule."""

from __future__ import annotations

import random

import numpy as np
import pytest

from readiness.comparison import (
    Difference,
    account_resamples,
    better_than_every_baseline,
    comparison_verdict,
    paired_comparison,
)
from readiness.metrics import auc, brier

# Four rows, two accounts (7: rows 0-1, 9: rows 2-3).
OBSERVED = [1, 0, 0, 1]
ACCOUNTS = [7, 7, 9, 9]
MODEL = [0.8, 0.2, 0.3, 0.6]  # ranks both positives above both negatives: AUC 1
BASELINE = [0.5, 0.5, 0.4, 0.3]  # pairs (pos, neg): 0.5>0.4 yes, 0.5=0.5 half, 0.3<0.5, 0.3<0.4


def test_the_differences_on_the_rows_as_they_are_by_hand() -> None:
    result = paired_comparison(
        baseline="score", model=MODEL, other=BASELINE, observed=OBSERVED, account_ids=ACCOUNTS,
        resamples=50,
    )  # fmt: skip
    # Baseline AUC: of the 4 (positive, negative) pairs, 1 won and 1 tied: 1.5 / 4.
    assert result.auc.value == pytest.approx(1.0 - 0.375)
    # Brier: model (0.04 + 0.04 + 0.09 + 0.16) / 4 = 0.0825;
    # baseline (0.25 + 0.25 + 0.16 + 0.49) / 4 = 0.2875.
    assert result.brier.value == pytest.approx(0.0825 - 0.2875)
    assert (result.accounts, result.rows, result.resamples) == (2, 4, 50)


def test_a_resample_takes_every_row_of_each_account_drawn() -> None:
    account_ids = [3, 3, 3, 5, 8, 8]
    rows_of = {3: {0, 1, 2}, 5: {3}, 8: {4, 5}}
    index, weight = account_resamples(account_ids=account_ids, resamples=200, seed=1)
    for rows, weights in zip(index, weight, strict=True):
        real = [int(row) for row, w in zip(rows, weights, strict=True) if w == 1]
        # As many accounts drawn as there are accounts, each bringing all its rows.
        drawn = [account_ids[row] for row in real]
        counts = {account: drawn.count(account) for account in set(drawn)}
        assert all(count % len(rows_of[account]) == 0 for account, count in counts.items())
        assert sum(count // len(rows_of[account]) for account, count in counts.items()) == 3
        assert set(weights) <= {0.0, 1.0}


def test_each_resamples_differences_are_the_plain_formulas_on_its_rows() -> None:
    rng = random.Random(4)
    observed = [int(rng.random() < 0.3) for _ in range(60)]
    model = [round(rng.random() * 0.6 + 0.3 * y, 2) for y in observed]
    other = [round(rng.random() * 0.6 + 0.1 * y, 2) for y in observed]
    account_ids = [row // 4 for row in range(60)]
    index, weight = account_resamples(account_ids=account_ids, resamples=30, seed=11)
    expected_auc, expected_brier = [], []
    for rows, weights in zip(index, weight, strict=True):
        real = [int(row) for row, w in zip(rows, weights, strict=True) if w == 1]
        y = [observed[row] for row in real]
        if 0 < sum(y) < len(y):
            model_auc = auc([model[row] for row in real], y)
            other_auc = auc([other[row] for row in real], y)
            assert model_auc is not None and other_auc is not None
            expected_auc.append(model_auc - other_auc)
        expected_brier.append(
            brier([model[row] for row in real], y) - brier([other[row] for row in real], y)
        )
    result = paired_comparison(
        baseline="mql", model=model, other=other, observed=observed, account_ids=account_ids,
        resamples=30, seed=11,
    )  # fmt: skip
    assert result.auc.standard_error == pytest.approx(float(np.std(expected_auc, ddof=1)))
    assert result.auc.low == pytest.approx(float(np.percentile(expected_auc, 2.5)))
    assert result.brier.high == pytest.approx(float(np.percentile(expected_brier, 97.5)))
    assert result.brier.standard_error == pytest.approx(float(np.std(expected_brier, ddof=1)))


def test_the_same_predictions_tie() -> None:
    result = paired_comparison(
        baseline="score", model=MODEL, other=MODEL, observed=OBSERVED, account_ids=ACCOUNTS,
        resamples=20,
    )  # fmt: skip
    assert (result.auc.low, result.auc.high, result.brier.low, result.brier.high) == (0, 0, 0, 0)
    assert result.verdict == "tie"


def _d(low: float, high: float) -> Difference:
    return Difference(value=(low + high) / 2, standard_error=0.01, low=low, high=high)


@pytest.mark.parametrize(
    ("auc_interval", "brier_interval", "verdict"),
    [
        ((0.01, 0.05), (-0.002, 0.001), "better"),  # ranks better, Brier no different
        ((-0.01, 0.03), (-0.003, -0.001), "better"),  # Brier lower, AUC no different
        ((-0.01, 0.03), (-0.003, 0.001), "tie"),
        ((0.01, 0.05), (0.001, 0.003), "tie"),  # ranks better but Brier worse
        ((-0.05, -0.01), (-0.001, 0.002), "worse"),
        ((-0.01, 0.01), (0.001, 0.002), "worse"),
    ],
)
def test_the_verdict_needs_one_measure_better_and_none_worse(
    auc_interval: tuple[float, float], brier_interval: tuple[float, float], verdict: str
) -> None:
    assert comparison_verdict(_d(*auc_interval), _d(*brier_interval)) == verdict


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_comparison(
            baseline="score", model=MODEL, other=BASELINE[:3], observed=OBSERVED,
            account_ids=ACCOUNTS,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("verdicts", "better"),
    [(["better", "better"], True), (["better", "tie"], False), (["worse", "better"], False),
     ([], False)],
)  # fmt: skip
def test_better_than_both_baselines_means_every_verdict_better(
    verdicts: list[str], better: bool
) -> None:
    assert better_than_every_baseline(verdicts) is better


def test_rows_of_one_outcome_have_no_comparison() -> None:
    with pytest.raises(ValueError, match="one outcome only"):
        paired_comparison(
            baseline="score", model=MODEL, other=BASELINE, observed=[0, 0, 0, 0],
            account_ids=ACCOUNTS,
        )  # fmt: skip
    # Two accounts, each of one outcome: every resample drawing one account
    # twice has one outcome; with 2 resamples that can leave fewer than two AUCs.
    with pytest.raises(ValueError, match="too few resamples"):
        paired_comparison(
            baseline="score", model=[0.9, 0.1], other=[0.5, 0.5], observed=[1, 0],
            account_ids=[1, 2], resamples=1,
        )  # fmt: skip
