"""The backtest's rolling origin (issue 19, part 3): a row trains the model
that predicts month end t only when its label was known at the end of t
(month end + 90 days <= t); a label known only later never reaches it."""

from __future__ import annotations

import datetime as dt

import pytest

from readiness.backtest import Backtest, backtest, trains_for
from tests.readiness.synthetic import Synthetic, synthetic_history


@pytest.mark.parametrize(
    ("row", "test", "trains"),
    [
        # 31 Jan + 90 days = 1 May: not known at the end of 30 April...
        (dt.date(2026, 1, 31), dt.date(2026, 4, 30), False),
        # ...known at the end of 31 May.
        (dt.date(2026, 1, 31), dt.date(2026, 5, 31), True),
        # 28 Feb + 90 days = 29 May: known by 31 May.
        (dt.date(2026, 2, 28), dt.date(2026, 5, 31), True),
        # 31 March + 90 days = 29 June: known by 30 June, not by 31 May.
        (dt.date(2026, 3, 31), dt.date(2026, 5, 31), False),
        (dt.date(2026, 3, 31), dt.date(2026, 6, 30), True),
        # The test month itself never trains for itself.
        (dt.date(2026, 6, 30), dt.date(2026, 6, 30), False),
    ],
)
def test_a_row_trains_for_a_month_only_once_its_90_days_are_over(
    row: dt.date, test: dt.date, trains: bool
) -> None:
    assert trains_for(row, test) is trains


def test_labels_known_only_after_the_test_month_do_not_change_its_predictions() -> None:
    data = synthetic_history(accounts=120, months=8)
    months = sorted(set(data.month_ends))
    before = backtest(
        features=data.features,
        labels=data.labels,
        month_ends=data.month_ends,
        account_ids=data.account_ids,
    )
    tested = [origin.month_end for origin in before.tested]
    assert len(tested) >= 3
    target = tested[1]
    # Plant the future: every label that was not known at the end of `target`
    # (the rows of the two months before it, of `target` itself and of every
    # later month) turned into an opportunity.
    planted = [
        1 if not trains_for(day, target) else label
        for day, label in zip(data.month_ends, data.labels, strict=True)
    ]
    changed = sum(1 for a, b in zip(planted, data.labels, strict=True) if a != b)
    assert changed > 100
    after = backtest(
        features=data.features,
        labels=planted,
        month_ends=data.month_ends,
        account_ids=data.account_ids,
    )

    def predictions_of(result: object, day: dt.date) -> dict[str, list[float]]:
        rows = [
            position
            for position, row in enumerate(result.rows)  # type: ignore[attr-defined]
            if data.month_ends[row] == day
        ]
        return {
            name: [values[p] for p in rows]
            for name, values in result.predictions.items()  # type: ignore[attr-defined]
        }

    # The month's predictions, of the model and both baselines, are the same
    # to the last bit: nothing planted reached them.
    assert predictions_of(after, target) == predictions_of(before, target)
    # The month before it too; the last month, whose training rows include
    # planted labels (they were known by then), changes: the planting is real.
    assert predictions_of(after, tested[0]) == predictions_of(before, tested[0])
    last = tested[-1]
    assert any(trains_for(day, last) and not trains_for(day, target) for day in months)
    assert predictions_of(after, last)["model"] != predictions_of(before, last)["model"]


def test_a_month_without_enough_history_behind_it_is_skipped_and_says_why() -> None:
    data = synthetic_history(accounts=40, months=6)
    result = backtest(
        features=data.features,
        labels=data.labels,
        month_ends=data.month_ends,
        account_ids=data.account_ids,
    )
    first = result.origins[0]
    assert first.skipped == "no month end's label was known yet"
    assert all(origin.skipped for origin in result.origins[:3])
    reasons = {origin.skipped for origin in result.origins}
    assert any(reason.startswith("too little history") for reason in reasons) or result.tested


def test_gradient_boosting_is_measured_only_when_asked() -> None:
    data = synthetic_history(accounts=150, months=5)
    rows = {"features": data.features, "labels": data.labels, "month_ends": data.month_ends,
            "account_ids": data.account_ids}  # fmt: skip
    assert "boosting" not in backtest(**rows).metrics()  # type: ignore[arg-type]
    measured = backtest(**rows, boosting=True)  # type: ignore[arg-type]
    assert set(measured.metrics()) == {"model", "score", "mql", "boosting"}
    assert len(measured.predictions["boosting"]) == len(measured.observed)


def _six_months_backtested() -> tuple[Synthetic, Backtest]:
    data = synthetic_history(accounts=150, months=6)
    result = backtest(
        features=data.features, labels=data.labels, month_ends=data.month_ends,
        account_ids=data.account_ids,
    )  # fmt: skip
    return data, result


def test_the_pooled_rows_compare_the_model_with_each_baseline_by_account() -> None:
    data, result = _six_months_backtested()
    figures = result.metrics()
    tested = {data.account_ids[row] for row in result.rows}
    assert result.accounts == [data.account_ids[row] for row in result.rows]
    for comparison in result.comparisons():
        model_auc, other_auc = figures["model"].auc, figures[comparison.baseline].auc
        assert model_auc is not None and other_auc is not None
        assert comparison.auc.value == pytest.approx(model_auc - other_auc, abs=1e-12)
        brier = figures["model"].brier - figures[comparison.baseline].brier
        assert comparison.brier.value == pytest.approx(brier, abs=1e-12)
        assert (comparison.accounts, comparison.rows) == (len(tested), len(result.observed))


def test_pooled_rows_of_one_outcome_make_no_comparison() -> None:
    _data, result = _six_months_backtested()
    result.observed = [0] * len(result.observed)
    assert result.comparisons() == []
