"""Every path that creates or updates accounts and contacts merges by one
policy (accounts.merge): a CSV import, a tracking identify or group call and the
demo's bulk upserts all keep a known value when a blank arrives, never re-key a
record, and never move a contact to the account of its email domain."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from accounts.identity import AccountGroup, ContactIdentity, accounts_group, contacts_identify
from accounts.models import Account, Contact
from accounts.services import AccountRow, ContactRow, accounts_bulk_upsert, contacts_bulk_upsert
from accounts.traits import account_traits, contact_traits
from imports.services import csv_import
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def contact_by_csv(email: str, first_name: str, title: str) -> None:
    csv_import(kind="contacts", data=f"Email,First Name,Job Title\n{email},{first_name},{title}\n")


def contact_by_identify(email: str, first_name: str, title: str) -> None:
    traits = contact_traits({"email": email, "firstName": first_name, "title": title})
    contacts_identify(identities=[ContactIdentity(user_id="", traits=traits)])


def contact_by_demo_upsert(email: str, first_name: str, title: str) -> None:
    contacts_bulk_upsert(rows=[ContactRow(email=email, first_name=first_name, title=title)])


CONTACT_PATHS = [contact_by_csv, contact_by_identify, contact_by_demo_upsert]


@pytest.mark.parametrize("arrive", CONTACT_PATHS, ids=lambda f: f.__name__)
def test_a_blank_never_erases_a_known_contact_value_and_the_rest_updates(
    arrive: Callable[[str, str, str], None],
) -> None:
    account = AccountFactory.create(domain="northwind.example")
    ContactFactory.create(
        account=account, email="ana@northwind.example", first_name="Ana", title="CFO",
        seniority="c_level", country="DE",
    )  # fmt: skip
    arrive("ana@northwind.example", "Anna", "")
    ana = Contact.objects.get(email="ana@northwind.example")
    assert (ana.first_name, ana.title, ana.seniority, ana.country) == (
        "Anna",
        "CFO",
        "c_level",
        "DE",
    )
    assert ana.account == account


def account_by_csv(domain: str, name: str, industry: str) -> None:
    csv_import(kind="accounts", data=f"Company name,Website,Industry\n{name},{domain},{industry}\n")


def account_by_group(domain: str, name: str, industry: str) -> None:
    traits = account_traits({"domain": domain, "name": name, "industry": industry})
    accounts_group(groups=[AccountGroup(group_id="g-1", traits=traits)])


def account_by_demo_upsert(domain: str, name: str, industry: str) -> None:
    accounts_bulk_upsert(rows=[AccountRow(name=name, domain=domain, industry=industry)])


ACCOUNT_PATHS = [account_by_csv, account_by_group, account_by_demo_upsert]


@pytest.mark.parametrize("arrive", ACCOUNT_PATHS, ids=lambda f: f.__name__)
def test_a_blank_never_erases_a_known_account_value_and_the_rest_updates(
    arrive: Callable[[str, str, str], None],
) -> None:
    AccountFactory.create(
        domain="northwind.example", name="Northwind", industry="Software", employees=500,
        annual_revenue=Decimal("25000000.00"), country="US", tier=1,
    )  # fmt: skip
    arrive("northwind.example", "Northwind Inc", "")
    northwind = Account.objects.get(domain="northwind.example")
    assert (northwind.name, northwind.industry, northwind.employees, northwind.tier) == (
        "Northwind Inc", "Software", 500, 1,
    )  # fmt: skip
    assert (northwind.annual_revenue, northwind.country) == (Decimal("25000000.00"), "US")


def test_an_import_never_rekeys_a_contact_or_account_that_tracking_knows() -> None:
    ContactFactory.create(email="ana@northwind.example", external_id="u-1")
    csv_import(kind="contacts", data="Email,Record ID,Job Title\nana@northwind.example,5012,CFO\n")
    assert Contact.objects.get(email="ana@northwind.example").external_id == "u-1"
    AccountFactory.create(domain="contoso.example", external_id="g-1")
    csv_import(
        kind="accounts", data="Record ID,Company name,Website\n101,Contoso,contoso.example\n"
    )
    assert Account.objects.get(domain="contoso.example").external_id == "g-1"
    # Where there is none, the import's id is given.
    ContactFactory.create(email="bo@northwind.example", external_id=None)
    csv_import(kind="contacts", data="Email,Record ID\nbo@northwind.example,5013\n")
    assert Contact.objects.get(email="bo@northwind.example").external_id == "5013"


@pytest.mark.parametrize("arrive", [contact_by_csv, contact_by_identify], ids=lambda f: f.__name__)
def test_a_contact_keeps_its_account_when_its_email_domain_has_another(
    arrive: Callable[[str, str, str], None],
) -> None:
    assigned = AccountFactory.create(domain="fabrikam.example")
    AccountFactory.create(domain="northwind.example")
    ContactFactory.create(account=assigned, email="ana@northwind.example")
    arrive("ana@northwind.example", "Ana", "CFO")
    assert Contact.objects.get(email="ana@northwind.example").account == assigned


def test_an_import_that_names_an_account_moves_the_contact_there() -> None:
    northwind = AccountFactory.create(domain="northwind.example")
    ContactFactory.create(account=AccountFactory.create(), email="ana@northwind.example")
    csv_import(
        kind="contacts", data="Email,Company Domain\nana@northwind.example,northwind.example\n"
    )
    assert Contact.objects.get(email="ana@northwind.example").account == northwind


def test_an_import_does_not_flag_a_free_mail_contact_linked_to_an_account_as_junk() -> None:
    account = AccountFactory.create(domain="northwind.example")
    ContactFactory.create(account=account, email="bo@gmail.com", email_domain="gmail.com")
    csv_import(kind="contacts", data="Email,First Name\nbo@gmail.com,Bo\n")
    bo = Contact.objects.get(email="bo@gmail.com")
    assert (bo.account, bo.is_junk, bo.junk_reason) == (account, False, "")


def test_the_demo_upsert_keeps_a_contacts_account_and_writes_its_junk_flag() -> None:
    account = AccountFactory.create(domain="northwind.example")
    ContactFactory.create(
        account=account, email="ana@northwind.example", is_junk=True, junk_reason="bot traffic"
    )
    contacts_bulk_upsert(rows=[ContactRow(email="ana@northwind.example", account_id=None)])
    ana = Contact.objects.get(email="ana@northwind.example")
    assert (ana.account, ana.is_junk, ana.junk_reason) == (account, False, "")
