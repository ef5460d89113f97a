"""The marketer's junk lists: each typed line checked and normalised (pure),
replaced all or nothing, the rule a stored reason came from, and what a
re-evaluation would change (one owner for the evaluation and the preview)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.junk import (
    REASON_PREFIXES,
    ContactJunkFacts,
    JunkRules,
    junk_changes,
    junk_reason,
    junk_reason_kind,
    junk_rule_lines_parse,
)
from accounts.junk_selectors import junk_rules_by_kind
from accounts.junk_services import JunkRulesInvalid, junk_rules_replace
from accounts.models import JunkRule
from accounts.services import contacts_junk_evaluate
from core.jobs import job_running
from core.models import Job
from tests.factories import ContactFactory


def test_domain_lines_are_normalised_and_bad_ones_named_by_line() -> None:
    text = (
        "Rival.Example\n@trash.example\nwww.rival.co.uk\n\n"
        "rival.example\nlocalhost\nfoo bar\nx@y.example"
    )
    values, errors = junk_rule_lines_parse("competitor_domain", text)
    assert values == ["rival.example", "trash.example", "rival.co.uk"]
    assert errors == [
        "Line 6: “localhost” is not a domain (like rival.example).",
        "Line 7: “foo bar” is not a domain (like rival.example).",
        "Line 8: “x@y.example” is not a domain (like rival.example).",
    ]


def test_countries_are_iso_3166_alpha_2() -> None:
    values, errors = junk_rule_lines_parse("unsupported_country", " kp\nGB\nUK\nXX\nDEU\n")
    assert values == ["KP", "GB"]
    assert [e.split(":")[0] for e in errors] == ["Line 3", "Line 4", "Line 5"]


def test_keywords_need_a_word() -> None:
    values, errors = junk_rule_lines_parse("title_keyword", "Open   To Work\n***\n  \nbootcamp")
    assert values == ["open to work", "bootcamp"]
    assert errors == ["Line 2: “***” has no letter or digit: a keyword must be a word."]


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("invalid email: test@x.example", "invalid_email_domain"),
        ("competitor domain: rival.example", "competitor_domain"),
        ("disposable email domain: yopmail.com", "disposable_domain"),
        ("free-mail domain without an account: gmail.com", "free_mail_domain"),
        ("free-mail domain", "free_mail_domain"),  # the demo's wording
        ("unsupported country: KP", "unsupported_country"),
        ("job-seeker or student title: Student", "title_keyword"),
        ("works at a rival", None),
        ("", None),
    ],
)
def test_a_stored_reason_names_its_rule(reason: str, kind: str | None) -> None:
    assert junk_reason_kind(reason) == kind


def test_every_reason_the_rules_write_names_its_rule() -> None:
    rules = JunkRules(competitor_domains=frozenset({"rival.example"}),
                      unsupported_countries=frozenset({"KP"}))  # fmt: skip
    cases: dict[str, dict[str, Any]] = {
        "invalid_email_domain": {"email": "test@acme.example"},
        "competitor_domain": {"email": "a@eu.rival.example"},
        "disposable_domain": {"email": "a@yopmail.com"},
        "free_mail_domain": {"email": "a@gmail.com", "has_account": False},
        "unsupported_country": {"country": "kp"},
        "title_keyword": {"title": "Marketing Intern"},
    }
    assert set(cases) == set(REASON_PREFIXES)
    for kind, given in cases.items():
        facts = {"email": None, "has_account": True, "country": "", "title": "", **given}
        reason = junk_reason(rules=rules, **facts)
        assert junk_reason_kind(reason) == kind, reason
    # Whole words only, whatever the keywords' order.
    assert junk_reason(email=None, has_account=True, country="", title="International Sales",
                       rules=rules) == ""  # fmt: skip
    assert junk_reason(email=None, has_account=True, country="", title="", rules=rules) == ""


def test_junk_changes_yields_only_what_differs_from_the_stored_flag() -> None:
    rules = JunkRules(competitor_domains=frozenset({"rival.example"}))
    rival = "competitor domain: rival.example"
    facts = [
        ContactJunkFacts(1, "a@rival.example", True, "", "", False, ""),  # flagged
        ContactJunkFacts(2, "b@acme.example", True, "", "", True, "competitor domain: x"),
        ContactJunkFacts(3, "c@acme.example", True, "", "", False, ""),  # unchanged
        ContactJunkFacts(4, "d@rival.example", True, "", "", True, rival),  # unchanged
        ContactJunkFacts(5, "e@gmail.com", False, "", "", True, "free-mail domain"),  # reworded
    ]
    changes = [(c.pk, c.was_junk, c.is_junk, c.new_reason) for c in junk_changes(facts, rules)]
    assert changes == [
        (1, False, True, "competitor domain: rival.example"),
        (2, True, False, ""),
        (5, True, True, "free-mail domain without an account: gmail.com"),
    ]


@pytest.mark.django_db
def test_replacing_the_lists_is_all_or_nothing() -> None:
    JunkRule.objects.create(kind="competitor_domain", value="old.example")
    JunkRule.objects.create(kind="unsupported_country", value="KP")
    replaced = junk_rules_replace(
        lists={"competitor_domain": "rival.example\nRIVAL.example", "unsupported_country": "KP\ncu"}
    )
    assert (replaced.added, replaced.removed) == (2, 1)
    assert junk_rules_by_kind() == {
        "free_mail_domain": [], "disposable_domain": [], "competitor_domain": ["rival.example"],
        "unsupported_country": ["CU", "KP"], "title_keyword": [], "invalid_email_domain": [],
    }  # fmt: skip
    with pytest.raises(JunkRulesInvalid) as invalid:
        junk_rules_replace(lists={"competitor_domain": "", "unsupported_country": "KP\nZZ"})
    assert invalid.value.errors == {
        "unsupported_country": [
            "Line 2: “ZZ” is not an ISO 3166-1 two-letter country code (like KP)."
        ]
    }
    with pytest.raises(JunkRulesInvalid):
        junk_rules_replace(lists={"spam_domain": "x.example"})
    assert JunkRule.objects.count() == 3  # nothing changed


@pytest.mark.django_db
def test_the_evaluation_reports_its_progress_and_skips_reviewed_contacts() -> None:
    JunkRule.objects.create(kind="competitor_domain", value="rival.example")
    ann = ContactFactory.create(email="ann@rival.example", email_domain="rival.example")
    dan = ContactFactory.create(
        email="dan@rival.example", email_domain="rival.example", junk_reviewed=True
    )
    ContactFactory.create()
    job = Job.objects.create(kind="junk_rules_apply", label="Re-apply")
    with job_running(job.pk) as progress:
        changed = contacts_junk_evaluate(progress=progress)
        progress.finish(message="done")
    assert changed == [ann.pk]
    dan.refresh_from_db()
    assert not dan.is_junk
    job.refresh_from_db()
    assert (job.done, job.total) == (2, 2)  # the two contacts no person reviewed
