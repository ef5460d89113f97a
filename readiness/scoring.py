"""Pure: a stored readiness model's probability for one row of features.

A model is stored as JSON (readiness.models.ReadinessModel.parameters), never
pickled, so serving needs neither scikit-learn nor numpy and reads nothing it
could execute. The parameters are those of the pipeline readiness.model fits:

1. impute: a NaN feature takes `impute[i]` (the training median);
2. the counts (where `log[i]`) become `log(1 + x)`; then standardise:
   `(x - mean[i]) / scale[i]`;
3. logistic regression: `z = intercept + sum(coef[i] * x_i)`;
4. calibration (Platt, fitted on later months than the regression):
   `p = 1 / (1 + exp(a * z + b))`.

tests/readiness/test_model.py shows that this equals scikit-learn's
predict_proba on the same rows to 1e-9. No Django here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

PARAMETERS_KIND = "logistic_platt"


def sigmoid_of_negative(value: float) -> float:
    """1 / (1 + exp(value)), without overflow for large |value|."""
    if value >= 0:
        small = math.exp(-value)
        return small / (1.0 + small)
    return 1.0 / (1.0 + math.exp(value))


def _standardised(parameters: Mapping[str, Any], i: int, value: float) -> float:
    x = parameters["impute"][i] if math.isnan(value) else value
    if parameters["log"][i]:
        x = math.log1p(max(x, 0.0))
    return (x - parameters["mean"][i]) / parameters["scale"][i]


def linear_score(parameters: Mapping[str, Any], row: Sequence[float]) -> float:
    """z: the regression's log-odds of the row before calibration."""
    coef = parameters["coef"]
    if len(row) != len(coef):
        raise ValueError(f"row has {len(row)} features, the model {len(coef)}")
    total = float(parameters["intercept"])
    for i, value in enumerate(row):
        total += coef[i] * _standardised(parameters, i, value)
    return total


def contributions(parameters: Mapping[str, Any], row: Sequence[float]) -> list[float]:
    """Each feature's term of z (coef * standardised value): what pushed this
    row's log-odds up (positive) or down, before calibration."""
    return [parameters["coef"][i] * _standardised(parameters, i, v) for i, v in enumerate(row)]


def probability(parameters: Mapping[str, Any], row: Sequence[float]) -> float:
    """The calibrated probability that the account opens an opportunity within
    90 days, for one row in the order of `parameters["feature_names"]`."""
    if parameters.get("kind") != PARAMETERS_KIND:
        raise ValueError(f"unknown model kind {parameters.get('kind')!r}")
    z = linear_score(parameters, row)
    calibration = parameters["calibration"]
    return sigmoid_of_negative(calibration["a"] * z + calibration["b"])


def probabilities(parameters: Mapping[str, Any], rows: Sequence[Sequence[float]]) -> list[float]:
    return [probability(parameters, row) for row in rows]
