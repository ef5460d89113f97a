"""accounts.fit on hand-computed values: fit = 100 * matched weight / total weight."""

from __future__ import annotations

import pytest

from accounts.fit import (
    InvalidCriteria,
    criterion_matches,
    fit_compute,
    fit_grade,
    fit_score,
)

SAAS = {
    "all": [
        {"field": "industry", "op": "in", "value": ["Software"], "weight": 2},
        {"field": "employees", "op": "between", "value": [200, 2000], "weight": 1},
        {"field": "country", "op": "in", "value": ["US", "GB"], "weight": 1},
    ]
}


@pytest.mark.parametrize(
    ("firmographics", "score", "grade"),
    [
        # 2 + 1 + 1 of 4
        ({"industry": "Software", "employees": 500, "country": "US"}, 100, "A"),
        # 2 + 1 of 4 = 75
        ({"industry": "Software", "employees": 500, "country": "FR"}, 75, "B"),
        # 2 of 4 = 50
        ({"industry": "Software", "employees": 5000, "country": "FR"}, 50, "C"),
        # 1 of 4 = 25
        ({"industry": "Retail", "employees": 2000, "country": "FR"}, 25, "D"),
        # 1 + 1 of 4 = 50: both bounds of `between` are inclusive
        ({"industry": "Retail", "employees": 200, "country": "GB"}, 50, "C"),
        # nothing known matches nothing
        ({}, 0, "D"),
        # a null employee count is not "between"
        ({"industry": "Software", "employees": None, "country": "US"}, 75, "B"),
    ],
)
def test_fit_of_weighted_criteria(firmographics: dict, score: int, grade: str) -> None:
    fit = fit_compute(criteria=SAAS, firmographics=firmographics)
    assert (fit.score, fit.grade) == (score, grade)
    assert fit.total_weight == 4


@pytest.mark.parametrize(
    ("matched", "total", "expected"),
    [
        (2, 3, 67),  # 66.67 rounds up
        (1, 3, 33),  # 33.33 rounds down
        (1, 8, 13),  # 12.5 rounds half up, not to even
        (5, 8, 63),  # 62.5 -> 63 (round() would give 62)
        (0, 5, 0),
        (5, 5, 100),
        (0, 0, 0),  # no criteria fit nothing
        (1.5, 2, 75),
    ],
)
def test_fit_score_rounds_half_up(matched: float, total: float, expected: int) -> None:
    assert fit_score(matched_weight=matched, total_weight=total) == expected


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, "A"), (80, "A"), (79, "B"), (60, "B"), (59, "C"), (40, "C"), (39, "D"), (0, "D")],
)
def test_grade_boundaries(score: int, grade: str) -> None:
    assert fit_grade(score) == grade


def test_default_weight_is_one_and_nested_groups_count_once() -> None:
    criteria = {
        "all": [
            {"field": "industry", "op": "eq", "value": "Software"},
            {
                "any": [
                    {"field": "country", "op": "eq", "value": "US"},
                    {"field": "annual_revenue", "op": "gte", "value": 1_000_000},
                ],
                "weight": 3,
            },
        ]
    }
    # industry misses (1), the group matches through revenue (3): 3 of 4.
    fit = fit_compute(
        criteria=criteria,
        firmographics={"industry": "Retail", "country": "FR", "annual_revenue": 2_000_000},
    )
    assert (fit.matched_weight, fit.total_weight, fit.score, fit.grade) == (3, 4, 75, "B")


@pytest.mark.parametrize(
    ("criterion", "value", "matches"),
    [
        ({"op": "gte", "value": 10}, 10, True),
        ({"op": "gt", "value": 10}, 10, False),
        ({"op": "lte", "value": 10}, 10, True),
        ({"op": "lt", "value": 10}, 10, False),
        ({"op": "ne", "value": "US"}, "GB", True),
        ({"op": "not_in", "value": ["US", "GB"]}, "GB", False),
        ({"op": "eq", "value": True}, True, True),
    ],
)
def test_operators(criterion: dict, value: object, matches: bool) -> None:
    assert criterion_matches({"field": "x", **criterion}, {"x": value}) is matches


def test_bad_criteria_are_refused() -> None:
    with pytest.raises(InvalidCriteria):
        criterion_matches({"field": "x", "op": "like", "value": "a"}, {"x": "a"})
    with pytest.raises(InvalidCriteria):
        fit_compute(
            criteria={"all": [{"field": "x", "op": "eq", "value": 1, "weight": -1}]},
            firmographics={},
        )
    with pytest.raises(InvalidCriteria):
        fit_score(matched_weight=3, total_weight=2)


def test_criteria_explain_lists_each_criterion_matched_or_missed() -> None:
    from accounts.fit import criteria_explain

    criteria = {
        "all": [
            {"field": "industry", "op": "in", "value": ["Software"], "weight": 2},
            {"field": "employees", "op": "between", "value": [200, 2000]},
        ]
    }
    explained = criteria_explain(
        criteria=criteria, firmographics={"industry": "Software", "employees": 50}
    )
    assert [(e["criterion"]["field"], e["weight"], e["matched"]) for e in explained] == [
        ("industry", 2.0, True),
        ("employees", 1.0, False),
    ]


SEGMENT = {
    "min_fit": 60,
    "all": [
        {"field": "country", "op": "in", "value": ["US", "CA"], "required": True},
        {"field": "industry", "op": "in", "value": ["Software"], "weight": 2},
        {"field": "employees", "op": "gte", "value": 200},
        {"field": "tags", "op": "has_any", "value": ["abm-2026", "expansion"]},
    ],
}


@pytest.mark.parametrize(
    ("firmographics", "fit"),
    [
        # country 1 + industry 2 of 5 = 60: a member at exactly min_fit
        ({"country": "US", "industry": "Software", "employees": 50, "tags": []}, 60),
        # everything but the required country: never a member
        ({"country": "DE", "industry": "Software", "employees": 500, "tags": ["abm-2026"]}, None),
        # country 1 + size 1 + tag 1 of 5 = 60
        ({"country": "CA", "industry": "Retail", "employees": 900, "tags": ["expansion"]}, 60),
        # country 1 + size 1 of 5 = 40: below min_fit
        ({"country": "US", "industry": "Retail", "employees": 900, "tags": []}, None),
    ],
)
def test_membership_needs_required_criteria_and_the_minimum_fit(
    firmographics: dict[str, object], fit: int | None
) -> None:
    from accounts.fit import segment_member

    member = segment_member(criteria=SEGMENT, firmographics=firmographics)
    assert (member.score if member else None) == fit


def test_has_all_needs_every_tag() -> None:
    criterion = {"field": "tags", "op": "has_all", "value": ["a", "b"]}
    assert criterion_matches(criterion, {"tags": ["a", "b", "c"]})
    assert not criterion_matches(criterion, {"tags": ["a"]})
