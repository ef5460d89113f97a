"""Criteria as rows (accounts.criteria): the operators each field takes, what a
typed value reads as, and the round trip from criteria to rows and back."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.criteria import (
    FIELDS,
    CriterionRow,
    criteria_build,
    criteria_rows,
    operators_for,
    value_format,
    value_parse,
)
from accounts.fit import InvalidCriteria
from accounts.selectors import FIRMOGRAPHIC_FIELDS


def test_the_rows_offer_every_firmographic_the_membership_rule_reads() -> None:
    assert set(FIELDS) == set(FIRMOGRAPHIC_FIELDS)


def test_each_field_takes_the_operators_that_make_sense_on_it() -> None:
    assert operators_for("industry") == ("eq", "ne", "in", "not_in")
    assert "between" in operators_for("employees") and "has_any" not in operators_for("employees")
    assert operators_for("is_customer") == ("eq", "ne")
    assert operators_for("tags") == ("has_any", "has_all")
    assert operators_for("revenue_band") == ()


@pytest.mark.parametrize(
    ("field", "op", "text", "value"),
    [
        ("industry", "in", " Software,Telecommunications , ", ["Software", "Telecommunications"]),
        ("industry", "eq", " Retail ", "Retail"),
        ("country", "in", "us, gb", ["US", "GB"]),
        ("employees", "between", "200 to 2000", [200, 2000]),
        ("employees", "between", "200-2,000", [200, 2000]),
        ("employees", "between", "200, 2000", [200, 2000]),
        ("employees", "gte", "1.5k", 1500),
        ("annual_revenue", "gte", "$250M", 250_000_000),
        ("annual_revenue", "lt", "2.5", 2.5),
        ("annual_revenue", "gte", "1bn", 1_000_000_000),
        ("tier", "in", "1, 2", [1, 2]),
        ("is_customer", "eq", "Yes", True),
        ("is_target", "ne", "no", False),
        ("tags", "has_all", "abm, q3", ["abm", "q3"]),
    ],
)
def test_a_typed_value_reads_as_the_criterion_value(
    field: str, op: str, text: str, value: Any
) -> None:
    assert value_parse(field=field, op=op, text=text) == value


@pytest.mark.parametrize(
    ("field", "op", "text", "message"),
    [
        ("revenue_band", "eq", "x", "not a field segments can use"),
        ("industry", "gte", "Software", "Industry takes: is, is not, is one of, is none of"),
        ("employees", "gte", "lots", "'lots' is not a number"),
        ("employees", "gte", "-5", "'-5' is not a number"),
        ("employees", "eq", "2.5", "'2.5' is not a whole number"),
        ("employees", "between", "200", "Enter a range as low to high"),
        ("employees", "between", "2000 to 200", "The low end (2000) is above the high end (200)"),
        ("country", "eq", "USA", "'USA' is not a 2-letter country code"),
        ("is_target", "eq", "maybe", "'maybe': enter yes or no"),
        ("tags", "has_any", "  ", "Enter a value"),
    ],
)
def test_a_value_that_does_not_read_says_what_to_type(
    field: str, op: str, text: str, message: str
) -> None:
    with pytest.raises(InvalidCriteria, match=message.replace("(", r"\(").replace(")", r"\)")):
        value_parse(field=field, op=op, text=text)


def test_the_demo_segments_criteria_read_as_rows_and_build_back_the_same() -> None:
    criteria = {
        "all": [
            {"field": "industry", "op": "in", "value": ["Financial Services", "Insurance"],
             "weight": 2, "required": True},
            {"field": "employees", "op": "gte", "value": 1000, "weight": 1},
            {"field": "annual_revenue", "op": "gte", "value": 250_000_000, "weight": 1},
        ],
        "min_fit": 75,
    }  # fmt: skip
    shown = criteria_rows(criteria)
    assert shown is not None
    rows, min_fit = shown
    assert min_fit == 75
    assert rows == [
        CriterionRow("industry", "in", "Financial Services, Insurance", 2.0, True),
        CriterionRow("employees", "gte", "1000", 1.0, False),
        CriterionRow("annual_revenue", "gte", "250000000", 1.0, False),
    ]
    assert criteria_build(rows=rows, min_fit=min_fit) == criteria


def test_a_single_leaf_reads_as_one_row_and_the_default_minimum_is_not_stored() -> None:
    shown = criteria_rows({"field": "tier", "op": "eq", "value": 1})
    assert shown == ([CriterionRow("tier", "eq", "1")], 50)
    built = criteria_build(rows=[CriterionRow("tier", "eq", "1", 0.5)], min_fit=50)
    assert built == {"all": [{"field": "tier", "op": "eq", "value": 1, "weight": 0.5}]}
    assert criteria_rows({}) == ([], 50)


@pytest.mark.parametrize(
    "criteria",
    [
        {"all": [{"any": [{"field": "tier", "op": "eq", "value": 1}]}]},
        {"all": [{"field": "tier", "op": "eq", "value": 1, "note": "why"}]},
        {"all": [{"field": "tier", "op": "eq", "value": 1}], "label": "x"},
        {"all": [{"field": "tier", "op": "eq", "value": 1}], "min_fit": 62.5},
    ],
)
def test_criteria_the_rows_cannot_carry_are_not_flattened(criteria: dict[str, Any]) -> None:
    assert criteria_rows(criteria) is None


def test_building_refuses_a_negative_weight_and_a_minimum_outside_0_100() -> None:
    with pytest.raises(InvalidCriteria, match="cannot be negative"):
        criteria_build(rows=[CriterionRow("tier", "eq", "1", -1)], min_fit=50)
    with pytest.raises(InvalidCriteria, match="between 0 and 100"):
        criteria_build(rows=[CriterionRow("tier", "eq", "1")], min_fit=101)


def test_a_value_formats_as_it_would_be_typed() -> None:
    assert value_format(field="employees", op="between", value=[200, 2000]) == "200 to 2000"
    assert value_format(field="is_target", op="eq", value=True) == "yes"
    assert value_format(field="annual_revenue", op="gte", value=2.0) == "2"
