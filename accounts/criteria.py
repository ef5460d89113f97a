"""A segment's criteria as rows a person edits: which firmographic fields there
are, which operators each takes, and the text typed for a value (DESIGN 4).

Pure: plain values in and out, no Django. accounts/fit.py evaluates criteria;
this module turns rows of text into criteria fit.py can evaluate, and back, so
the segment form never shows JSON. A criteria tree the rows cannot express (a
nested group, a key the rows do not carry) is reported as such rather than
flattened: saving it from rows would lose meaning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from accounts.fit import DEFAULT_MIN_FIT, InvalidCriteria

TEXT, NUMBER, WHOLE, YES_NO, LIST = "text", "number", "whole", "yes_no", "list"

# field -> (label, kind). The fields are accounts.selectors.FIRMOGRAPHIC_FIELDS
# (tests hold the two together), in the order a person thinks of them.
FIELDS: dict[str, tuple[str, str]] = {
    "industry": ("Industry", TEXT),
    "employees": ("Employees", WHOLE),
    "annual_revenue": ("Annual revenue (USD)", NUMBER),
    "country": ("Country (2-letter code)", TEXT),
    "tier": ("Tier (1-3)", WHOLE),
    "is_customer": ("Existing customer", YES_NO),
    "is_target": ("Target account", YES_NO),
    "tags": ("Tags", LIST),
}

OPERATOR_LABELS: dict[str, str] = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "between": "is between",
    "gte": "is at least",
    "gt": "is more than",
    "lte": "is at most",
    "lt": "is less than",
    "has_any": "has any of",
    "has_all": "has all of",
}

_ORDERED = ("eq", "ne", "in", "not_in", "between", "gte", "gt", "lte", "lt")
OPERATORS_BY_KIND: dict[str, tuple[str, ...]] = {
    TEXT: ("eq", "ne", "in", "not_in"),
    NUMBER: _ORDERED,
    WHOLE: _ORDERED,
    YES_NO: ("eq", "ne"),
    LIST: ("has_any", "has_all"),
}

# The keys a row carries; a leaf with any other key cannot be edited as a row.
_ROW_KEYS = frozenset({"field", "op", "value", "weight", "required"})
_LIST_OPERATORS = frozenset({"in", "not_in", "has_any", "has_all"})
_SUFFIXES = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000, "bn": 1_000_000_000}
_NUMBER = re.compile(r"^\$?\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*(k|m|bn|b)?$", re.IGNORECASE)
_YES, _NO = frozenset({"yes", "y", "true"}), frozenset({"no", "n", "false"})


@dataclass(frozen=True, slots=True)
class CriterionRow:
    """One criterion as the form shows it: the value as typed text."""

    field: str
    op: str
    value: str
    weight: float = 1.0
    required: bool = False


def operators_for(field: str) -> tuple[str, ...]:
    """The operators that make sense on `field` (empty for an unknown field)."""
    known = FIELDS.get(field)
    return OPERATORS_BY_KIND[known[1]] if known else ()


def _number(text: str, *, whole: bool) -> int | float:
    found = _NUMBER.match(text.strip().replace(",", ""))
    if not found:
        example = "500" if whole else "250000000 or 250M"
        raise InvalidCriteria(f"{text.strip()!r} is not a number (such as {example})")
    try:
        amount = Decimal(found.group(1).replace("_", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise InvalidCriteria(f"{text!r} is not a number") from None
    amount *= _SUFFIXES[found.group(2).lower()] if found.group(2) else 1
    if amount == amount.to_integral_value():
        return int(amount)
    if whole:
        raise InvalidCriteria(f"{text.strip()!r} is not a whole number")
    return float(amount)


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _one_text(field: str, text: str) -> str:
    value = text.strip()
    if not value:
        raise InvalidCriteria("Enter a value")
    if field == "country":
        if not re.fullmatch(r"[A-Za-z]{2}", value):
            raise InvalidCriteria(f"{value!r} is not a 2-letter country code (such as US, GB)")
        return value.upper()
    return value


def value_parse(*, field: str, op: str, text: str) -> Any:
    """The criterion value for what a person typed, or InvalidCriteria saying
    what to type. Lists are comma-separated; a range is "low to high" (or
    "low, high"); numbers may end in k, M or B; yes/no fields take yes or no."""
    if field not in FIELDS:
        raise InvalidCriteria(f"{field!r} is not a field segments can use")
    kind = FIELDS[field][1]
    if op not in OPERATORS_BY_KIND[kind]:
        allowed = ", ".join(OPERATOR_LABELS[name] for name in OPERATORS_BY_KIND[kind])
        raise InvalidCriteria(f"{FIELDS[field][0]} takes: {allowed}")
    if not text.strip():
        raise InvalidCriteria("Enter a value")
    if kind == YES_NO:
        word = text.strip().lower()
        if word not in _YES | _NO:
            raise InvalidCriteria(f"{text.strip()!r}: enter yes or no")
        return word in _YES
    if kind == LIST:
        return _items(text)
    if kind == TEXT:
        if op in _LIST_OPERATORS:
            return [_one_text(field, item) for item in _items(text)]
        return _one_text(field, text)
    whole = kind == WHOLE
    if op == "between":
        parts = [part for part in re.split(r"\s+to\s+|\s*[-\u2013]\s*", text.strip()) if part]
        if len(parts) == 1:
            parts = _items(text)
        if len(parts) != 2:
            raise InvalidCriteria("Enter a range as low to high (such as 200 to 2000)")
        low, high = (_number(part, whole=whole) for part in parts)
        if low > high:
            raise InvalidCriteria(f"The low end ({low}) is above the high end ({high})")
        return [low, high]
    if op in _LIST_OPERATORS:
        return [_number(item, whole=whole) for item in _items(text)]
    return _number(text, whole=whole)


def _format_one(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def value_format(*, field: str, op: str, value: Any) -> str:
    """The text a person would type for `value` (value_parse's inverse)."""
    if op == "between" and isinstance(value, Sequence) and len(value) == 2:
        return f"{_format_one(value[0])} to {_format_one(value[1])}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(_format_one(item) for item in value)
    return _format_one(value)


def criteria_rows(criteria: Mapping[str, Any]) -> tuple[list[CriterionRow], int] | None:
    """The rows and the minimum fit of flat criteria, or None when the criteria
    hold something rows cannot show (a nested group, another key)."""
    if not criteria:
        return [], DEFAULT_MIN_FIT
    if set(criteria) - {"all", "any", "min_fit"}:
        if set(criteria) <= _ROW_KEYS:  # a single leaf at the top
            criteria = {"all": [criteria]}
        else:
            return None
    items = criteria.get("all", criteria.get("any"))
    min_fit = criteria.get("min_fit", DEFAULT_MIN_FIT)
    if not isinstance(items, list) or isinstance(min_fit, bool) or not isinstance(min_fit, int):
        return None
    rows = []
    for item in items:
        if not isinstance(item, Mapping) or set(item) - _ROW_KEYS or "field" not in item:
            return None
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            return None
        rows.append(
            CriterionRow(
                field=str(item["field"]),
                op=str(item.get("op", "")),
                value=value_format(
                    field=str(item["field"]), op=str(item.get("op", "")), value=item.get("value")
                ),
                weight=float(weight),
                required=bool(item.get("required", False)),
            )
        )
    return rows, min_fit


def criteria_build(*, rows: Sequence[CriterionRow], min_fit: int) -> dict[str, Any]:
    """Criteria for fit.py from rows whose values parse (value_parse raises on
    one that does not). The minimum fit is stored only when it is not the
    default, so a segment left at the default follows it."""
    if not 0 <= min_fit <= 100:
        raise InvalidCriteria("The minimum fit lies between 0 and 100")
    items = []
    for row in rows:
        if row.weight < 0:
            raise InvalidCriteria("A weight cannot be negative")
        item: dict[str, Any] = {
            "field": row.field,
            "op": row.op,
            "value": value_parse(field=row.field, op=row.op, text=row.value),
            "weight": int(row.weight) if float(row.weight).is_integer() else row.weight,
        }
        if row.required:
            item["required"] = True
        items.append(item)
    criteria: dict[str, Any] = {"all": items}
    if min_fit != DEFAULT_MIN_FIT:
        criteria["min_fit"] = min_fit
    return criteria
