"""The tracking API's write path: store a request's calls, apply identity calls
(identify, group, alias) and tie anonymous ids and their earlier activity to
people. On PostgreSQL the common batch goes through `tracking_postgresql`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from accounts.identity import (
    AccountGroup,
    ContactIdentity,
    ContactRef,
    accounts_group,
    contacts_for_user_ids,
    contacts_identify,
)
from accounts.junk import junk_exclusion_reason
from engagement.activity_types import ActivityTypes
from engagement.models import Activity, AnonymousIdentity, IdentityCall, RejectedCall
from engagement.rollup.incremental import scores_rollup_schedule
from engagement.selectors import account_ids_for_addresses
from engagement.services.activities import ActivityRow, activities_bulk_insert
from engagement.services.junk import activities_exclusion_sync
from engagement.services.tracking_postgresql import tracking_activities_insert_postgresql
from engagement.tracking import Rejection, TrackingCall
from engagement.tracking_json import nul_escaped

# --- The tracking API's write path -----------------------------------------------
# One transaction per request, a fixed number of queries whatever the number of
# calls. Replays change nothing: activities are unique per (source, message_id)
# and identity calls are logged in IdentityCall before they are applied.

IDENTITY_KINDS = frozenset({"identify", "group", "alias"})


@dataclass(frozen=True)
class StoreResult:
    activities: int
    identity_calls: int
    duplicates: int
    rejected: Sequence[Rejection]


def tracking_calls_store(
    *,
    source_id: int,
    calls: Sequence[TrackingCall],
    rejections: Sequence[Rejection],
    event_types: Mapping[str, str],
) -> StoreResult:
    """Apply identity calls, store activities and dead-letter the refused, atomically."""
    unique: dict[str, TrackingCall] = {}
    for call in calls:
        unique.setdefault(call.message_id, call)
    duplicates = len(calls) - len(unique)

    identity_calls = [c for c in unique.values() if c.kind in IDENTITY_KINDS]
    activity_calls = [c for c in unique.values() if c.kind not in IDENTITY_KINDS]
    if (
        activity_calls
        and not identity_calls
        and not rejections
        and connection.vendor == "postgresql"
    ):
        # The common batch, page and track calls only: one round trip, atomic on
        # its own (tracking_postgresql), no BEGIN or COMMIT.
        stored = tracking_activities_insert_postgresql(
            source_id=source_id, calls=activity_calls, event_types=event_types
        )
        if stored:
            transaction.on_commit(scores_rollup_schedule, robust=True)
        return StoreResult(
            activities=stored,
            identity_calls=0,
            duplicates=duplicates + len(activity_calls) - stored,
            rejected=rejections,
        )

    with transaction.atomic():
        if identity_calls:
            seen = set(
                IdentityCall.objects.filter(
                    source_id=source_id, message_id__in=[c.message_id for c in identity_calls]
                ).values_list("message_id", flat=True)
            )
            duplicates += len(seen)
            identity_calls = [c for c in identity_calls if c.message_id not in seen]
            _identity_calls_apply(source_id=source_id, calls=identity_calls)
        stored = (
            _activities_store(source_id=source_id, calls=activity_calls, event_types=event_types)
            if activity_calls
            else 0
        )
        # A message id stored before is skipped by the insert itself.
        duplicates += len(activity_calls) - stored
        if stored:
            # Debounced: at most one rollup enqueued per window, whatever the traffic.
            transaction.on_commit(scores_rollup_schedule, robust=True)
        if rejections:
            RejectedCall.objects.bulk_create(
                dead_letters(source_id=source_id, rejections=rejections)
            )
    return StoreResult(
        activities=stored,
        identity_calls=len(identity_calls),
        duplicates=duplicates,
        rejected=rejections,
    )


def dead_letters(*, source_id: int, rejections: Sequence[Rejection]) -> list[RejectedCall]:
    """The rows that keep a request's refused calls: one per distinct call, with
    `repeats` counting its copies, so that a batch of a thousand `{}` is one row,
    not a thousand (each call is still kept whole: the copies are identical)."""
    rows: dict[tuple[str, str, str], RejectedCall] = {}
    for rejection in rejections:
        payload = nul_escaped(
            rejection.payload
            if isinstance(rejection.payload, dict)
            else {"value": rejection.payload}
        )
        message_id = nul_escaped(rejection.message_id)[:200]
        reason = nul_escaped(rejection.reason)[:500]
        # The body as canonical text: equal calls give equal text, key order aside.
        body = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        row = rows.get((reason, message_id, body))
        if row is None:
            rows[(reason, message_id, body)] = RejectedCall(
                source_id=source_id, message_id=message_id, reason=reason, payload=payload
            )
        else:
            row.repeats += 1
    return list(rows.values())


def _identity_calls_apply(*, source_id: int, calls: Sequence[TrackingCall]) -> None:
    """Upsert contacts and accounts, in the order the calls happened."""
    ordered = sorted(calls, key=lambda c: c.timestamp)
    identities = [
        ContactIdentity(user_id=c.user_id, traits=c.contact)
        for c in ordered
        if c.contact is not None
    ]
    groups = [
        AccountGroup(group_id=c.group_id, traits=c.account, user_id=c.user_id)
        for c in ordered
        if c.account is not None
    ]
    identified = contacts_identify(identities=identities)
    contact_ids = dict(identified.contact_ids)
    if identified.junk_changed:
        activities_exclusion_sync(contact_ids=identified.junk_changed)
    accounts_group(groups=groups)
    # identify with an anonymous id (and a user id or an email: the parse
    # refuses one with neither), and alias(previousId -> userId), tie an
    # anonymous id to a person; later calls win.
    links: dict[str, tuple[str, str]] = {}  # anonymous id -> ("user" | "email", value)
    for c in ordered:
        if c.kind == "identify" and c.anonymous_id:
            if c.user_id:
                links[c.anonymous_id] = ("user", c.user_id)
            elif c.contact is not None and c.contact.email:
                links[c.anonymous_id] = ("email", c.contact.email)
        elif c.kind == "alias":
            links[c.previous_id] = ("user", c.user_id)
    if links:
        wanted = {value for how, value in links.values() if how == "user"}
        people = contacts_for_user_ids(user_ids=wanted - contact_ids.keys())
        contact_ids |= {uid: ref.id for uid, ref in people.items()}
        by_kind = {"user": contact_ids, "email": identified.contact_ids_by_email}
        _anonymous_history_attach(
            contact_by_anonymous_id={
                anon: by_kind[how][value] for anon, (how, value) in links.items()
            }
        )
    IdentityCall.objects.bulk_create(
        [IdentityCall(source_id=source_id, message_id=c.message_id, kind=c.kind) for c in ordered],
        ignore_conflicts=True,
    )


def _anonymous_history_attach(*, contact_by_anonymous_id: Mapping[str, int]) -> None:
    """Remember who each anonymous id is, and give their earlier activity to them."""
    AnonymousIdentity.objects.bulk_create(
        [
            AnonymousIdentity(anonymous_id=anon, contact_id=contact_id)
            for anon, contact_id in contact_by_anonymous_id.items()
        ],
        ignore_conflicts=True,
    )
    identity = AnonymousIdentity.objects.filter(anonymous_id=OuterRef("anonymous_id"))
    Activity.objects.filter(
        contact__isnull=True, anonymous_id__in=list(contact_by_anonymous_id)
    ).update(
        contact_id=Subquery(identity.values("contact_id")[:1]),
        account_id=Coalesce(Subquery(identity.values("contact__account_id")[:1]), F("account_id")),
    )


def _activities_store(
    *, source_id: int, calls: Sequence[TrackingCall], event_types: Mapping[str, str]
) -> int:
    if connection.vendor == "postgresql":
        return tracking_activities_insert_postgresql(
            source_id=source_id, calls=calls, event_types=event_types
        )
    types = ActivityTypes(event_types, settings.TRACKING_PRICING_PATTERNS)
    people = contacts_for_user_ids(user_ids={c.user_id for c in calls if c.user_id})
    anonymous = {c.anonymous_id for c in calls if c.anonymous_id and not c.user_id}
    known_anonymous = (
        {
            anon: ContactRef(id=pk, account_id=account_id, junk_reason=reason if junk else "")
            for anon, pk, account_id, junk, reason in AnonymousIdentity.objects.filter(
                anonymous_id__in=anonymous
            ).values_list(
                "anonymous_id",
                "contact_id",
                "contact__account_id",
                "contact__is_junk",
                "contact__junk_reason",
            )
        }
        if anonymous
        else {}
    )
    persons = {
        call.message_id: people.get(call.user_id)
        if call.user_id
        else known_anonymous.get(call.anonymous_id)
        for call in calls
    }
    # Visits from no known person are resolved to a company by its IP ranges.
    account_by_address = account_ids_for_addresses(
        {c.ip for c in calls if c.ip and persons[c.message_id] is None}
    )
    rows = []
    for call in calls:
        person = persons[call.message_id]
        resolved_account = account_by_address.get(call.ip) if call.ip and not person else None
        rows.append(
            ActivityRow(
                message_id=call.message_id,
                type=types.for_call(call),
                occurred_at=call.timestamp,
                account_id=person.account_id if person else resolved_account,
                contact_id=person.id if person else None,
                anonymous_id=call.anonymous_id,
                ip=call.ip,
                tracking_key=call.tracking_key,
                event_name=(call.event or call.name)[:200],
                properties=call.properties,
                excluded_reason=junk_exclusion_reason(person.junk_reason) if person else "",
            )
        )
    return activities_bulk_insert(source_id=source_id, rows=rows)
