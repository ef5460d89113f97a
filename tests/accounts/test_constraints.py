"""Invariants the database itself enforces, whatever path a write takes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Account, Contact, Opportunity
from accounts.normalise import InvalidValue, normalise_domain, normalise_email
from campaigns.models import Spend
from tests.factories import AccountFactory, ContactFactory, ProgramFactory

pytestmark = pytest.mark.django_db


def refused(create: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()  # type: ignore[operator]


@pytest.mark.parametrize(
    "variant", ["example.com", "Example.com", "EXAMPLE.COM", "www.example.com"]
)
def test_a_second_account_with_the_same_domain_is_refused(variant: str) -> None:
    Account.objects.create(name="Example", domain="example.com")
    refused(lambda: Account.objects.create(name="Example again", domain=variant))
    assert Account.objects.count() == 1


def test_accounts_without_a_domain_may_coexist() -> None:
    Account.objects.create(name="Acme", domain=None)
    Account.objects.create(name="Acme GmbH", domain=None)
    assert Account.objects.filter(domain__isnull=True).count() == 2


@pytest.mark.parametrize("variant", ["ana@example.com", "Ana@Example.com", "ANA@EXAMPLE.COM"])
def test_a_second_contact_with_the_same_email_is_refused(variant: str) -> None:
    Contact.objects.create(email="ana@example.com", email_domain="example.com")
    refused(lambda: Contact.objects.create(email=variant, email_domain="example.com"))
    assert Contact.objects.count() == 1


def test_the_email_domain_must_be_the_domain_of_the_email() -> None:
    refused(lambda: Contact.objects.create(email="ana@example.com", email_domain=""))
    refused(lambda: Contact.objects.create(email="ana@example.com", email_domain="other.example"))
    refused(lambda: Contact.objects.create(email=None, email_domain="example.com"))
    Contact.objects.create(email=None, external_id="user-1")


def test_a_junk_contact_must_say_why() -> None:
    refused(lambda: ContactFactory.create(is_junk=True, junk_reason=""))


def test_a_negative_opportunity_amount_is_refused() -> None:
    account = AccountFactory.create()
    refused(
        lambda: Opportunity.objects.create(
            account=account, name="Deal", amount=Decimal("-1.00"), opened_on=dt.date(2026, 1, 1)
        )
    )
    Opportunity.objects.create(
        account=account, name="Unknown amount", opened_on=dt.date(2026, 1, 1)
    )
    assert Opportunity.objects.get().amount is None


def test_a_closed_opportunity_needs_a_close_date_not_before_it_opened() -> None:
    account = AccountFactory.create()
    refused(
        lambda: Opportunity.objects.create(
            account=account, name="Won", status="won", opened_on=dt.date(2026, 1, 1)
        )
    )
    refused(
        lambda: Opportunity.objects.create(
            account=account,
            name="Backwards",
            status="lost",
            opened_on=dt.date(2026, 2, 1),
            close_on=dt.date(2026, 1, 1),
        )
    )


def test_negative_spend_is_refused() -> None:
    program = ProgramFactory.create()
    refused(
        lambda: Spend.objects.create(
            program=program, spent_on=dt.date(2026, 1, 1), amount=Decimal("-0.01")
        )
    )
    Spend.objects.create(program=program, spent_on=dt.date(2026, 1, 1), amount=Decimal("0"))
    assert Spend.objects.count() == 1


def test_tier_is_one_to_three() -> None:
    refused(lambda: AccountFactory.create(tier=4))


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Example.com", "example.com"),
        ("https://www.Example.com/pricing?x=1", "example.com"),
        ("  www.www.example.co.uk. ", "example.co.uk"),
        ("sub.example.com:8080", "sub.example.com"),
        ("", None),
        (None, None),
    ],
)
def test_domains_normalise_to_the_stored_form(raw: str | None, normalised: str | None) -> None:
    assert normalise_domain(raw) == normalised


@pytest.mark.parametrize("raw", ["localhost", "not a domain", "exa_mple.com", "-bad.com"])
def test_a_non_domain_is_refused_with_its_value(raw: str) -> None:
    with pytest.raises(InvalidValue, match="is not a web domain"):
        normalise_domain(raw)


def test_emails_normalise_to_lower_case() -> None:
    assert normalise_email("  Ana.Lima@Example.COM ") == "ana.lima@example.com"
    assert normalise_email("") is None
    with pytest.raises(InvalidValue, match="is not an email address"):
        normalise_email("ana at example.com")
