"""Junk: activity follows its contact's junk flag; re-apply the rules, or flag by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.template.defaultfilters import pluralize

from accounts.junk import JUNK_EXCLUSION_PREFIX
from accounts.models import Contact
from accounts.services import contact_junk_review, contacts_junk_evaluate
from core import bulk
from core.jobs import JobProgress
from engagement.models import Activity, ActivityCarried, TrackingKeyCarried

# --- Junk ------------------------------------------------------------------------


def activities_exclusion_sync(*, contact_ids: Sequence[int]) -> int:
    """Make the contacts' activity follow their junk flag: excluded with the
    reason while junk, counted again once the flag is reversed. Nothing is deleted.
    Returns the live activities updated."""
    junk_reason = (
        Contact.objects.filter(pk=OuterRef("contact_id"), is_junk=True)
        .annotate(reason=Concat(Value(JUNK_EXCLUSION_PREFIX), "junk_reason"))
        .values("reason")[:1]
    )
    updated = 0
    for chunk in bulk.chunks(list(contact_ids), bulk.LOOKUP_CHUNK):
        updated += Activity.objects.filter(contact_id__in=chunk).update(
            excluded_reason=Coalesce(Subquery(junk_reason), Value(""))
        )
        # Activity dropped by retention follows the flag in its carried sums.
        for carried in (ActivityCarried, TrackingKeyCarried):
            carried.objects.filter(contact_id__in=chunk).update(
                excluded_reason=Coalesce(Subquery(junk_reason), Value(""))
            )
    return updated


@dataclass(frozen=True)
class JunkApplyResult:
    contacts_changed: int
    activities_updated: int


@transaction.atomic
def junk_rules_apply(
    *, contact_ids: Sequence[int] | None = None, progress: JobProgress | None = None
) -> JunkApplyResult:
    """Re-apply the junk rules (after a rule changed) and let activity follow.

    Contacts a person reviewed keep their flag. Scores take the change in at
    the nightly recompute (engagement.scores_refresh_all), which re-reads every
    activity's exclusion; a rollup never revisits claimed activity. `progress`
    (a core Job's) counts the contacts read, and hears the outcome."""
    changed = contacts_junk_evaluate(contact_ids=contact_ids, progress=progress)
    result = JunkApplyResult(
        contacts_changed=len(changed),
        activities_updated=activities_exclusion_sync(contact_ids=changed),
    )
    if progress is not None:
        progress.finish(
            message=(
                f"{result.contacts_changed} contact{pluralize(result.contacts_changed)} "
                f"changed junk status or reason; {result.activities_updated} of their "
                f"activit{pluralize(result.activities_updated, 'y,ies')} follow."
            ),
            result={
                "contacts_changed": result.contacts_changed,
                "activities_updated": result.activities_updated,
            },
        )
    return result


@transaction.atomic
def contact_junk_set(*, contact_id: int, is_junk: bool, reason: str = "") -> int:
    """Flag or clear a contact by hand; returns how many of its activities changed."""
    contact_junk_review(contact_id=contact_id, is_junk=is_junk, reason=reason)
    return activities_exclusion_sync(contact_ids=[contact_id])
