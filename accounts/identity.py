"""The identity side of tracking: contacts and accounts as identify and group
calls (and activity imports) name them.

`contacts_identify` matches by user id, then email, and links a contact to the
account of its non-personal email domain; `accounts_group` matches by external
id, then domain, and links members and the contacts at the domain;
`contacts_for_user_ids` creates bare contacts for user ids seen before their
identify, and `bare_contacts_insert_sql` is the same as one PostgreSQL
statement for the tracking API's single round trip; `contacts_link_by_domain`
gives contacts without an account the account of their email domain.
The callers are engagement.services.tracking, .tracking_postgresql and
.activities, and accounts.services (accounts created in bulk).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Q

from accounts import selectors
from accounts.junk import is_personal_domain, junk_reason
from accounts.merge import (
    ACCOUNT_MERGE,
    ACCOUNT_PROFILE_FIELDS,
    CONTACT_MERGE,
    CONTACT_PROFILE_FIELDS,
    contact_account,
)
from accounts.models import Account, Contact
from accounts.normalise import email_domain
from accounts.traits import AccountTraits, ContactTraits

# A fixed number of queries per call whatever the number of identities. How
# what a call says meets what is stored is accounts.merge's rule.


@dataclass(frozen=True)
class ContactIdentity:
    """One identify call: who (user id and/or email) and what we learnt of them."""

    user_id: str
    traits: ContactTraits


@dataclass(frozen=True)
class AccountGroup:
    """One group call: the account (`group_id` is its external id) and a member."""

    group_id: str
    traits: AccountTraits
    user_id: str = ""


def _account_ids_by_domain(domains: set[str]) -> dict[str, int]:
    wanted = {d for d in domains if d and not is_personal_domain(d)}
    if not wanted:
        return {}
    rows = Account.objects.filter(domain__in=wanted).values_list("domain", "id")
    return {domain: pk for domain, pk in rows if domain}


Record = TypeVar("Record", Account, Contact)


def _matched(
    *,
    by_id: Mapping[str, Record],
    id_: str,
    by_key: Mapping[str, Record],
    key: str | None,
    new: Callable[[], Record],
    created: list[Record],
    changed: dict[int, Record],
) -> Record:
    """The record a call names by its id, else by its natural key (email,
    domain), else a new one, added to `created`; a stored one is added to
    `changed`."""
    record = by_id.get(id_) if id_ else None
    if record is None and key:
        record = by_key.get(key)
    if record is None:
        record = new()
        created.append(record)
    elif record.pk is not None:
        changed[record.pk] = record
    return record


@dataclass(frozen=True)
class IdentifyResult:
    contact_ids: dict[str, int]  # user id -> contact id
    junk_changed: list[int]  # existing contacts whose junk flag flipped
    # email -> contact id, for the emails the identities gave
    contact_ids_by_email: dict[str, int] = field(default_factory=dict)


def contacts_identify(*, identities: Sequence[ContactIdentity]) -> IdentifyResult:
    """Upsert contacts, matched by user id first and then by email.

    Merged by accounts.merge: non-blank traits update stored ones, key by key,
    and later calls win over earlier ones; a user id or email is only given to
    a contact without one (an email another contact has stays there). A
    contact without an account is linked to the account of its email domain
    (never a free-mail or disposable one), and the junk rules are applied to
    every contact not reviewed by hand.
    """
    user_ids = {i.user_id for i in identities if i.user_id}
    emails = {i.traits.email for i in identities if i.traits.email}
    if not (user_ids or emails):
        return IdentifyResult(contact_ids={}, junk_changed=[])
    rules = selectors.junk_rules()
    junk_changed: set[int] = set()
    existing = list(Contact.objects.filter(Q(external_id__in=user_ids) | Q(email__in=emails)))
    by_user_id = {c.external_id: c for c in existing if c.external_id}
    by_email = {c.email: c for c in existing if c.email}
    account_by_domain = _account_ids_by_domain({email_domain(e) for e in emails})

    created: list[Contact] = []
    changed: dict[int, Contact] = {}
    for identity in identities:
        traits = identity.traits
        contact = _matched(
            by_id=by_user_id, id_=identity.user_id, by_key=by_email, key=traits.email,
            new=Contact, created=created, changed=changed,
        )  # fmt: skip
        CONTACT_MERGE.apply(
            contact,
            {
                "external_id": identity.user_id,
                # An email another contact has stays with it.
                "email": traits.email if traits.email not in by_email else None,
                **{name: getattr(traits, name) for name in CONTACT_PROFILE_FIELDS},
            },
        )
        if identity.user_id and contact.external_id == identity.user_id:
            by_user_id[identity.user_id] = contact
        if traits.email and contact.email == traits.email:
            by_email[traits.email] = contact
        if contact.email:
            contact.email_domain = email_domain(contact.email)
            contact.account_id = contact_account(
                stored=contact.account_id,
                named=None,
                of_email_domain=account_by_domain.get(contact.email_domain),
            )
        if not contact.junk_reviewed:
            was_junk = contact.is_junk
            contact.junk_reason = junk_reason(
                email=contact.email,
                has_account=contact.account_id is not None,
                country=contact.country,
                title=contact.title,
                rules=rules,
            )
            contact.is_junk = bool(contact.junk_reason)
            if contact.pk is not None and contact.is_junk != was_junk:
                junk_changed.add(contact.pk)

    Contact.objects.bulk_create(created)
    if changed:
        Contact.objects.bulk_update(
            changed.values(),
            [
                "external_id",
                "email",
                "email_domain",
                "account",
                "is_junk",
                "junk_reason",
                *CONTACT_PROFILE_FIELDS,
            ],
        )
    return IdentifyResult(
        contact_ids={uid: c.pk for uid, c in by_user_id.items() if uid in user_ids},
        junk_changed=sorted(junk_changed),
        contact_ids_by_email={e: c.pk for e, c in by_email.items() if e in emails},
    )


@dataclass(frozen=True)
class ContactRef:
    id: int
    account_id: int | None
    junk_reason: str


def contacts_for_user_ids(*, user_ids: set[str]) -> dict[str, ContactRef]:
    """The contacts behind tracking user ids, creating bare ones for unknown ids.

    A track call may arrive before the identify that names its user; the bare
    contact takes the identify's traits when it comes.
    """
    if not user_ids:
        return {}

    # Raw SQL: every tracking batch runs it, and compiling the ORM query cost
    # more than the query itself (docs/benchmarks.md).
    wanted = sorted(user_ids)
    sql = (
        "SELECT external_id, id, account_id, is_junk, junk_reason FROM accounts_contact "  # noqa: S608  # nosec B608
        f"WHERE external_id IN ({', '.join(['%s'] * len(wanted))})"
    )

    def read() -> dict[str, ContactRef]:
        with connection.cursor() as cursor:
            cursor.execute(sql, wanted)
            rows = cursor.fetchall()
        return {
            uid: ContactRef(id=pk, account_id=account_id, junk_reason=reason if junk else "")
            for uid, pk, account_id, junk, reason in rows
            if uid
        }

    found = read()
    missing = user_ids - found.keys()
    if missing:
        Contact.objects.bulk_create(
            [Contact(external_id=uid) for uid in sorted(missing)], ignore_conflicts=True
        )
        found = read()
    return found


def _bare_contact_defaults() -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The columns of a bare contact other than its user id, and their model defaults."""
    columns, values = [], []
    for model_field in Contact._meta.concrete_fields:
        if model_field.primary_key or model_field.name in (
            "external_id",
            "created_at",
            "updated_at",
        ):
            continue
        columns.append(str(model_field.column))
        values.append(model_field.get_db_prep_value(model_field.get_default(), connection))
    return tuple(columns), tuple(values)


