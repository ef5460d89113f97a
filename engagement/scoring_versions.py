"""Pure: what a scoring model version may hold, what changed between two
versions, and what a change does to a segment's scores. No ORM here.

- `parameter_problems`: the one rule book of a scoring model's parameters
  (engagement.rollup.scoring_models refuses a version that breaks it; the
  scoring pages show each problem beside its field);
- `parameters_diff`: field by field (weight by activity type, multiplier by
  seniority) what one version changed from the one before;
- `stage_moves`, `score_histogram`: the preview's counts of a change.

Parameters are engagement.scoring.ScoringParameters, so an activity type a
model does not list weighs what the rollup gives it (0) and a seniority not
listed multiplies by 1: a diff compares what the scores use, not the JSON.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engagement.scoring import ScoringParameters

# The ranges that make sense, beyond what the math needs (positive half-life,
# cap and scale; ordered bands). A weight past 100 points would qualify an
# account with one activity; a half-life or lookback past ten years keeps
# every activity forever; an anonymous visitor counts at most as much as a
# known one.
WEIGHT_RANGE = (-100.0, 100.0)
MULTIPLIER_RANGE = (0.0, 10.0)
HALF_LIFE_DAYS_MAX = 3650.0
CONTACT_CAP_MAX = 1000.0
SCALE_MAX = 1000.0
LOOKBACK_DAYS_RANGE = (1, 3650)
ANONYMOUS_FACTOR_RANGE = (0.0, 1.0)
BAND_RANGE = (1, 100)

# The tunable parameters in the order a page lists them.
PARAMETER_NAMES = (
    "activity_weights", "seniority_multipliers", "half_life_days", "contact_cap", "scale",
    "engaged_min", "qualified_min", "lookback_days", "anonymous_factor", "required_roles",
)  # fmt: skip


@dataclass(frozen=True)
class ParameterProblem:
    """Why a parameter cannot be saved: `key` names the activity type or
    seniority of a weight or multiplier (empty for the others)."""

    parameter: str
    message: str
    key: str = ""

    def __str__(self) -> str:
        where = f"{self.parameter}[{self.key}]" if self.key else self.parameter
        return f"{where}: {self.message}"


def _number(value: Any) -> float | None:
    """The value as a finite float, or None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _within(value: Any, low: float, high: float, *, low_open: bool = False) -> str | None:
    """None when `value` is a number in the range, else the sentence saying why not."""
    number = _number(value)
    if number is None:
        return f"must be a number, got {value!r}"
    if (number <= low) if low_open else (number < low):
        return (
            f"must be above {low:g}, got {number:g}"
            if low_open
            else (f"must be at least {low:g}, got {number:g}")
        )
    if number > high:
        return f"must be at most {high:g}, got {number:g}"
    return None


def parameter_problems(
    params: ScoringParameters,
    *,
    activity_types: Collection[str],
    seniorities: Collection[str],
    buying_roles: Collection[str],
) -> list[ParameterProblem]:
    """Every reason `params` cannot be a scoring model (empty: it can). The
    allowed names come from the caller (the models' choices)."""
    problems: list[ParameterProblem] = []
    unknown = sorted(set(params.activity_weights) - set(activity_types))
    if unknown:
        problems.append(ParameterProblem("activity_weights", f"unknown activity types {unknown}"))
    for key, value in params.activity_weights.items():
        if key in activity_types and (why := _within(value, *WEIGHT_RANGE)):
            problems.append(ParameterProblem("activity_weights", why, key))
    unknown = sorted(set(params.seniority_multipliers) - set(seniorities))
    if unknown:
        problems.append(ParameterProblem("seniority_multipliers", f"unknown seniorities {unknown}"))
    for key, value in params.seniority_multipliers.items():
        if key in seniorities and (why := _within(value, *MULTIPLIER_RANGE)):
            problems.append(ParameterProblem("seniority_multipliers", why, key))
    unknown = sorted(set(params.required_roles) - set(buying_roles))
    if unknown:
        problems.append(ParameterProblem("required_roles", f"unknown buying roles {unknown}"))
    for name, high in (
        ("half_life_days", HALF_LIFE_DAYS_MAX),
        ("contact_cap", CONTACT_CAP_MAX),
        ("scale", SCALE_MAX),
    ):
        if why := _within(getattr(params, name), 0.0, high, low_open=True):
            problems.append(ParameterProblem(name, why))
    if why := _within(params.lookback_days, *LOOKBACK_DAYS_RANGE):
        problems.append(ParameterProblem("lookback_days", why))
    if why := _within(params.anonymous_factor, *ANONYMOUS_FACTOR_RANGE):
        problems.append(ParameterProblem("anonymous_factor", why))
    problems.extend(_band_problems(params.engaged_min, params.qualified_min))
    return problems


