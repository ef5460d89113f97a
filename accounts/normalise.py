"""Pure normalisation of the natural keys that identify accounts and contacts.

The database refuses values that are not in this normal form (see the check
constraints in accounts/models.py), so every write path must pass through here.
"""

from __future__ import annotations

import re

_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidValue(ValueError):
    """A value that cannot be normalised; the message says why."""


def normalise_domain(value: str | None) -> str | None:
    """`HTTPS://WWW.Example.com/path` -> `example.com`; blank -> None."""
    if value is None:
        return None
    text = value.strip().lower()
    if not text:
        return None
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    while text.startswith("www."):
        text = text[4:]
    labels = text.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise InvalidValue(f"{value!r} is not a web domain")
    return text


def normalise_email(value: str | None) -> str | None:
    """Trim and lower-case an email address; blank -> None."""
    if value is None:
        return None
    text = value.strip().lower()
    if not text:
        return None
    local, at, domain = text.rpartition("@")
    if not at or not local or " " in text:
        raise InvalidValue(f"{value!r} is not an email address")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise InvalidValue(f"{value!r} is not an email address")
    return text


def email_domain(email: str) -> str:
    return email.rpartition("@")[2]
