"""Reads of junk for the review and rules pages and for the evaluation: the
contacts flagged (or decided by a person), the marketer's lists by kind, the
facts the rules read, and a preview of what changed lists would do."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from accounts.junk import REASON_PREFIXES, ContactJunkFacts, JunkRules, junk_changes
from accounts.models import Contact, JunkRule, JunkRuleKind
from core import bulk

# The review page's "Review" filter: value -> (label, contacts it keeps).
REVIEW_STATES: dict[str, tuple[str, Q]] = {
    "": ("Flagged junk (all)", Q(is_junk=True)),
    "pending": ("Flagged by the rules, not reviewed", Q(is_junk=True, junk_reviewed=False)),
    "confirmed": ("Junk, decided by a person", Q(is_junk=True, junk_reviewed=True)),
    "cleared": ("Not junk, decided by a person", Q(is_junk=False, junk_reviewed=True)),
}
# The "Rule" filter's value for reasons no rule writes (typed by a person, imported).
OTHER_REASON = "other"


def junk_contacts(*, review: str = "", kind: str = "") -> QuerySet[Contact]:
    """Contacts in a review state (REVIEW_STATES), optionally those whose reason
    a kind of rule wrote (a JunkRuleKind value, or OTHER_REASON), with their
    account joined, by name. One query a page (contact_junk_review_idx)."""
    contacts = Contact.objects.select_related("account").filter(REVIEW_STATES[review][1])
    if kind == OTHER_REASON:
        for prefix in REASON_PREFIXES.values():
            contacts = contacts.exclude(junk_reason__startswith=prefix)
    elif kind:
        contacts = contacts.filter(junk_reason__startswith=REASON_PREFIXES[kind])
    return contacts.order_by("last_name", "first_name", "id")


def junk_rules_by_kind() -> dict[str, list[str]]:
    """The marketer's values of every kind of rule (empty lists included), in
    JunkRuleKind's order, values sorted. One query."""
    lists: dict[str, list[str]] = {kind: [] for kind in JunkRuleKind.values}
    for kind, value in JunkRule.objects.order_by("kind", "value").values_list("kind", "value"):
        lists.setdefault(kind, []).append(value)
    return lists


def _unreviewed(contact_ids: Sequence[int] | None) -> QuerySet[Contact]:
    contacts = Contact.objects.filter(junk_reviewed=False)
    if contact_ids is not None:
        contacts = contacts.filter(pk__in=contact_ids)
    return contacts


def junk_contacts_unreviewed_count(*, contact_ids: Sequence[int] | None = None) -> int:
    """How many contacts (of these, or all) the rules decide. One query."""
    return _unreviewed(contact_ids).count()


def junk_contact_facts(*, contact_ids: Sequence[int] | None = None) -> Iterator[ContactJunkFacts]:
    """What the rules read of each contact (of these, or all) no person
    reviewed, by id, read in chunks. One query."""
    fields = ("pk", "email", "account_id", "country", "title", "is_junk", "junk_reason")
    rows = _unreviewed(contact_ids).order_by("pk").values_list(*fields)
    for pk, email, account_id, country, title, is_junk, reason in rows.iterator(
        chunk_size=bulk.BATCH_SIZE
    ):
        yield ContactJunkFacts(
            pk=pk, email=email, has_account=account_id is not None, country=country,
            title=title, is_junk=is_junk, reason=reason,
        )  # fmt: skip


@dataclass(frozen=True)
class JunkPreviewRow:
    contact: Contact
    old_reason: str
    new_reason: str


@dataclass
class JunkRulesPreview:
    """What saving these lists would do to the stored flags, today."""

    checked: int = 0  # contacts the rules decide (not reviewed by a person)
    reviewed: int = 0  # contacts a person decided: left as they are
    flagged: int = 0  # not junk today, junk under the new lists
    unflagged: int = 0  # junk today, not junk under the new lists
    reasons_changed: int = 0  # junk either way, with another reason
    flagged_sample: list[JunkPreviewRow] = field(default_factory=list)
    unflagged_sample: list[JunkPreviewRow] = field(default_factory=list)


def junk_rules_preview(*, lists: Mapping[str, Sequence[str]], sample: int = 10) -> JunkRulesPreview:
    """Count what replacing the marketer's lists by `lists` (kind -> values,
    already valid) and re-evaluating would change, with up to `sample` contacts
    each way. The same code as the evaluation (accounts.junk.junk_changes)
    against the stored flags, so the counts are what saving does.
    Three queries, whatever the number of contacts."""
    rules = JunkRules().extended(
        (kind, value) for kind, values in lists.items() for value in values
    )
    preview = JunkRulesPreview()
    counted = _counting(junk_contact_facts(), preview)
    flagged: list[tuple[int, str, str]] = []
    unflagged: list[tuple[int, str, str]] = []
    for change in junk_changes(counted, rules):
        if change.is_junk and not change.was_junk:
            preview.flagged += 1
            if len(flagged) < sample:
                flagged.append((change.pk, change.old_reason, change.new_reason))
        elif change.was_junk and not change.is_junk:
            preview.unflagged += 1
            if len(unflagged) < sample:
                unflagged.append((change.pk, change.old_reason, change.new_reason))
        else:
            preview.reasons_changed += 1
    preview.reviewed = Contact.objects.filter(junk_reviewed=True).count()
    ids = [pk for pk, _old, _new in flagged + unflagged]
    contacts = Contact.objects.select_related("account").in_bulk(ids) if ids else {}
    preview.flagged_sample = [JunkPreviewRow(contacts[pk], old, new) for pk, old, new in flagged]
    preview.unflagged_sample = [
        JunkPreviewRow(contacts[pk], old, new) for pk, old, new in unflagged
    ]
    return preview


def _counting(
    facts: Iterator[ContactJunkFacts], preview: JunkRulesPreview
) -> Iterator[ContactJunkFacts]:
    for fact in facts:
        preview.checked += 1
        yield fact


def junk_contact(*, contact_id: int) -> Contact | None:
    """The contact with its account joined, or None. One query."""
    return Contact.objects.select_related("account").filter(pk=contact_id).first()
