"""engagement.scoring_versions: the rule book of a scoring model, the diff of two
versions and the preview's counts, checked against values written out by hand."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from engagement.scoring import ScoringParameters
from engagement.scoring_versions import (
    ParameterChange,
    StageMoves,
    histogram_labels,
    parameter_problems,
    parameters_diff,
    score_histogram,
    stage_moves,
)

TYPES = ("page_view", "demo_request", "other")
SENIORITIES = ("c_level", "manager", "unknown")
ROLES = ("champion", "decision_maker")
STAGES = ("unaware", "aware", "engaged", "qualified", "opportunity", "customer")

BASE = ScoringParameters(
    activity_weights={"page_view": 1, "demo_request": 30},
    seniority_multipliers={"c_level": 2.0, "manager": 1.0},
)


def problems(params: ScoringParameters) -> list[tuple[str, str, str]]:
    found = parameter_problems(
        params, activity_types=TYPES, seniorities=SENIORITIES, buying_roles=ROLES
    )
    return [(p.parameter, p.key, p.message) for p in found]


def test_the_defaults_have_no_problem() -> None:
    assert problems(BASE) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"half_life_days": 0}, ("half_life_days", "", "must be above 0, got 0")),
        ({"half_life_days": 4000}, ("half_life_days", "", "must be at most 3650, got 4000")),
        ({"contact_cap": -1}, ("contact_cap", "", "must be above 0, got -1")),
        ({"scale": float("nan")}, ("scale", "", "must be a number, got nan")),
        ({"lookback_days": 0}, ("lookback_days", "", "must be at least 1, got 0")),
        ({"anonymous_factor": 1.5}, ("anonymous_factor", "", "must be at most 1, got 1.5")),
        ({"engaged_min": 0}, ("engaged_min", "", "must be at least 1, got 0")),
        ({"qualified_min": 101}, ("qualified_min", "", "must be at most 100, got 101")),
        ({"qualified_min": 60.5}, ("qualified_min", "", "must be a whole number, got 60.5")),
        (
            {"engaged_min": 61, "qualified_min": 61},
            (
                "engaged_min",
                "",
                "the engaged band must start below the qualified band (61 is not below 61)",
            ),
        ),
        (
            {"activity_weights": {"demo_request": 101}},
            ("activity_weights", "demo_request", "must be at most 100, got 101"),
        ),
        (
            {"activity_weights": {"fax_sent": 3}},
            ("activity_weights", "", "unknown activity types ['fax_sent']"),
        ),
        (
            {"seniority_multipliers": {"manager": -0.5}},
            ("seniority_multipliers", "manager", "must be at least 0, got -0.5"),
        ),
        (
            {"seniority_multipliers": {"intern": 1}},
            ("seniority_multipliers", "", "unknown seniorities ['intern']"),
        ),
        (
            {"required_roles": ("mascot",)},
            ("required_roles", "", "unknown buying roles ['mascot']"),
        ),
    ],
)
def test_each_problem_names_its_parameter_and_says_why(
    changes: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    assert problems(replace(BASE, **changes)) == [expected]


def test_a_weight_and_a_multiplier_at_their_limits_are_allowed() -> None:
    edge = replace(
        BASE,
        activity_weights={"page_view": -100, "demo_request": 100},
        seniority_multipliers={"manager": 0, "c_level": 10},
        half_life_days=3650, anonymous_factor=0, engaged_min=1, qualified_min=100,
    )  # fmt: skip
    assert problems(edge) == []


def test_the_diff_lists_what_changed_in_order_weights_by_activity_type() -> None:
    new = replace(
        BASE,
        # demo_request 30 -> 50; page_view unchanged; other added at 0 (what an
        # unlisted type weighs already: no change)
        activity_weights={"page_view": 1, "demo_request": 50, "other": 0},
        # unknown added at 1 (the multiplier of an unlisted seniority): no change;
        # c_level 2 -> 1.5
        seniority_multipliers={"c_level": 1.5, "manager": 1.0, "unknown": 1.0},
        half_life_days=45.0,
        qualified_min=70,
        required_roles=("decision_maker", "champion"),
    )
    assert parameters_diff(BASE, new) == [
        ParameterChange("activity_weights", 30.0, 50.0, "demo_request"),
        ParameterChange("seniority_multipliers", 2.0, 1.5, "c_level"),
        ParameterChange("half_life_days", 30.0, 45.0),
        ParameterChange("qualified_min", 61, 70),
        ParameterChange("required_roles", [], ["champion", "decision_maker"]),
    ]


def test_a_dropped_weight_becomes_zero_and_reordered_roles_are_no_change() -> None:
    old = replace(BASE, required_roles=("champion", "decision_maker"))
    new = replace(
        old, activity_weights={"demo_request": 30}, required_roles=("decision_maker", "champion")
    )
    assert parameters_diff(old, new) == [
        ParameterChange("activity_weights", 1.0, 0.0, "page_view"),
    ]
    assert parameters_diff(old, old) == []


def test_stage_moves_count_up_down_and_score_changes() -> None:
    before = {1: (45, "engaged"), 2: (7, "aware"), 3: (50, "engaged"), 4: (45, "opportunity"),
              5: (10, "aware")}  # fmt: skip
    after = {1: (63, "qualified"), 2: (7, "aware"), 3: (26, "aware"), 4: (63, "opportunity"),
             6: (99, "qualified")}  # fmt: skip
    # 1 up, 3 down; 1, 3 and 4 changed score; 5 and 6 are on one side only.
    assert stage_moves(before, after, stage_order=STAGES) == StageMoves(
        up=1, down=1, score_changed=3
    )


def test_the_histogram_puts_each_score_in_its_ten() -> None:
    assert score_histogram([0, 9, 10, 45, 99, 100, 100]) == [2, 1, 0, 0, 1, 0, 0, 0, 0, 3]
    assert histogram_labels()[0] == "0 to 9"
    assert histogram_labels()[-1] == "90 to 100"