@functools.cache
def bare_contacts_insert_sql() -> str:
    """A PostgreSQL statement creating the bare contacts `contacts_for_user_ids`
    would create (model defaults, no email) for those of the user ids in its one
    parameter (`%s`, a text array) that have none.

    For the tracking API's hot path, which sends it with the activity insert
    that reads them (engagement.services.tracking_postgresql). Built once per
    process, on first use (the defaults are quoted by the database driver).
    Ids are inserted in sorted order, so two batches creating the same contacts
    wait on each other instead of deadlocking; known ids are skipped by index lookups (LATERAL ...
    LIMIT 1: stale statistics cannot turn it into a scan of the contact table)
    and do not take a sequence value each.
    """
    columns, values = _bare_contact_defaults()
    postgresql_operations: Any = connection.ops  # compose_sql: PostgreSQL's, quoting by the driver
    defaults = postgresql_operations.compose_sql(", ".join(["%s"] * len(values)), values)
    defaults = defaults.replace("%", "%%")  # the statement is interpolated again
    return (
        f"INSERT INTO accounts_contact (external_id, created_at, updated_at, {', '.join(columns)}) "  # noqa: S608 - model column names and quoted defaults  # nosec B608
        f"SELECT wanted.external_id, now(), now(), {defaults} "
        "FROM unnest(%s::varchar[]) AS wanted (external_id) "
        "LEFT JOIN LATERAL (SELECT 1 AS found FROM accounts_contact AS known "
        "WHERE known.external_id = wanted.external_id LIMIT 1) AS known ON true "
        "WHERE known.found IS NULL "
        "ORDER BY wanted.external_id "
        "ON CONFLICT (external_id) DO NOTHING"
    )


