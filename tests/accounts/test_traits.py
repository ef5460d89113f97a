from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.junk import is_personal_domain
from accounts.normalise import InvalidValue
from accounts.traits import account_traits, contact_traits, seniority_from_title


@pytest.mark.parametrize(
    ("title", "seniority"),
    [
        ("Chief Marketing Officer", "c_level"),
        ("CFO", "c_level"),
        ("President", "c_level"),
        ("Vice President, Sales", "vp"),
        ("SVP Engineering", "vp"),
        ("Head of Demand Generation", "vp"),
        ("Director of IT", "director"),
        ("Product Owner", "other"),
        ("Marketing Manager", "manager"),
        ("Data Analyst", "other"),
        ("", "unknown"),
    ],
)
def test_seniority_is_read_from_the_title(title: str, seniority: str) -> None:
    assert seniority_from_title(title) == seniority


def test_contact_traits_accept_both_spellings_and_normalise_values() -> None:
    traits = contact_traits(
        {
            "email": " Ana.Lima@Northwind.EXAMPLE ",
            "firstName": "Ana",
            "last_name": "Lima",
            "title": "VP Marketing",
            "buyingRole": "Technical Evaluator",
            "job_function": "Information Technology",
            "country": "br",
        }
    )
    assert traits.email == "ana.lima@northwind.example"
    assert (traits.first_name, traits.last_name) == ("Ana", "Lima")
    assert traits.seniority == "vp"
    assert traits.buying_role == "technical_evaluator"
    assert traits.job_function == "it"
    assert traits.country == "BR"


@pytest.mark.parametrize(
    ("value", "code"),
    [("br", "BR"), ("DEU", "DE"), ("Germany", "DE"), ("United  States", "US"), ("UK", "GB")],
)
def test_countries_are_read_from_codes_and_names(value: str, code: str) -> None:
    assert contact_traits({"country": value}).country == code


def test_an_explicit_seniority_wins_over_the_title() -> None:
    assert contact_traits({"title": "Analyst", "seniority": "C-Level"}).seniority == "c_level"


def test_a_full_name_is_split_when_first_and_last_are_missing() -> None:
    traits = contact_traits({"name": "Ana Maria Lima"})
    assert (traits.first_name, traits.last_name) == ("Ana", "Maria Lima")


@pytest.mark.parametrize(
    ("traits", "message"),
    [
        ({"email": "not-an-email"}, "is not an email address"),
        ({"buyingRole": "cheerleader"}, "buying role 'cheerleader' is not one of"),
        ({"country": "Narnia"}, "country 'Narnia' is not a known country"),
    ],
)
def test_unreadable_contact_traits_say_which_and_why(traits: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        contact_traits(traits)


def test_account_traits_read_website_and_numbers_with_separators() -> None:
    traits = account_traits(
        {
            "name": "Northwind",
            "website": "https://www.Northwind.example/about",
            "employees": "1,200",
            "annualRevenue": "25,000,000.50",
            "industry": " Software ",
        }
    )
    assert traits.domain == "northwind.example"
    assert traits.employees == 1200
    assert traits.annual_revenue == Decimal("25000000.50")
    assert traits.industry == "Software"


def test_negative_or_non_numeric_firmographics_are_refused() -> None:
    with pytest.raises(InvalidValue, match="employees 'many' is not a number"):
        account_traits({"employees": "many"})
    with pytest.raises(InvalidValue, match="must not be negative"):
        account_traits({"annual_revenue": "-5"})


def test_free_mail_and_disposable_domains_are_personal() -> None:
    assert is_personal_domain("gmail.com")
    assert is_personal_domain("mailinator.com")
    assert not is_personal_domain("northwind.example")


def test_annual_revenue_is_kept_to_the_cent_and_checked_after_rounding() -> None:
    assert account_traits({"revenue": "1234.565"}).annual_revenue == Decimal("1234.57")
    assert account_traits({"revenue": "9999999999999.99"}).annual_revenue == Decimal(
        "9999999999999.99"
    )
    with pytest.raises(InvalidValue, match=r"annual revenue '9999999999999\.995' is out of range"):
        account_traits({"revenue": "9999999999999.995"})


@pytest.mark.parametrize("value", ["NaN", "sNaN", "-Infinity", "inf"])
def test_a_number_trait_that_is_not_finite_is_refused_naming_it(value: str) -> None:
    with pytest.raises(InvalidValue, match=f"employees '{value}' is not a finite number"):
        account_traits({"employees": value})
