"""Pure junk rules (DESIGN 4, junk): which contacts' activity should count zero.

The built-in lists below are defaults; a marketer's JunkRule rows extend them.
A junk contact is kept with its reason and its activity is stored with an
exclusion reason; nothing is deleted and a flag can be reversed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

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


def junk_reason(
    *, email: str | None, has_account: bool, country: str, title: str, rules: JunkRules
) -> str:
    """Why a contact is junk, or "" when it is not. The first rule that holds wins."""
    if email:
        local, _, domain = email.rpartition("@")
        if (
            local in PLACEHOLDER_LOCAL_PARTS
            or domain in rules.placeholder_domains
            or domain.endswith(PLACEHOLDER_TLDS)
        ):
            return f"invalid email: {email}"
        if _domain_or_parent_in(domain, rules.competitor_domains):
            return f"competitor domain: {domain}"
        if domain in rules.disposable_domains:
            return f"disposable email domain: {domain}"
        if domain in rules.free_mail_domains and not has_account:
            return f"free-mail domain without an account: {domain}"
    if country and country.upper() in rules.unsupported_countries:
        return f"unsupported country: {country.upper()}"
    lowered = title.lower()
    for keyword in rules.title_keywords:
        # Whole words only: "intern" is not "International Sales".
        if re.search(rf"\b{re.escape(keyword)}\b", lowered):
            return f"job-seeker or student title: {title}"
    return ""
