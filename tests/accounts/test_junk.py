"""Junk rules: each one flags the right contacts, and a reversal restores their activity."""

from __future__ import annotations

import pytest

from accounts.junk import JUNK_EXCLUSION_PREFIX, JunkRules, junk_exclusion_reason, junk_reason
from accounts.models import Contact, JunkRule
from engagement.models import Activity
from engagement.services.junk import contact_junk_set, junk_rules_apply
from tests.factories import AccountFactory, ActivityFactory, ContactFactory

RULES = JunkRules().extended(
    [
        ("competitor_domain", "rival.example"),
        ("unsupported_country", "kp"),
        ("title_keyword", "Recruiter"),
        ("free_mail_domain", "freemail.example"),
    ]
)


def reason(
    email: str | None = "ana@northwind.example",
    *,
    has_account: bool = True,
    country: str = "",
    title: str = "",
) -> str:
    return junk_reason(
        email=email, has_account=has_account, country=country, title=title, rules=RULES
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, ""),
        (
            {"email": "ana@gmail.com", "has_account": False},
            "free-mail domain without an account: gmail.com",
        ),
        ({"email": "ana@gmail.com", "has_account": True}, ""),
        (
            {"email": "bo@freemail.example", "has_account": False},
            "free-mail domain without an account",
        ),
        ({"email": "bo@mailinator.com"}, "disposable email domain: mailinator.com"),
        ({"email": "cy@rival.example"}, "competitor domain: rival.example"),
        ({"email": "cy@eu.rival.example"}, "competitor domain: eu.rival.example"),
        ({"email": "test@northwind.example"}, "invalid email: test@northwind.example"),
        ({"email": "ana@example.com"}, "invalid email"),
        ({"email": "ana@corp.invalid"}, "invalid email"),
        ({"country": "KP"}, "unsupported country: KP"),
        ({"title": "Computer Science Student"}, "job-seeker or student title"),
        ({"title": "Marketing Intern"}, "job-seeker or student title"),
        ({"title": "International Sales Manager"}, ""),
        ({"title": "Senior Recruiter"}, "job-seeker or student title"),
    ],
)
def test_each_rule_flags_the_right_contacts(kwargs: dict[str, object], expected: str) -> None:
    got = reason(**kwargs)  # type: ignore[arg-type]
    assert got.startswith(expected) if expected else got == ""


def test_a_junk_contacts_activity_is_excluded_with_its_reason_and_others_are_not() -> None:
    assert junk_exclusion_reason("competitor domain: rival.example") == (
        "junk contact: competitor domain: rival.example"
    )
    assert junk_exclusion_reason("") == ""
    assert JUNK_EXCLUSION_PREFIX == "junk contact: "


@pytest.mark.django_db
def test_applying_the_rules_flags_contacts_and_excludes_their_activity() -> None:
    JunkRule.objects.create(kind="competitor_domain", value="rival.example")
    account = AccountFactory.create()
    rival = ContactFactory.create(
        account=account, email="spy@rival.example", email_domain="rival.example"
    )
    fine = ContactFactory.create(account=account)
    ActivityFactory.create_batch(3, contact=rival)
    ActivityFactory.create_batch(2, contact=fine)

    result = junk_rules_apply()

    assert (result.contacts_changed, result.activities_updated) == (1, 3)
    rival.refresh_from_db()
    assert (rival.is_junk, rival.junk_reason) == (True, "competitor domain: rival.example")
    assert set(
        Activity.objects.filter(contact=rival).values_list("excluded_reason", flat=True)
    ) == {"junk contact: competitor domain: rival.example"}
    assert set(Activity.objects.filter(contact=fine).values_list("excluded_reason", flat=True)) == {
        ""
    }
    # Applying again changes nothing.
    assert junk_rules_apply().contacts_changed == 0


@pytest.mark.django_db
def test_reversing_a_flag_restores_the_activities_and_sticks() -> None:
    JunkRule.objects.create(kind="competitor_domain", value="rival.example")
    partner = ContactFactory.create(email="ally@rival.example", email_domain="rival.example")
    ActivityFactory.create_batch(2, contact=partner)
    junk_rules_apply()
    assert Activity.objects.exclude(excluded_reason="").count() == 2

    assert contact_junk_set(contact_id=partner.pk, is_junk=False) == 2

    partner.refresh_from_db()
    assert (partner.is_junk, partner.junk_reason, partner.junk_reviewed) == (False, "", True)
    assert Activity.objects.exclude(excluded_reason="").count() == 0
    # The rules no longer overturn a person's decision.
    assert junk_rules_apply().contacts_changed == 0
    assert Contact.objects.get(pk=partner.pk).is_junk is False


@pytest.mark.django_db
def test_flagging_by_hand_needs_no_rule() -> None:
    contact = ContactFactory.create()
    ActivityFactory.create(contact=contact)
    contact_junk_set(contact_id=contact.pk, is_junk=True, reason="bot traffic")
    assert Activity.objects.get().excluded_reason == "junk contact: bot traffic"