def _band_problems(engaged_min: Any, qualified_min: Any) -> list[ParameterProblem]:
    """Both bands whole numbers within BAND_RANGE, engaged starting below qualified."""
    problems = []
    for name, value in (("engaged_min", engaged_min), ("qualified_min", qualified_min)):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(ParameterProblem(name, f"must be a whole number, got {value!r}"))
        elif why := _within(value, *BAND_RANGE):
            problems.append(ParameterProblem(name, why))
    if not problems and not engaged_min < qualified_min:
        problems.append(
            ParameterProblem(
                "engaged_min",
                f"the engaged band must start below the qualified band "
                f"({engaged_min} is not below {qualified_min})",
            )
        )
    return problems


@dataclass(frozen=True)
class ParameterChange:
    """One parameter (or one activity type's weight, one seniority's multiplier)
    that differs between two versions. Roles are listed sorted."""

    parameter: str
    old: Any
    new: Any
    key: str = ""


def _effective(params: ScoringParameters, parameter: str, key: str) -> float:
    if parameter == "activity_weights":
        return params.weight(key)
    return params.multiplier(key)


def parameters_diff(old: ScoringParameters, new: ScoringParameters) -> list[ParameterChange]:
    """What `new` changed from `old`, in PARAMETER_NAMES order (weights and
    multipliers by key, in name order): the values the scores use, so a type
    added at weight 0 (the weight it had unlisted) is no change."""
    changes: list[ParameterChange] = []
    for parameter in PARAMETER_NAMES:
        if parameter in ("activity_weights", "seniority_multipliers"):
            keys = sorted(set(getattr(old, parameter)) | set(getattr(new, parameter)))
            for key in keys:
                before, after = _effective(old, parameter, key), _effective(new, parameter, key)
                if before != after:
                    changes.append(ParameterChange(parameter, before, after, key))
        elif parameter == "required_roles":
            before_roles, after_roles = sorted(old.required_roles), sorted(new.required_roles)
            if before_roles != after_roles:
                changes.append(ParameterChange(parameter, before_roles, after_roles))
        else:
            before, after = getattr(old, parameter), getattr(new, parameter)
            if before != after:
                changes.append(ParameterChange(parameter, before, after))
    return changes


@dataclass(frozen=True)
class StageMoves:
    up: int  # accounts whose stage rises (aware -> engaged, say)
    down: int  # accounts whose stage falls
    score_changed: int  # accounts whose score changes at all


def stage_moves(
    before: Mapping[int, tuple[int, str]],
    after: Mapping[int, tuple[int, str]],
    *,
    stage_order: Sequence[str],
) -> StageMoves:
    """Counts of accounts (id -> (score, stage)) moving up or down `stage_order`
    (lowest first). An account on one side only is not counted: the preview
    scores the same members twice."""
    rank = {stage: index for index, stage in enumerate(stage_order)}
    up = down = changed = 0
    for account_id, (score, stage) in before.items():
        if account_id not in after:
            continue
        new_score, new_stage = after[account_id]
        up += rank[new_stage] > rank[stage]
        down += rank[new_stage] < rank[stage]
        changed += new_score != score
    return StageMoves(up=up, down=down, score_changed=changed)


# The distribution's buckets: 0-9, 10-19, ..., 80-89 and 90-100.
HISTOGRAM_BUCKETS = 10


def histogram_labels() -> list[str]:
    return [
        f"{10 * b} to {10 * b + 9}" if b < HISTOGRAM_BUCKETS - 1 else f"{10 * b} to 100"
        for b in range(HISTOGRAM_BUCKETS)
    ]


def score_histogram(scores: Iterable[int]) -> list[int]:
    """How many scores (0 to 100) fall in each of HISTOGRAM_BUCKETS buckets of ten
    (100 goes with 90-99)."""
    counts = [0] * HISTOGRAM_BUCKETS
    for score in scores:
        counts[min(HISTOGRAM_BUCKETS - 1, max(0, score) // 10)] += 1
    return counts
