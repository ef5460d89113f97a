"""The backtest's arithmetic (readiness.metrics) against figures worked out by
hand on tiny sets: every expected number below is written out, never computed
by the code under test."""

from __future__ import annotations

import pytest

from readiness.metrics import auc, brier, expected_calibration_error, metrics, reliability

PREDICTED = [0.1, 0.4, 0.35, 0.8]
OBSERVED = [0, 0, 1, 1]


def test_auc_is_the_share_of_positive_negative_pairs_ranked_the_right_way() -> None:
    # Pairs (positive, negative): (0.35, 0.1) right, (0.35, 0.4) wrong,
    # (0.8, 0.1) right, (0.8, 0.4) right: 3 of 4.
    assert auc(PREDICTED, OBSERVED) == pytest.approx(0.75)


def test_a_tie_between_a_positive_and_a_negative_counts_one_half() -> None:
    # (0.5, 0.5) tie: 1/2; (0.5, 0.2) right: 1. Total 1.5 of 2 pairs.
    assert auc([0.5, 0.5, 0.2], [1, 0, 0]) == pytest.approx(0.75)


def test_auc_is_undefined_with_one_class() -> None:
    assert auc([0.1, 0.9], [0, 0]) is None


def test_brier_is_the_mean_squared_gap() -> None:
    # (0.1-0)^2 + (0.4-0)^2 + (0.35-1)^2 + (0.8-1)^2 = 0.01 + 0.16 + 0.4225 + 0.04
    assert brier(PREDICTED, OBSERVED) == pytest.approx(0.6325 / 4)


def test_a_reliability_row_is_its_bins_mean_prediction_against_its_observed_rate() -> None:
    # Sorted: 0.1 (0), 0.35 (1) | 0.4 (0), 0.8 (1).
    low, high = reliability(PREDICTED, OBSERVED, bins=2)
    assert (low.bin, low.count, low.positives) == (1, 2, 1)
    assert low.mean_predicted == pytest.approx(0.225)
    assert low.observed_rate == pytest.approx(0.5)
    assert (high.bin, high.count, high.positives) == (2, 2, 1)
    assert high.mean_predicted == pytest.approx(0.6)
    assert high.observed_rate == pytest.approx(0.5)
    # ECE: (2 * |0.225 - 0.5| + 2 * |0.6 - 0.5|) / 4
    assert expected_calibration_error([low, high]) == pytest.approx(0.1875)


def test_uneven_bins_give_the_first_bins_the_extra_rows() -> None:
    table = reliability([0.1, 0.2, 0.3, 0.4, 0.5], [0, 0, 1, 0, 1], bins=2)
    assert [row.count for row in table] == [3, 2]
    assert table[0].mean_predicted == pytest.approx(0.2)
    assert table[0].observed_rate == pytest.approx(1 / 3)


def test_top_decile_lift_is_the_top_tenths_rate_over_the_base_rate() -> None:
    predicted = [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95]
    observed = [0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    figures = metrics(predicted, observed)
    # Base rate 3/10; the top tenth is the one row at 0.95, which opened: 1 / 0.3.
    assert figures.base_rate == pytest.approx(0.3)
    assert figures.top_decile_rate == pytest.approx(1.0)
    assert figures.top_decile_lift == pytest.approx(1 / 0.3)
    assert figures.rows == 10 and figures.positives == 3
    assert len(figures.reliability) == 10
