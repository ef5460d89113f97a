"""Pure reading of contact and account traits as tracking clients and CRMs send them.

Keys are accepted in camelCase and snake_case (`firstName`, `first_name`);
values are trimmed and normalised, never rejected for capitalisation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pycountry

from accounts.normalise import InvalidValue, normalise_domain, normalise_email

SENIORITIES = ("c_level", "vp", "director", "manager", "other", "unknown")
JOB_FUNCTIONS = (
    "executive",
    "marketing",
    "sales",
    "it",
    "engineering",
    "finance",
    "operations",
    "hr",
    "procurement",
    "other",
    "unknown",
)
BUYING_ROLES = (
    "decision_maker",
    "economic_buyer",
    "champion",
    "influencer",
    "technical_evaluator",
    "user",
    "blocker",
    "unknown",
)

# Checked in order: the first pattern found in a title decides its seniority.
_SENIORITY_BY_TITLE = (
    ("c_level", r"\b(ceo|cfo|cto|cio|cmo|coo|ciso|cro|cpo|chief|founder|(?<!vice )president)\b"),
    ("vp", r"\b(vp|svp|evp|vice president|head of)\b"),
    ("director", r"\b(director|dir\.)\b"),
    ("manager", r"\b(manager|mgr|lead|supervisor)\b"),
)

_SENIORITY_ALIASES = {
    "c-level": "c_level",
    "c level": "c_level",
    "c-suite": "c_level",
    "executive": "c_level",
    "vice president": "vp",
    "head": "vp",
}


def _get(traits: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = traits.get(name)
        if value is not None and value != "":
            return value
    return None


def _text(traits: Mapping[str, Any], *names: str, max_length: int = 200) -> str:
    value = _get(traits, *names)
    return "" if value is None else str(value).strip()[:max_length]


def _choice(value: Any, choices: tuple[str, ...], field: str, aliases: Mapping[str, str]) -> str:
    """`Technical Evaluator` -> `technical_evaluator`; unknown spellings raise."""
    if value is None:
        return ""
    folded = re.sub(r"[\s\-]+", " ", str(value).strip().lower())
    folded = aliases.get(folded, folded)
    key = folded.replace(" ", "_")
    if key not in choices:
        raise InvalidValue(f"{field} {value!r} is not one of {', '.join(choices)}")
    return key


def seniority_from_title(title: str) -> str:
    lowered = title.lower()
    for seniority, pattern in _SENIORITY_BY_TITLE:
        if re.search(pattern, lowered):
            return seniority
    return "other" if lowered.strip() else "unknown"


# Names CRMs use that the ISO list does not know.
_COUNTRY_ALIASES = {
    "UK": "GB",
    "GREAT BRITAIN": "GB",
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "U.S.": "US",
    "U.S.A.": "US",
    "UNITED STATES OF AMERICA": "US",
    "DEUTSCHLAND": "DE",
    "SOUTH KOREA": "KR",
    "RUSSIA": "RU",
}


def country_code(value: Any) -> str:
    """`de`, `DEU`, `Germany`, `Deutschland` -> `DE`; blank -> ``."""
    if value is None or str(value).strip() == "":
        return ""
    text = " ".join(str(value).split())
    alias = _COUNTRY_ALIASES.get(text.upper())
    if alias:
        return alias
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        raise InvalidValue(f"country {value!r} is not a known country name or ISO code") from None


@dataclass(frozen=True)
class ContactTraits:
    email: str | None
    first_name: str
    last_name: str
    title: str
    seniority: str
    job_function: str
    buying_role: str
    country: str


def contact_traits(traits: Mapping[str, Any]) -> ContactTraits:
    """Raises InvalidValue naming the trait and value that cannot be read."""
    first = _text(traits, "firstName", "first_name", max_length=100)
    last = _text(traits, "lastName", "last_name", max_length=100)
    if not (first or last):
        full_name = _text(traits, "name")
        first, _, last = full_name.partition(" ")
    title = _text(traits, "title", "jobTitle", "job_title")
    seniority = _choice(_get(traits, "seniority"), SENIORITIES, "seniority", _SENIORITY_ALIASES)
    return ContactTraits(
        email=normalise_email(_text(traits, "email", max_length=254) or None),
        first_name=first[:100],
        last_name=last[:100],
        title=title,
        seniority=seniority or (seniority_from_title(title) if title else ""),
        job_function=_choice(
            _get(traits, "jobFunction", "job_function", "department"),
            JOB_FUNCTIONS,
            "job function",
            {"information technology": "it", "human resources": "hr"},
        ),
        buying_role=_choice(
            _get(traits, "buyingRole", "buying_role"), BUYING_ROLES, "buying role", {}
        ),
        country=country_code(_get(traits, "country", "countryCode", "country_code")),
    )


@dataclass(frozen=True)
class AccountTraits:
    name: str
    domain: str | None
    industry: str
    employees: int | None
    annual_revenue: Decimal | None
    country: str


# The ranges of the columns numeric traits are stored in (a test checks them
# against the model). A value outside is refused with its call: the database
# would refuse the whole write otherwise (PostgreSQL), or store what cannot be
# read back (SQLite).
# Account.employees, a PositiveIntegerField: PostgreSQL's integer.
EMPLOYEES_MAX = 2_147_483_647
# Account.annual_revenue, a DecimalField(16, 2). SQLite keeps decimals as
# floats, exact to 15 significant digits only: a 16-digit amount comes back
# as one Django cannot read. So amounts are accepted below 10^13 (15 digits
# with the cents): ten trillion, more than any company's revenue.
ANNUAL_REVENUE_DECIMAL_PLACES = 2
ANNUAL_REVENUE_LIMIT = Decimal(10) ** 13
_CENT = Decimal(1).scaleb(-ANNUAL_REVENUE_DECIMAL_PLACES)


def _number(value: Any, field: str, *, below: Decimal) -> Decimal | None:
    """A non-negative number under `below`; raises InvalidValue naming the trait."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip().replace(",", "").replace("_", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidValue(f"{field} {value!r} is not a number") from None
    # Finite first: comparing NaN raises.
    if not number.is_finite():
        raise InvalidValue(f"{field} {value!r} is not a finite number")
    if number < 0:
        raise InvalidValue(f"{field} {value!r} must not be negative")
    # Compared as a Decimal before any int() of it: 1e999999999 is a short text.
    if number >= below:
        raise InvalidValue(
            f"{field} {value!r} is out of range (the largest accepted is {below - 1})"
        )
    return number


