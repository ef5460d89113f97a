"""Pure junk rules (DESIGN 4, junk): which contacts' activity should count zero.

The built-in lists below are defaults; a marketer's JunkRule rows extend them.
A junk contact is kept with its reason and its activity is stored with an
exclusion reason; nothing is deleted and a flag can be reversed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import pycountry

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "hotmail.com",
        "hotmail.co.uk", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com",
        "mac.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de",
        "mail.com", "zoho.com", "yandex.com", "yandex.ru", "mail.ru", "qq.com", "163.com",
        "126.com", "fastmail.com", "hey.com", "tutanota.com", "orange.fr", "free.fr", "libero.it",
    }
)  # fmt: skip

DISPOSABLE_DOMAINS = frozenset(
    {
        "mailinator.com", "guerrillamail.com", "10minutemail.com", "temp-mail.org", "yopmail.com",
        "trashmail.com", "sharklasers.com", "getnada.com", "dispostable.com", "maildrop.cc",
        "throwawaymail.com", "tempmail.net", "fakeinbox.com", "mintemail.com",
    }
)  # fmt: skip

# Domains people type when they do not want to give an address.
PLACEHOLDER_EMAIL_DOMAINS = frozenset(
    {"example.com", "example.org", "example.net", "test.com", "email.com", "domain.com", "none.com"}
)
PLACEHOLDER_TLDS = (".test", ".invalid", ".localhost")
PLACEHOLDER_LOCAL_PARTS = frozenset(
    {"test", "asdf", "qwerty", "none", "noemail", "no-email", "fake", "noreply", "no-reply", "x"}
)

TITLE_KEYWORDS = (
    "student",
    "intern",
    "job seeker",
    "jobseeker",
    "seeking opportunities",
    "looking for work",
    "open to work",
    "unemployed",
    "candidate",
)


# The activity of a junk contact is stored excluded with this prefix before the
# contact's junk reason ("junk contact: competitor domain: rival.example").
JUNK_EXCLUSION_PREFIX = "junk contact: "


def junk_exclusion_reason(junk_reason: str) -> str:
    """The exclusion reason of a contact's activity: "" for a contact that is
    not junk (no reason), else the prefix and its junk reason.

    The one owner of the rule: the set-based writes that cannot call Python per
    row build the same text from JUNK_EXCLUSION_PREFIX (the ORM update in
    engagement.services.junk, the tracking statement in
    engagement.services.tracking_postgresql).
    """
    return f"{JUNK_EXCLUSION_PREFIX}{junk_reason}" if junk_reason else ""


def is_personal_domain(domain: str) -> bool:
    """True for free-mail and disposable domains: they say nothing about an employer."""
    return domain in FREE_MAIL_DOMAINS or domain in DISPOSABLE_DOMAINS


@dataclass(frozen=True)
class JunkRules:
    free_mail_domains: frozenset[str] = FREE_MAIL_DOMAINS
    disposable_domains: frozenset[str] = DISPOSABLE_DOMAINS
    competitor_domains: frozenset[str] = frozenset()
    unsupported_countries: frozenset[str] = frozenset()
    title_keywords: tuple[str, ...] = TITLE_KEYWORDS
    placeholder_domains: frozenset[str] = PLACEHOLDER_EMAIL_DOMAINS

    def extended(self, rules: Iterable[tuple[str, str]]) -> JunkRules:
        """These rules plus (kind, value) pairs as stored in JunkRule."""
        extra: dict[str, set[str]] = {}
        for kind, value in rules:
            extra.setdefault(kind, set()).add(value)
        return JunkRules(
            free_mail_domains=self.free_mail_domains | extra.get("free_mail_domain", set()),
            disposable_domains=self.disposable_domains | extra.get("disposable_domain", set()),
            competitor_domains=self.competitor_domains | extra.get("competitor_domain", set()),
            unsupported_countries=self.unsupported_countries
            | {c.upper() for c in extra.get("unsupported_country", set())},
            title_keywords=self.title_keywords
            + tuple(sorted(k.lower() for k in extra.get("title_keyword", set()))),
            placeholder_domains=self.placeholder_domains | extra.get("invalid_email_domain", set()),
        )


def _domain_or_parent_in(domain: str, domains: frozenset[str]) -> bool:
    """`eu.rival.example` is in a list holding `rival.example`."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels) - 1))


# The start of the reason each rule writes, by the kind of JunkRule that extends
# it (accounts.models.JunkRuleKind's values): a stored reason says which rule
# flagged the contact (junk_reason_kind), and the review page filters on it.
REASON_PREFIXES: dict[str, str] = {
    "invalid_email_domain": "invalid email",
    "competitor_domain": "competitor domain",
    "disposable_domain": "disposable email domain",
    # Also the start of the demo's and older imports' "free-mail domain".
    "free_mail_domain": "free-mail domain",
    "unsupported_country": "unsupported country",
    "title_keyword": "job-seeker or student title",
}


def junk_reason_kind(reason: str) -> str | None:
    """The kind of rule whose reason this is, or None (a reason a person typed,
    an imported one)."""
    for kind, prefix in REASON_PREFIXES.items():
        if reason.startswith(prefix):
            return kind
    return None


