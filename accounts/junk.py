"""Pure junk rules: which email domains never identify a company (DESIGN 4, junk).

The lists are defaults; issue-specific configuration extends them.
"""

from __future__ import annotations

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


def is_personal_domain(domain: str) -> bool:
    """True for free-mail and disposable domains: they say nothing about an employer."""
    return domain in FREE_MAIL_DOMAINS or domain in DISPOSABLE_DOMAINS
