"""The readiness model (issue 19, part 2) on a synthetic history whose
generating process is known (tests/readiness/synthetic.py): the stored JSON
parameters score exactly as scikit-learn does, the model recovers the process,
the split is by time, and too little history falls back."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from readiness import model, scoring
from readiness.backtest import backtest
from readiness.feature_names import FEATURE_INDEX, FEATURE_NAMES
from readiness.metrics import metrics
from tests.proof_figures import record
from tests.readiness.synthetic import synthetic_history

# What the model must reach on the synthetic history's backtest (pooled test
# months): the true probabilities themselves score AUC ~0.80 and ECE ~0.01
# there, so the floor and ceiling leave room only for estimation noise.
AUC_FLOOR = 0.77
ECE_CEILING = 0.03
# At most this much worse than the truth's own AUC and Brier score.
AUC_GAP = 0.02
BRIER_GAP = 0.005


def test_the_pure_scorer_equals_scikit_learns_predict_proba() -> None:
    data = synthetic_history(accounts=150, months=6)
    fitted = model.fit(
        features=data.features,
        labels=data.labels,
        month_ends=data.month_ends,
        feature_names=FEATURE_NAMES,
    )
    stored = json.loads(json.dumps(fitted.parameters))  # what the database keeps
    expected = fitted.estimator.predict_proba(np.asarray(data.features, dtype=float))[:, 1]
    actual = scoring.probabilities(stored, data.features)
    assert max(abs(a - e) for a, e in zip(actual, expected, strict=True)) < 1e-9
    assert stored["calibration"]["split"] == "by time"
    # Rows with NaN (score_missing) are among them, imputed as the pipeline does.
    assert any(row[FEATURE_INDEX["score_missing"]] == 1.0 for row in data.features)


def test_the_model_recovers_the_known_generating_process() -> None:
    data = synthetic_history(accounts=300, months=10)
    result = backtest(
        features=data.features,
        labels=data.labels,
        month_ends=data.month_ends,
        account_ids=data.account_ids,
    )
    figures = result.metrics()
    learned, mql = figures["model"], figures["mql"]
    truth = metrics([data.truth[i] for i in result.rows], result.observed)
    record(
        "readiness model",
        f"synthetic ({learned.rows} pooled predictions, {len(result.tested)} test months): "
        f"AUC {learned.auc:.3f} (truth {truth.auc:.3f}, floor {AUC_FLOOR}), "
        f"ECE {learned.ece:.3f} (truth {truth.ece:.3f}, ceiling {ECE_CEILING}), "
        f"Brier {learned.brier:.4f} (truth {truth.brier:.4f}); MQL rule AUC {mql.auc:.3f}",
    )
    assert learned.auc is not None and truth.auc is not None and mql.auc is not None
    assert learned.auc >= AUC_FLOOR
    assert learned.auc >= truth.auc - AUC_GAP
    assert learned.ece <= ECE_CEILING
    assert learned.brier <= truth.brier + BRIER_GAP
    assert learned.auc > mql.auc + 0.1  # the form-fill rule is noise here

    # The two features of the process carry the largest positive weights.
    fitted = model.fit(
        features=data.features,
        labels=data.labels,
        month_ends=data.month_ends,
        feature_names=FEATURE_NAMES,
    )
    coef = fitted.parameters["coef"]
    top_two = sorted(range(len(coef)), key=lambda i: -coef[i])[:2]
    assert {FEATURE_NAMES[i] for i in top_two} <= {
        "score",
        "demo_interest_30d",
        "activity_demo_request_30d",
    }
    assert coef[FEATURE_INDEX["score"]] > 0


def test_the_regression_fits_the_earlier_month_ends_and_the_later_ones_calibrate() -> None:
    months = [dt.date(2026, m, 28) for m in range(1, 7)] * 2
    fit_rows, calibrate_rows = model.time_split(months)
    assert {months[i] for i in fit_rows} == {dt.date(2026, m, 28) for m in range(1, 5)}
    assert {months[i] for i in calibrate_rows} == {dt.date(2026, 5, 28), dt.date(2026, 6, 28)}
    single = [dt.date(2026, 1, 31)] * 3
    assert model.time_split(single) == ([0, 1, 2], [0, 1, 2])


def test_history_is_counted_in_accounts_not_rows() -> None:
    # Account 1 opened at five month ends: one positive account, not five.
    # Account 2 opened once and was quiet otherwise: positive. Account 3 never.
    counts = model.history_counts([1, 1, 1, 1, 1, 2, 2, 3, 3], [1, 1, 1, 1, 1, 0, 1, 0, 0])
    assert (counts.rows, counts.positive_rows) == (9, 6)
    assert (counts.accounts, counts.positive_accounts, counts.negative_accounts) == (3, 2, 1)


@pytest.mark.parametrize(
    ("positive", "negative", "enough"),
    [(25, 25, True), (24, 500, False), (500, 24, False)],
)
def test_a_segment_needs_25_accounts_that_opened_and_25_that_did_not(
    positive: int, negative: int, enough: bool
) -> None:
    accounts = list(range(positive + negative))
    labels = [1] * positive + [0] * negative
    counts = model.history_counts(accounts, labels)
    assert counts.enough is enough
    if not enough:
        assert counts.shortfall == (
            f"too little history: {positive} accounts opened an opportunity and {negative} "
            "did not; a model needs at least 25 and 25"
        )


def test_the_baselines_map_the_score_and_the_mql_rule_to_rates() -> None:
    score, form = FEATURE_INDEX["score"], FEATURE_INDEX["activity_form_fill_30d"]
    rows = [[0.0] * len(FEATURE_NAMES) for _ in range(4)]
    rows[0][form] = rows[1][form] = 2.0
    # Rule yes: 1 of 2 opened; rule no: 0 of 2.
    rates = model.mql_baseline(features=rows, labels=[1, 0, 0, 0], mql_index=form)
    assert rates == (0.5, 0.0)
    assert model.mql_baseline_predict(rates, rows, form) == [0.5, 0.5, 0.0, 0.0]
    for value, row in zip((10.0, 20.0, 80.0, 90.0), rows, strict=True):
        row[score] = value
    slope, _ = model.score_baseline(features=rows, labels=[0, 0, 1, 1], score_index=score)
    assert slope > 0


def test_the_contributions_add_up_to_the_log_odds_and_bad_input_is_refused() -> None:
    data = synthetic_history(accounts=150, months=6)
    fitted = model.fit(
        features=data.features,
        labels=data.labels,
        month_ends=data.month_ends,
        feature_names=FEATURE_NAMES,
    )
    row = data.features[0]
    terms = scoring.contributions(fitted.parameters, row)
    z = scoring.linear_score(fitted.parameters, row)
    assert fitted.parameters["intercept"] + sum(terms) == pytest.approx(z, abs=1e-9)
    with pytest.raises(ValueError, match="row has 3 features, the model 96"):
        scoring.probability(fitted.parameters, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="unknown model kind"):
        scoring.probability({**fitted.parameters, "kind": "pickle"}, row)