@lru_cache(maxsize=32)
def _keywords_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for every keyword, whole words only ("intern" is not
    "International Sales"): a title matches it when it matches any keyword."""
    if not keywords:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keywords) + r")\b")


def junk_reason(
    *, email: str | None, has_account: bool, country: str, title: str, rules: JunkRules
) -> str:
    """Why a contact is junk, or "" when it is not. The first rule that holds wins."""
    prefix = REASON_PREFIXES
    if email:
        local, _, domain = email.rpartition("@")
        if (
            local in PLACEHOLDER_LOCAL_PARTS
            or domain in rules.placeholder_domains
            or domain.endswith(PLACEHOLDER_TLDS)
        ):
            return f"{prefix['invalid_email_domain']}: {email}"
        if _domain_or_parent_in(domain, rules.competitor_domains):
            return f"{prefix['competitor_domain']}: {domain}"
        if domain in rules.disposable_domains:
            return f"{prefix['disposable_domain']}: {domain}"
        if domain in rules.free_mail_domains and not has_account:
            return f"{prefix['free_mail_domain']} without an account: {domain}"
    if country and country.upper() in rules.unsupported_countries:
        return f"{prefix['unsupported_country']}: {country.upper()}"
    pattern = _keywords_pattern(rules.title_keywords)
    if title and pattern is not None and pattern.search(title.lower()):
        return f"{prefix['title_keyword']}: {title}"
    return ""


@dataclass(frozen=True, slots=True)
class ContactJunkFacts:
    """What the rules read of a contact, and its flag as stored."""

    pk: int
    email: str | None
    has_account: bool
    country: str
    title: str
    is_junk: bool
    reason: str


@dataclass(frozen=True, slots=True)
class JunkChange:
    """A contact whose flag or reason the rules would change."""

    pk: int
    was_junk: bool
    old_reason: str
    new_reason: str

    @property
    def is_junk(self) -> bool:
        return bool(self.new_reason)


def junk_changes(contacts: Iterable[ContactJunkFacts], rules: JunkRules) -> Iterator[JunkChange]:
    """The contacts whose flag or reason differs under `rules` from what is stored.

    The one owner of "what re-evaluating would do": the evaluation writes these
    (accounts.services.contacts_junk_evaluate) and the rules page's preview
    counts them for rules not saved yet (accounts.selectors.junk_rules_preview).
    The caller passes only contacts no person reviewed."""
    for contact in contacts:
        reason = junk_reason(
            email=contact.email,
            has_account=contact.has_account,
            country=contact.country,
            title=contact.title,
            rules=rules,
        )
        if (bool(reason), reason) != (contact.is_junk, contact.reason):
            yield JunkChange(
                pk=contact.pk, was_junk=contact.is_junk, old_reason=contact.reason,
                new_reason=reason,
            )  # fmt: skip


# --- The marketer's lists (JunkRule values), as typed on the rules page ----------

# A host name of at least two labels: letters, digits and inner hyphens, a
# top-level label of letters (or an IDN's xn--).
_DOMAIN = re.compile(
    r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
DOMAIN_KINDS = frozenset(
    {"free_mail_domain", "disposable_domain", "competitor_domain", "invalid_email_domain"}
)
RULE_VALUE_MAX = 253


def junk_rule_value_normalise(kind: str, text: str) -> str:
    """A typed value as stored: trimmed; domains and keywords lower case (a
    domain's leading "@" or "www." dropped), countries upper case."""
    value = text.strip()
    if kind in DOMAIN_KINDS:
        value = value.lower().removeprefix("@")
        return value.removeprefix("www.") if value.count(".") > 1 else value
    if kind == "unsupported_country":
        return value.upper()
    return " ".join(value.lower().split())


def junk_rule_value_error(kind: str, value: str) -> str | None:
    """Why a normalised value cannot be a rule of this kind, or None."""
    if kind in DOMAIN_KINDS:
        if not _DOMAIN.match(value):
            return f"“{value}” is not a domain (like rival.example)"
        return None
    if kind == "unsupported_country":
        if len(value) != 2 or pycountry.countries.get(alpha_2=value) is None:
            return f"“{value}” is not an ISO 3166-1 two-letter country code (like KP)"
        return None
    if kind == "title_keyword":
        if not any(ch.isalnum() for ch in value):
            return f"“{value}” has no letter or digit: a keyword must be a word"
        if len(value) > RULE_VALUE_MAX:
            return f"a keyword is at most {RULE_VALUE_MAX} characters"
        return None
    return f"unknown kind of rule: {kind}"


def junk_rule_lines_parse(kind: str, text: str) -> tuple[list[str], list[str]]:
    """A textarea's lines as (values, errors): one value a line, blank lines
    skipped, repeats kept once; each error names its line."""
    values: list[str] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        value = junk_rule_value_normalise(kind, line)
        error = junk_rule_value_error(kind, value)
        if error:
            errors.append(f"Line {number}: {error}.")
        elif value not in values:
            values.append(value)
    return values, errors
