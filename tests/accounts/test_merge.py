"""The merge policy on plain values: what an incoming value does to a stored one."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from accounts.merge import ACCOUNT_MERGE, CONTACT_MERGE, contact_account, is_blank


@pytest.mark.parametrize("value", [None, "", [], {}, ()])
def test_none_empty_text_and_empty_collections_are_blank(value: object) -> None:
    assert is_blank(value)


@pytest.mark.parametrize("value", [0, False, Decimal("0"), "x", ["demo"]])
def test_zero_false_and_text_are_values(value: object) -> None:
    assert not is_blank(value)


def test_a_non_blank_value_updates_and_a_blank_one_keeps_the_stored_value() -> None:
    assert CONTACT_MERGE.value("title", "CFO", "VP Finance") == "VP Finance"
    assert CONTACT_MERGE.value("title", "CFO", "") == "CFO"
    assert CONTACT_MERGE.value("title", "CFO", None) == "CFO"
    assert CONTACT_MERGE.value("title", "", "CFO") == "CFO"
    assert ACCOUNT_MERGE.value("employees", 500, None) == 500
    assert ACCOUNT_MERGE.value("employees", 500, 0) == 0
    assert ACCOUNT_MERGE.value("is_target", True, False) is False
    assert ACCOUNT_MERGE.value("tags", ["demo"], []) == ["demo"]


def test_identity_keys_are_set_once_and_never_rekeyed() -> None:
    assert CONTACT_MERGE.value("external_id", "", "u-1") == "u-1"
    assert CONTACT_MERGE.value("external_id", None, "u-1") == "u-1"
    assert CONTACT_MERGE.value("external_id", "u-1", "crm-9") == "u-1"
    assert CONTACT_MERGE.value("email", "ana@northwind.example", "a@x.example") == (
        "ana@northwind.example"
    )
    assert ACCOUNT_MERGE.value("external_id", "g-1", "101") == "g-1"
    assert ACCOUNT_MERGE.value("domain", None, "northwind.example") == "northwind.example"


def test_derived_values_are_always_written_unless_not_recomputed() -> None:
    assert CONTACT_MERGE.value("junk_reason", "competitor domain: x", "") == ""
    assert CONTACT_MERGE.value("is_junk", True, False) is False
    assert CONTACT_MERGE.value("is_junk", True, None) is True


def test_traits_merge_key_by_key_and_only_differences_are_changes() -> None:
    stored = {"first_name": "Ana", "last_name": "Lima", "title": "CFO", "external_id": "u-1"}
    incoming = {"first_name": "", "title": "VP Finance", "country": "DE", "external_id": "c-9"}
    assert CONTACT_MERGE.changes(stored, incoming) == {"title": "VP Finance", "country": "DE"}
    assert CONTACT_MERGE.changes(stored, {"first_name": "Ana", "last_name": None}) == {}


def test_a_named_account_wins_and_the_email_domains_only_fills_an_empty_link() -> None:
    assert contact_account(stored=1, named=2, of_email_domain=3) == 2
    assert contact_account(stored=1, named=None, of_email_domain=3) == 1
    assert contact_account(stored=None, named=None, of_email_domain=3) == 3
    assert contact_account(stored=None, named=None, of_email_domain=None) is None


def test_apply_sets_the_changes_on_a_record_and_returns_them() -> None:
    record = SimpleNamespace(external_id="", title="CFO", country="DE")
    changes = CONTACT_MERGE.apply(record, {"external_id": "u-1", "title": "", "country": "FR"})
    assert changes == {"external_id": "u-1", "country": "FR"}
    assert (record.external_id, record.title, record.country) == ("u-1", "CFO", "FR")
