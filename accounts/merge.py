"""Pure merge policy: how what arrives about an account or a contact meets what
is stored. The one owner of the rule for every path that creates or updates
them from incoming data:

- CSV imports (accounts.services.accounts_import_write, contacts_import_write,
  through core.bulk.upsert_by_key with `merge=`), with the account links of
  accounts.imports.prepare_contacts;
- tracking identify and group calls and activity imports
  (accounts.identity.contacts_identify, accounts_group);
- the demo seed (accounts.services.accounts_bulk_upsert, contacts_bulk_upsert);
- links by email domain (accounts.identity.contacts_link_by_domain).

The rule, as a marketer expects it whatever the way a record arrived:

- An incoming non-blank value updates the stored one. A blank (None, "", an
  empty list) means "not given": it never erases a known value.
- Traits merge key by key: a row or call that gives only a title changes only
  the title; two calls about one person each add what they know.
- Identity keys (`external_id`: the tracking user or group id, or a CRM id;
  `email`, `domain`: the natural keys) are set once, when empty, and never
  re-keyed. Tracking calls are matched on them: re-keying a record would make
  the next call by its old id create a second one (and split its activity).
- Derived values (`email_domain`, `is_junk`, `junk_reason`) are recomputed from
  the record by the caller and always written, "" included (the reason of a
  contact that is not junk); None there means "not recomputed" (a contact whose
  junk flag a person reviewed).
- A contact's account: the account a row or call names replaces the stored
  one; the account of its email domain only fills an empty link
  (`contact_account`). contacts_link_by_domain applies the same in its query
  (contacts without an account only).

Deliberately not under this rule: the Django admin, where a person edits the
stored values in a form and blanking a field is a decision to erase it; and the
bare contacts created for unknown tracking user ids (`contacts_for_user_ids`,
`bare_contacts_insert_sql`), which insert and never update.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# What a tracking identify call, a CSV row or the demo says about a person.
CONTACT_PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "seniority",
    "job_function",
    "buying_role",
    "country",
)
# What a tracking group call says about a company (CSV and the demo say more).
ACCOUNT_PROFILE_FIELDS = ("name", "industry", "employees", "annual_revenue", "country")


def is_blank(value: Any) -> bool:
    """None, "" and empty collections say nothing; 0 and False are values."""
    if value is None or value == "":
        return True
    return isinstance(value, list | tuple | dict | set | frozenset) and not value


@dataclass(frozen=True)
class MergePolicy:
    """Which of a model's fields are identity keys and which are derived;
    every other field is a trait (see the module docstring)."""

    keys: frozenset[str]
    derived: frozenset[str] = frozenset()

    def value(self, field: str, stored: Any, incoming: Any) -> Any:
        """The value `field` takes when `incoming` arrives for a stored `stored`."""
        if field in self.derived:
            return stored if incoming is None else incoming
        if is_blank(incoming):
            return stored
        if field in self.keys and not is_blank(stored):
            return stored
        return incoming

    def changes(self, stored: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
        """field -> new value, for the fields of `incoming` whose merged value
        differs from the stored one (a missing stored field is blank)."""
        merged = {
            field: self.value(field, stored.get(field), value) for field, value in incoming.items()
        }
        return {field: value for field, value in merged.items() if value != stored.get(field)}

    def apply(self, record: Any, incoming: Mapping[str, Any]) -> dict[str, Any]:
        """Merge `incoming` into the attributes of `record` (a model instance,
        say); returns the changes it made."""
        changes = self.changes({name: getattr(record, name) for name in incoming}, incoming)
        for name, value in changes.items():
            setattr(record, name, value)
        return changes


ACCOUNT_MERGE = MergePolicy(keys=frozenset({"external_id", "domain"}))
CONTACT_MERGE = MergePolicy(
    keys=frozenset({"external_id", "email"}),
    derived=frozenset({"email_domain", "is_junk", "junk_reason"}),
)


def contact_account(
    *, stored: int | None, named: int | None, of_email_domain: int | None
) -> int | None:
    """A contact's account: the one the incoming data names, else the stored
    one, else the account of its email domain (a link inferred from the email
    never moves a contact someone or something assigned)."""
    if named is not None:
        return named
    if stored is not None:
        return stored
    return of_email_domain
