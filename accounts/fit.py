"""How well an account's firmographics match an ICP segment's criteria (DESIGN 4).

Pure: plain values in, plain values out, no ORM, so the arithmetic is tested on
hand-computed numbers and reused by the demo generator and by segment refreshes.

A segment's criteria are a tree such as

    {"all": [{"field": "industry", "op": "in", "value": ["Software"], "weight": 2},
             {"field": "employees", "op": "between", "value": [200, 2000], "weight": 1}]}

Fit counts every top-level item as one criterion with its weight (default 1);
a nested group (`{"all": [...]}` or `{"any": [...]}`, optionally with a weight)
is one criterion that matches when its children do. fit = 100 * matched
weight / total weight, rounded half up; grades A >= 80, B >= 60, C >= 40, else D.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GRADE_THRESHOLDS: tuple[tuple[int, str], ...] = ((80, "A"), (60, "B"), (40, "C"))
LOWEST_GRADE = "D"

OPERATORS = frozenset(
    {"eq", "ne", "in", "not_in", "between", "gte", "gt", "lte", "lt", "has_any", "has_all"}
)
# Membership needs at least this fit unless a segment's criteria set "min_fit".
DEFAULT_MIN_FIT = 50


class InvalidCriteria(ValueError):
    """Criteria that cannot be evaluated; the message names the problem."""


@dataclass(frozen=True, slots=True)
class Fit:
    score: int
    grade: str
    matched_weight: float
    total_weight: float


def fit_grade(score: int) -> str:
    """A >= 80, B >= 60, C >= 40, else D."""
    for threshold, grade in GRADE_THRESHOLDS:
        if score >= threshold:
            return grade
    return LOWEST_GRADE


def fit_score(*, matched_weight: float, total_weight: float) -> int:
    """100 * matched / total, rounded half up (so 2 of 3 is 67, 1 of 8 is 13).

    No criteria (total 0) fits nothing: a segment without rules should not make
    every account an A.
    """
    if total_weight < 0 or matched_weight < 0 or matched_weight > total_weight:
        raise InvalidCriteria(
            f"matched weight {matched_weight} must lie between 0 and total weight {total_weight}"
        )
    if total_weight == 0:
        return 0
    # Round half up explicitly: round() rounds half to even (62.5 -> 62).
    return math.floor(100 * matched_weight / total_weight + 0.5)


def criterion_matches(criterion: Mapping[str, Any], firmographics: Mapping[str, Any]) -> bool:
    """One leaf ({"field", "op", "value"}) or group ({"all"|"any": [...]}) against the values.

    A missing or null firmographic never matches: an account without a known
    employee count is not "between 200 and 2000".
    """
    if "all" in criterion:
        return all(criterion_matches(child, firmographics) for child in criterion["all"])
    if "any" in criterion:
        return any(criterion_matches(child, firmographics) for child in criterion["any"])
    try:
        field, op, expected = criterion["field"], criterion["op"], criterion["value"]
    except KeyError as error:
        raise InvalidCriteria(f"criterion {dict(criterion)!r} lacks {error.args[0]!r}") from None
    if op not in OPERATORS:
        raise InvalidCriteria(f"unknown operator {op!r} in {dict(criterion)!r}")
    actual = firmographics.get(field)
    if actual is None:
        return False
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op in ("has_any", "has_all"):
        # List fields such as tags: `{"field": "tags", "op": "has_any", "value": ["abm"]}`.
        if not isinstance(expected, Sequence) or isinstance(expected, str):
            raise InvalidCriteria(f"{op!r} needs a list value in {dict(criterion)!r}")
        held = set(actual) if isinstance(actual, list | tuple | set) else {actual}
        wanted = set(expected)
        return bool(held & wanted) if op == "has_any" else wanted <= held
    if op in ("in", "not_in"):
        if not isinstance(expected, Sequence) or isinstance(expected, str):
            raise InvalidCriteria(f"{op!r} needs a list value in {dict(criterion)!r}")
        return (actual in expected) == (op == "in")
    if op == "between":
        if not isinstance(expected, Sequence) or len(expected) != 2:
            raise InvalidCriteria(f"'between' needs [low, high] in {dict(criterion)!r}")
        low, high = expected
        return bool(low <= actual <= high)
    if op == "gte":
        return bool(actual >= expected)
    if op == "gt":
        return bool(actual > expected)
    if op == "lte":
        return bool(actual <= expected)
    return bool(actual < expected)  # "lt"


def _criterion_weight(criterion: Mapping[str, Any]) -> float:
    weight = criterion.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise InvalidCriteria(f"weight must be a non-negative number in {dict(criterion)!r}")
    return float(weight)


def fit_compute(*, criteria: Mapping[str, Any], firmographics: Mapping[str, Any]) -> Fit:
    """The fit of one account (`firmographics`: field -> value) against a segment's criteria."""
    if not criteria:
        return Fit(score=0, grade=fit_grade(0), matched_weight=0.0, total_weight=0.0)
    items = criteria.get("all", criteria.get("any"))
    if items is None:
        # A single leaf criterion at the top.
        items = [criteria]
    matched = total = 0.0
    for criterion in items:
        weight = _criterion_weight(criterion)
        total += weight
        if criterion_matches(criterion, firmographics):
            matched += weight
    score = fit_score(matched_weight=matched, total_weight=total)
    return Fit(score=score, grade=fit_grade(score), matched_weight=matched, total_weight=total)


def criteria_explain(
    *, criteria: Mapping[str, Any], firmographics: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Each top-level criterion with its weight and whether the account meets it,
    for "why is this account a B?" next to the fit score."""
    if not criteria:
        return []
    items = criteria.get("all", criteria.get("any"))
    if items is None:
        items = [criteria]
    return [
        {
            "criterion": dict(criterion),
            "weight": _criterion_weight(criterion),
            "matched": criterion_matches(criterion, firmographics),
        }
        for criterion in items
    ]


def segment_member(*, criteria: Mapping[str, Any], firmographics: Mapping[str, Any]) -> Fit | None:
    """The account's fit if it belongs to the segment, else None.

    A member meets every criterion marked `"required": true` (hard ICP limits
    such as a supported country) and has a fit of at least the criteria's
    `"min_fit"` (default 50: half the weighted profile).
    """
    if not criteria:
        return None
    items = criteria.get("all", criteria.get("any"))
    if items is None:
        items = [criteria]
    for criterion in items:
        if criterion.get("required") and not criterion_matches(criterion, firmographics):
            return None
    fit = fit_compute(criteria=criteria, firmographics=firmographics)
    minimum = criteria.get("min_fit", DEFAULT_MIN_FIT)
    if isinstance(minimum, bool) or not isinstance(minimum, int | float):
        raise InvalidCriteria(f"min_fit must be a number, got {minimum!r}")
    return fit if fit.score >= minimum else None