def accounts_group(*, groups: Sequence[AccountGroup]) -> dict[str, int]:
    """Upsert accounts by external id (the group id), then by domain, and link
    the calling users to them. Returns group id -> account id.

    Merged by accounts.merge: non-blank traits update stored ones; a group id
    or domain is only given to an account without one."""
    if not groups:
        return {}
    group_ids = {g.group_id for g in groups}
    domains = {g.traits.domain for g in groups if g.traits.domain}
    existing = list(Account.objects.filter(Q(external_id__in=group_ids) | Q(domain__in=domains)))
    by_group_id = {a.external_id: a for a in existing if a.external_id}
    by_domain = {a.domain: a for a in existing if a.domain}

    created: list[Account] = []
    changed: dict[int, Account] = {}
    for group in groups:
        traits = group.traits
        account = _matched(
            by_id=by_group_id, id_=group.group_id, by_key=by_domain, key=traits.domain,
            new=functools.partial(Account, name=traits.name or traits.domain or group.group_id),
            created=created, changed=changed,
        )  # fmt: skip
        by_group_id[group.group_id] = account
        ACCOUNT_MERGE.apply(
            account,
            {
                "external_id": group.group_id,
                # A domain another account has stays with it.
                "domain": traits.domain if traits.domain not in by_domain else None,
                **{name: getattr(traits, name) for name in ACCOUNT_PROFILE_FIELDS},
            },
        )
        if traits.domain and account.domain == traits.domain:
            by_domain[traits.domain] = account

    Account.objects.bulk_create(created)
    if changed:
        Account.objects.bulk_update(
            changed.values(), ["external_id", "domain", *ACCOUNT_PROFILE_FIELDS]
        )
    account_ids = {gid: account.pk for gid, account in by_group_id.items() if gid in group_ids}

    members = {g.user_id: account_ids[g.group_id] for g in groups if g.user_id}
    if members:
        # The member may not be identified yet: a bare contact waits for its traits.
        Contact.objects.bulk_create(
            [Contact(external_id=uid) for uid in sorted(members)], ignore_conflicts=True
        )
        people = list(Contact.objects.filter(external_id__in=members.keys()))
        for person in people:
            person.account_id = contact_account(
                stored=person.account_id,
                named=members[person.external_id or ""],
                of_email_domain=None,
            )
        Contact.objects.bulk_update(people, ["account"])
    new_domains = [a.domain for a in created if a.domain]
    if new_domains:
        contacts_link_by_domain(domains=new_domains)
    return account_ids


def contacts_link_by_domain(*, domains: Sequence[str]) -> int:
    """Give contacts without an account the account of their email domain
    (accounts.merge.contact_account: a link inferred from the email only fills
    an empty one, which the query's `account__isnull` applies)."""
    account_by_domain = _account_ids_by_domain(set(domains))
    if not account_by_domain:
        return 0
    orphans = list(
        Contact.objects.filter(account__isnull=True, email_domain__in=account_by_domain.keys())
    )
    for contact in orphans:
        contact.account_id = account_by_domain[contact.email_domain]
    Contact.objects.bulk_update(orphans, ["account"])
    return len(orphans)