def _employees(value: Any) -> int | None:
    number = _number(value, "employees", below=Decimal(EMPLOYEES_MAX) + 1)
    return int(number) if number is not None else None


def _annual_revenue(value: Any) -> Decimal | None:
    number = _number(value, "annual revenue", below=ANNUAL_REVENUE_LIMIT)
    if number is None:
        return None
    # Rounded to the column's cents here (half away from zero, as PostgreSQL
    # rounds a numeric), so what is stored is what was checked.
    rounded = number.quantize(_CENT, rounding=ROUND_HALF_UP)
    if rounded >= ANNUAL_REVENUE_LIMIT:
        raise InvalidValue(f"annual revenue {value!r} is out of range")
    return rounded


def account_traits(traits: Mapping[str, Any]) -> AccountTraits:
    return AccountTraits(
        name=_text(traits, "name", "company", max_length=255),
        domain=normalise_domain(_text(traits, "domain", "website", max_length=253) or None),
        industry=_text(traits, "industry", max_length=100),
        employees=_employees(_get(traits, "employees", "employee_count", "numberOfEmployees")),
        annual_revenue=_annual_revenue(_get(traits, "annualRevenue", "annual_revenue", "revenue")),
        country=country_code(_get(traits, "country", "countryCode", "country_code")),
    )
