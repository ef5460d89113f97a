"""The rolling-origin backtest of a segment's readiness model (issue 19, part 3).
No Django here: the labelled training rows in, pooled figures out.

For each test month end t (oldest first), the model and both baselines are
fitted on the rows that a training run ON THE DAY AFTER t could have used,
and predict the rows of t:

    a row of month end m trains for t  <=>  m + 90 days <= t

that is, its whole label window (m, m + 90 days] is over by the end of t.
The features of every row are point in time already (readiness.training);
this rule keeps the LABELS point in time: a deal opened after t never teaches
the model that predicts t. (So the months just before t do not train for t:
their labels were not known yet.) A test month whose training rows do not
reach the minimum history (readiness.model.HistoryCounts.enough) is skipped
and listed, as the product would have fallen back to the rule-based score.

The predictions of all test months are pooled and measured together
(readiness.metrics), for the model and the two baselines alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from readiness import model
from readiness.comparison import Comparison, paired_comparison
from readiness.feature_names import FEATURE_INDEX, FEATURE_NAMES, LABEL_HORIZON_DAYS
from readiness.metrics import Metrics, metrics
from readiness.scoring import probabilities

METHODS: tuple[str, ...] = ("model", "score", "mql")
BASELINES: tuple[str, ...] = ("score", "mql")
METHOD_LABELS = {
    "model": "readiness model",
    "score": "engagement score (calibrated)",
    "mql": "MQL rule (form fill in 30 days)",
    "boosting": "gradient boosting (measured only)",
}


def trains_for(row_month_end: dt.date, test_month_end: dt.date) -> bool:
    """Whether a row's label was known at the end of the test month end."""
    return row_month_end + dt.timedelta(days=LABEL_HORIZON_DAYS) <= test_month_end


@dataclass(frozen=True)
class Origin:
    month_end: dt.date
    train_rows: int
    train_positive_accounts: int
    train_negative_accounts: int
    test_rows: int
    test_positives: int
    skipped: str = ""  # why the month was not predicted, '' when it was


@dataclass
class Backtest:
    origins: list[Origin] = field(default_factory=list)
    predictions: dict[str, list[float]] = field(default_factory=dict)
    observed: list[int] = field(default_factory=list)
    # Row index (into the input) of each pooled prediction, and its account.
    rows: list[int] = field(default_factory=list)
    accounts: list[int] = field(default_factory=list)

    @property
    def tested(self) -> list[Origin]:
        return [origin for origin in self.origins if not origin.skipped]

    @property
    def methods(self) -> list[str]:
        return [name for name in (*METHODS, "boosting") if name in self.predictions]

    def metrics(self) -> dict[str, Metrics]:
        if not self.observed:
            return {}
        return {name: metrics(self.predictions[name], self.observed) for name in self.methods}

    def comparisons(self) -> list[Comparison]:
        """The model against each baseline on the pooled rows, paired and
        resampled by account (readiness.comparison): "better than both
        baselines" is both verdicts "better". None when the pooled rows hold
        one outcome only (no AUC, so no claim either way)."""
        if len(set(self.observed)) < 2:
            return []
        return [
            paired_comparison(
                baseline=baseline,
                model=self.predictions["model"],
                other=self.predictions[baseline],
                observed=self.observed,
                account_ids=self.accounts,
            )
            for baseline in BASELINES
        ]

    def origins_as_dicts(self) -> list[dict[str, Any]]:
        return [
            {**origin.__dict__, "month_end": origin.month_end.isoformat()}
            for origin in self.origins
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "origins": self.origins_as_dicts(),
            "metrics": {name: figures.as_dict() for name, figures in self.metrics().items()},
            "comparisons": [comparison.as_dict() for comparison in self.comparisons()],
        }


def backtest(
    *,
    features: Sequence[Sequence[float]],
    labels: Sequence[int],
    month_ends: Sequence[dt.date],
    account_ids: Sequence[int],
    boosting: bool = False,
) -> Backtest:
    """Rolling origin over the labelled rows given (all of them labelled);
    with `boosting`, gradient boosting is measured beside them."""
    methods = (*METHODS, "boosting") if boosting else METHODS
    result = Backtest(predictions={name: [] for name in methods})
    score_at, mql_at = FEATURE_INDEX[model.SCORE_FEATURE], FEATURE_INDEX[model.MQL_FEATURE]
    for test_end in sorted(set(month_ends)):
        train = [i for i, day in enumerate(month_ends) if trains_for(day, test_end)]
        test = [i for i, day in enumerate(month_ends) if day == test_end]
        x_train = [features[i] for i in train]
        y_train = [labels[i] for i in train]
        counts = model.history_counts([account_ids[i] for i in train], y_train)
        skipped = ""
        if not train:
            skipped = "no month end's label was known yet"
        elif not counts.enough:
            skipped = counts.shortfall
        result.origins.append(
            Origin(
                month_end=test_end,
                train_rows=len(train),
                train_positive_accounts=counts.positive_accounts,
                train_negative_accounts=counts.negative_accounts,
                test_rows=len(test),
                test_positives=sum(labels[i] for i in test),
                skipped=skipped,
            )
        )
        if skipped:
            continue
        fitted = model.fit(
            features=x_train,
            labels=y_train,
            month_ends=[month_ends[i] for i in train],
            feature_names=FEATURE_NAMES,
        )
        x_test = [features[i] for i in test]
        result.predictions["model"] += probabilities(fitted.parameters, x_test)
        slope = model.score_baseline(features=x_train, labels=y_train, score_index=score_at)
        result.predictions["score"] += model.score_baseline_predict(slope, x_test, score_at)
        rates = model.mql_baseline(features=x_train, labels=y_train, mql_index=mql_at)
        result.predictions["mql"] += model.mql_baseline_predict(rates, x_test, mql_at)
        if boosting:
            result.predictions["boosting"] += model.boosting_fit_predict(
                features=x_train, labels=y_train, rows=x_test
            )
        result.observed += [labels[i] for i in test]
        result.rows += test
        result.accounts += [account_ids[i] for i in test]
    return result
