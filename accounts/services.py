"""Writes to accounts, contacts, segments, memberships, opportunities and role users.

Bulk helpers are set-based, never a query per row: segments, memberships and
opportunities go in with one `bulk_create` per batch (upserting on the natural
key); accounts and contacts are read by natural key in chunks and merged by
accounts.merge (a blank never erases a known value), then created and updated
in bulk. Natural keys are normalised here (accounts.normalise) because the
database refuses anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import junk_selectors, selectors
from accounts.fit import Fit, fit_grade
from accounts.identity import contacts_link_by_domain
from accounts.junk import junk_changes
from accounts.merge import (
    ACCOUNT_MERGE,
    ACCOUNT_PROFILE_FIELDS,
    CONTACT_MERGE,
    CONTACT_PROFILE_FIELDS,
)
from accounts.models import (
    Account,
    AccountFollow,
    Contact,
    ICPSegment,
    Opportunity,
    SegmentMembership,
)
from accounts.normalise import email_domain, normalise_domain, normalise_email
from core import bulk
from core.jobs import JobProgress

T = TypeVar("T")

BATCH_SIZE = bulk.BATCH_SIZE
OnBatch = bulk.OnBatch


def _given(key: str | None, what: str) -> str:
    """A natural key bulk upserts need; blank refuses the batch."""
    if key is None:
        raise ValueError(f"{what} needs its natural key (domain, email) to be upserted in bulk")
    return key


# --- Accounts ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountRow:
    name: str
    domain: str
    industry: str = ""
    employees: int | None = None
    annual_revenue: Decimal | None = None
    country: str = ""
    tier: int | None = None
    # None: not given (a new account takes the model's default, a stored one keeps its value).
    is_target: bool | None = None
    is_customer: bool | None = None
    owner_id: int | None = None
    tags: list[str] = field(default_factory=list)


# The fields of an AccountRow merged into a stored account (accounts.merge).
_ACCOUNT_ROW_FIELDS = tuple(f.name for f in dataclass_fields(AccountRow) if f.name != "domain")


@transaction.atomic
def accounts_bulk_upsert(
    *, rows: Sequence[AccountRow], on_batch: OnBatch | None = None
) -> dict[str, int]:
    """Insert accounts by domain, or merge the rows into the stored ones
    (accounts.merge: a blank never erases a known value); returns normalised
    domain -> id. Unchanged accounts are not written."""
    values = [
        {**asdict(row), "domain": _given(normalise_domain(row.domain), f"account {row.name!r}")}
        for row in rows
    ]
    return bulk.upsert_by_key(
        model=Account, key="domain", rows=values, fields=_ACCOUNT_ROW_FIELDS,
        on_batch=on_batch, merge=ACCOUNT_MERGE.value,
    ).ids  # fmt: skip


# --- Contacts ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactRow:
    email: str
    first_name: str = ""
    last_name: str = ""
    title: str = ""
    # None: not given (a new contact takes the model's default, a stored one keeps its value).
    seniority: str | None = None
    job_function: str | None = None
    buying_role: str | None = None
    country: str = ""
    account_id: int | None = None
    is_junk: bool = False
    junk_reason: str = ""


# The fields of a ContactRow merged into a stored contact (accounts.merge), and
# the domain of its email.
_CONTACT_ROW_FIELDS = (
    "email_domain", *(f.name for f in dataclass_fields(ContactRow) if f.name != "email"),
)  # fmt: skip


@transaction.atomic
def contacts_bulk_upsert(
    *, rows: Sequence[ContactRow], on_batch: OnBatch | None = None
) -> dict[str, int]:
    """Insert contacts by email, or merge the rows into the stored ones
    (accounts.merge: a blank never erases a known value, the junk flag is
    always written); returns normalised email -> id. Unchanged contacts are
    not written."""
    emails = [_given(normalise_email(row.email), "a contact") for row in rows]
    values = [
        {**asdict(row), "email": email, "email_domain": email_domain(email)}
        for row, email in zip(rows, emails, strict=True)
    ]
    return bulk.upsert_by_key(
        model=Contact, key="email", rows=values, fields=_CONTACT_ROW_FIELDS,
        on_batch=on_batch, merge=CONTACT_MERGE.value,
    ).ids  # fmt: skip


# --- Segments and fit -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentRow:
    name: str
    description: str = ""
    criteria: dict[str, Any] = field(default_factory=dict)
    is_active: bool = True


@transaction.atomic
def segments_bulk_upsert(*, rows: Sequence[SegmentRow]) -> dict[str, int]:
    """Insert or update ICP segments by name; returns name -> id."""
    objects = [ICPSegment(**asdict(row)) for row in rows]
    return bulk.bulk_upsert_ids(
        model=ICPSegment,
        objects=objects,
        key="name",
        update_fields=("description", "criteria", "is_active", "updated_at"),
        batch_size=BATCH_SIZE,
        on_batch=None,
    )


@dataclass(frozen=True, slots=True)
class MembershipRow:
    segment_id: int
    account_id: int
    fit_score: int


@transaction.atomic
def segment_memberships_bulk_upsert(
    *,
    rows: Sequence[MembershipRow],
    batch_size: int = BATCH_SIZE,
    on_batch: OnBatch | None = None,
) -> int:
    """Insert or update memberships by (segment, account); the grade follows from the score."""
    objects = []
    for row in rows:
        if not 0 <= row.fit_score <= 100:
            raise ValueError(f"fit score {row.fit_score} is outside 0-100")
        objects.append(
            SegmentMembership(
                segment_id=row.segment_id,
                account_id=row.account_id,
                fit_score=row.fit_score,
                # Derived here, not passed in, so score and grade cannot disagree.
                fit_grade=fit_grade(row.fit_score),
            )
        )
    bulk.bulk_upsert(
        model=SegmentMembership,
        objects=objects,
        unique_fields=["segment", "account"],
        update_fields=("fit_score", "fit_grade", "computed_at"),
        batch_size=batch_size,
        on_batch=on_batch,
    )
    return len(objects)


# --- Opportunities ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpportunityRow:
    external_id: str
    account_id: int | None  # None: not assigned to an account yet
    name: str
    amount: Decimal | None
    status: str
    opened_on: date
    close_on: date | None
    source: str
    currency: str = "USD"
    crm_stage: str = ""
    product_line: str = ""


_OPPORTUNITY_UPDATE_FIELDS = (
    "account",
    "name",
    "amount",
    "currency",
    "crm_stage",
    "status",
    "opened_on",
    "close_on",
    "source",
    "product_line",
    "updated_at",
)


@transaction.atomic
def opportunities_bulk_upsert(
    *,
    rows: Sequence[OpportunityRow],
    batch_size: int = BATCH_SIZE,
    on_batch: OnBatch | None = None,
) -> int:
    """Insert or update opportunities by external_id (the CRM id)."""
    objects = [Opportunity(**asdict(row)) for row in rows]
    bulk.bulk_upsert(
        model=Opportunity,
        objects=objects,
        unique_fields=["external_id"],
        update_fields=_OPPORTUNITY_UPDATE_FIELDS,
        batch_size=batch_size,
        on_batch=on_batch,
    )
    return len(objects)


# --- Users of the three roles -----------------------------------------------


@dataclass(frozen=True, slots=True)
class RoleUserEnsured:
    user_id: int
    username: str
    created: bool


@transaction.atomic
def role_user_ensure(
    *,
    username: str,
    password: str,
    group_name: str | None,
    is_superuser: bool = False,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> RoleUserEnsured:
    """Create the user if missing and put it in its role group.

    An existing user keeps its password and flags: re-seeding must not undo a
    password someone changed on purpose. The group must already exist (the
    roles migrations create them); a missing group is a broken install.
    """
    user_model = get_user_model()
    user, created = user_model._default_manager.get_or_create(
        username=username,
        defaults={
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "is_staff": is_superuser,
            "is_superuser": is_superuser,
        },
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    if group_name is not None:
        user.groups.add(Group.objects.get(name=group_name))
    return RoleUserEnsured(user_id=user.pk, username=username, created=created)


# --- Junk ------------------------------------------------------------------------


def contacts_junk_evaluate(
    *, contact_ids: Sequence[int] | None = None, progress: JobProgress | None = None
) -> list[int]:
    """Apply the junk rules to contacts (all when None) not reviewed by hand.

    Reads in chunks and writes only the contacts whose flag or reason changed
    (accounts.junk.junk_changes, which the rules page's preview counts too);
    returns their ids so their activity can follow. `progress` (a core Job's)
    hears of every contact read.
    """
    rules = selectors.junk_rules()
    if progress is not None:
        progress.set_total(junk_selectors.junk_contacts_unreviewed_count(contact_ids=contact_ids))
    facts = junk_selectors.junk_contact_facts(contact_ids=contact_ids)
    if progress is not None:
        facts = _counted(facts, progress)
    changed = [
        Contact(pk=change.pk, is_junk=change.is_junk, junk_reason=change.new_reason)
        for change in junk_changes(facts, rules)
    ]
    Contact.objects.bulk_update(changed, ["is_junk", "junk_reason"], batch_size=bulk.BATCH_SIZE)
    return [c.pk for c in changed]


def _counted(items: Iterable[T], progress: JobProgress, every: int = 1000) -> Iterator[T]:
    """The items, telling `progress` every `every` of them (and the rest at the end)."""
    pending = 0
    for item in items:
        yield item
        pending += 1
        if pending == every:
            progress.advance(pending)
            pending = 0
    if pending:
        progress.advance(pending)


@transaction.atomic
def contact_junk_review(*, contact_id: int, is_junk: bool, reason: str = "") -> None:
    """A person's decision on a contact, which the rules will not overturn."""
    reason = reason.strip()
    if is_junk and not reason:
        reason = "flagged by hand"
    updated = Contact.objects.filter(pk=contact_id).update(
        is_junk=is_junk, junk_reason=reason if is_junk else "", junk_reviewed=True
    )
    if not updated:
        raise Contact.DoesNotExist(f"no contact with id {contact_id}")


# --- CSV import writes (rows validated by accounts.imports) ------------------------

Records = Sequence[tuple[Any, dict[str, Any]]]
# Merged into stored rows by accounts.merge (the rows' account links are
# accounts.merge.contact_account's, in accounts.imports.prepare_contacts).
_ACCOUNT_IMPORT_FIELDS = (
    *ACCOUNT_PROFILE_FIELDS, "domain", "external_id", "tier", "is_target", "is_customer",
    "owner_id",
)  # fmt: skip
_CONTACT_IMPORT_FIELDS = (
    "external_id", *CONTACT_PROFILE_FIELDS, "account_id", "is_junk", "junk_reason",
)  # fmt: skip
_OPPORTUNITY_IMPORT_FIELDS = (
    "account_id", "name", "amount", "currency", "crm_stage", "status", "opened_on",
    "close_on", "source", "product_line",
)  # fmt: skip


@transaction.atomic
def accounts_import_write(
    *, records: Records, write: bool = True, on_batch: bulk.OnBatch | None = None
) -> bulk.UpsertCounts:
    """Upsert by domain, or by name for accounts without one."""
    with_domain = [v for _, v in records if v["domain"]]
    without = [v for _, v in records if not v["domain"]]
    counts = bulk.upsert_by_key(
        model=Account, key="domain", rows=with_domain, fields=_ACCOUNT_IMPORT_FIELDS,
        write=write, on_batch=on_batch, merge=ACCOUNT_MERGE.value,
    ).counts  # fmt: skip
    counts += bulk.upsert_by_key(
        model=Account, key="name", rows=without, fields=_ACCOUNT_IMPORT_FIELDS,
        write=write, on_batch=on_batch, scope=Q(domain__isnull=True), merge=ACCOUNT_MERGE.value,
    ).counts  # fmt: skip
    if write and with_domain:
        contacts_link_by_domain(domains=[v["domain"] for v in with_domain])
    return counts


@transaction.atomic
def contacts_import_write(
    *, records: Records, write: bool = True, on_batch: bulk.OnBatch | None = None
) -> bulk.Upserted:
    return bulk.upsert_by_key(
        model=Contact, key="email", rows=[v for _, v in records],
        fields=_CONTACT_IMPORT_FIELDS, write=write, on_batch=on_batch, merge=CONTACT_MERGE.value,
    )  # fmt: skip


@transaction.atomic
def opportunities_import_write(
    *, records: Records, write: bool = True, on_batch: bulk.OnBatch | None = None
) -> bulk.UpsertCounts:
    return bulk.upsert_by_key(
        model=Opportunity, key="external_id", rows=[v for _, v in records],
        fields=_OPPORTUNITY_IMPORT_FIELDS, write=write, on_batch=on_batch,
    ).counts  # fmt: skip


# --- Segment membership --------------------------------------------------------------


@dataclass(frozen=True)
class MembershipRefresh:
    added: int
    updated: int
    removed: int
    unchanged: int


class RefreshProgress(Protocol):
    """What a refresh reports into (core.jobs.JobProgress is one)."""

    def set_total(self, total: int) -> None: ...
    def advance(self, count: int = 1, *, message: str | None = None) -> None: ...
    def finish(self, *, message: str, result: dict[str, Any] | None = None) -> None: ...


# A refresh reports its progress every this many accounts read.
_PROGRESS_EVERY = 500


@transaction.atomic
def segment_memberships_refresh(
    *, segment_id: int, progress: RefreshProgress | None = None
) -> MembershipRefresh:
    """Re-evaluate which accounts belong to a segment, and their fit.

    One streamed read of every account's firmographics, one bulk upsert of the
    members whose fit changed, and chunked deletes of those who left; memberships
    of unchanged accounts are not touched. A segment that is not active has no
    members. With `progress` (a page's Job), it reports the accounts read and
    finishes with the new member count by grade.
    """
    segment = ICPSegment.objects.get(pk=segment_id)
    current = {
        account_id: (score, grade)
        for account_id, score, grade in SegmentMembership.objects.filter(
            segment_id=segment_id
        ).values_list("account_id", "fit_score", "fit_grade")
    }
    members: dict[int, Fit] = {}
    if segment.is_active:
        if progress is not None:
            progress.set_total(Account.objects.count())
        read = 0
        for row, fit in selectors.segment_members_evaluate(criteria=segment.criteria):
            if fit is not None:
                members[row["id"]] = fit
            read += 1
            if progress is not None and read % _PROGRESS_EVERY == 0:
                progress.advance(_PROGRESS_EVERY)
        if progress is not None and read % _PROGRESS_EVERY:
            progress.advance(read % _PROGRESS_EVERY)
    changed = [
        SegmentMembership(
            segment_id=segment_id, account_id=account_id, fit_score=fit.score, fit_grade=fit.grade
        )
        for account_id, fit in members.items()
        if current.get(account_id) != (fit.score, fit.grade)
    ]
    bulk.bulk_upsert(
        model=SegmentMembership, objects=changed, unique_fields=["segment", "account"],
        update_fields=["fit_score", "fit_grade", "computed_at"],
    )  # fmt: skip
    leaving = sorted(current.keys() - members.keys())
    for chunk in bulk.chunks(leaving, bulk.LOOKUP_CHUNK):
        SegmentMembership.objects.filter(segment_id=segment_id, account_id__in=chunk).delete()
    added = len(members.keys() - current.keys())
    result = MembershipRefresh(
        added=added,
        updated=len(changed) - added,
        removed=len(leaving),
        unchanged=len(members) - len(changed),
    )
    if progress is not None:
        grades = dict.fromkeys(selectors.GRADES, 0)
        for fit in members.values():
            grades[fit.grade] += 1
        by_grade = ", ".join(f"{grade} {count}" for grade, count in grades.items())
        state = "" if segment.is_active else " (the segment is not active)"
        progress.finish(
            message=(
                f"{segment.name} now has {len(members)} member{'s' if len(members) != 1 else ''}"
                f"{state}: {by_grade}. {result.added} joined, {result.removed} left, "
                f"{result.updated} changed fit."
            ),
            result={**asdict(result), "members": len(members), "grades": grades},
        )
    return result


def account_target_set(*, account_id: int, is_target: bool) -> None:
    """Mark an account as a target account, or not (a marketer's choice). Segments
    whose criteria read the flag take the change on their next membership
    refresh (the beat schedule's segments-refresh)."""
    updated = Account.objects.filter(pk=account_id).update(
        is_target=is_target, updated_at=timezone.now()
    )
    if not updated:
        raise Account.DoesNotExist(f"no account with id {account_id}")


def account_follow(*, user_id: int, account_id: int) -> bool:
    """The user follows the account (its alerts reach them too). Any role may:
    it is their own list. True when this call started the follow, False when
    they already followed it. Raises Account.DoesNotExist for an unknown account."""
    if not Account.objects.filter(pk=account_id).exists():
        raise Account.DoesNotExist(f"no account with id {account_id}")
    # Two clicks at once still leave one row: account_follow_unique refuses the
    # second insert and get_or_create then reads the first.
    _follow, created = AccountFollow.objects.get_or_create(user_id=user_id, account_id=account_id)
    return created


def account_unfollow(*, user_id: int, account_id: int) -> bool:
    """The user stops following the account. True when a follow was removed,
    False when there was none (idempotent)."""
    deleted, _ = AccountFollow.objects.filter(user_id=user_id, account_id=account_id).delete()
    return deleted > 0
