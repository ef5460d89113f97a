"""Writes to sources, scoring models and activities."""

from __future__ import annotations

import functools
import itertools
import json
import re
import secrets
import weakref
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from accounts.fit import InvalidCriteria, segment_member
from accounts.models import Contact, ICPSegment
from accounts.services import (
    AccountGroup,
    ContactIdentity,
    ContactRef,
    accounts_group,
    bare_contacts_insert_sql,
    contact_junk_review,
    contacts_for_user_ids,
    contacts_identify,
    contacts_junk_evaluate,
)
from accounts.tasks import segment_refresh_task
from accounts.traits import ContactTraits
from core import bulk
from engagement.imports import IMPORT_SOURCE_NAME
from engagement.models import (
    Activity,
    AnonymousIdentity,
    IdentityCall,
    IPRange,
    RejectedCall,
    ScoringModel,
    Source,
)
from engagement.networks import address_key
from engagement.rollup.incremental import scores_rollup_schedule
from engagement.selectors import (
    account_ids_for_addresses,
    tracking_config_forget,
    write_key_digest,
)
from engagement.tracking import (
    ActivityTypes,
    TrackingCall,
    nul_escaped,
)

BATCH_SIZE = bulk.BATCH_SIZE
OnBatch = bulk.OnBatch


WRITE_KEY_PREFIX_LENGTH = 8


@dataclass(frozen=True)
class IssuedSource:
    """A source and its write key: the only time the key is known in clear."""

    source: Source
    write_key: str


def _write_key_new() -> str:
    return secrets.token_urlsafe(24)


@transaction.atomic
def source_create(*, name: str, created_by_id: int | None = None) -> IssuedSource:
    name = name.strip()
    if not name:
        raise ValueError("a source needs a name")
    if Source.objects.filter(name=name).exists():
        raise ValueError(f"a source named {name!r} already exists")
    write_key = _write_key_new()
    source = Source.objects.create(
        name=name,
        write_key_hash=write_key_digest(write_key),
        write_key_prefix=write_key[:WRITE_KEY_PREFIX_LENGTH],
        created_by_id=created_by_id,
    )
    return IssuedSource(source=source, write_key=write_key)


@transaction.atomic
def source_write_key_rotate(*, source_id: int) -> IssuedSource:
    """Give a source a new write key; the old one stops working at once in this
    process and within TRACKING_CONFIG_CACHE_SECONDS in the others."""
    source = Source.objects.select_for_update().get(pk=source_id)
    write_key = _write_key_new()
    source.write_key_hash = write_key_digest(write_key)
    source.write_key_prefix = write_key[:WRITE_KEY_PREFIX_LENGTH]
    source.save(update_fields=["write_key_hash", "write_key_prefix"])
    transaction.on_commit(tracking_config_forget)
    return IssuedSource(source=source, write_key=write_key)


def source_revoke(*, source_id: int) -> None:
    """Refuse the source's key from now on (within TRACKING_CONFIG_CACHE_SECONDS
    in other web processes); its stored activity is kept."""
    Source.objects.filter(pk=source_id, is_active=True).update(
        is_active=False, revoked_at=timezone.now()
    )
    tracking_config_forget()


@transaction.atomic
def source_ensure(*, name: str, write_key: str) -> int:
    """The id of the source named `name`, created with `write_key` when missing.

    An existing source keeps its key: rotating it would break every client
    that already sends with it.
    """
    source, _ = Source.objects.get_or_create(
        name=name,
        defaults={
            "write_key_hash": write_key_digest(write_key),
            "write_key_prefix": write_key[:WRITE_KEY_PREFIX_LENGTH],
        },
    )
    return source.pk


@transaction.atomic
def scoring_models_default_ensure(*, segment_ids: Iterable[int]) -> int:
    """Give each segment without any scoring model version 1 with the DESIGN 4 defaults.

    Segments that already have a model are left alone, so a marketer's tuning
    survives a re-seed. Returns how many models were created.
    """
    wanted = set(segment_ids)
    having = set(
        ScoringModel.objects.filter(segment_id__in=wanted).values_list("segment_id", flat=True)
    )
    created = ScoringModel.objects.bulk_create(
        [
            ScoringModel(segment_id=segment_id, version=1, is_current=True)
            for segment_id in sorted(wanted - having)
        ],
        # Two sweeps may both find a segment without one: the first insert wins.
        ignore_conflicts=True,
    )
    return len(created)


class SegmentInvalid(ValueError):
    """A segment was refused; the message names the field and the value."""


@transaction.atomic
def segment_create(*, values: Mapping[str, Any]) -> ICPSegment:
    """A new ICP segment with its current scoring model (version 1, DESIGN 4
    defaults), so it is scored from the next rollup sweep on; its members are
    computed once it commits."""
    segment = ICPSegment(**values)
    try:
        segment.full_clean()
        # Criteria the membership rule cannot read (a missing key, an unknown
        # operator, a bad weight or min_fit) are refused now, not at refresh.
        segment_member(criteria=segment.criteria or {}, firmographics={})
    except ValidationError as invalid:
        raise SegmentInvalid(
            "; ".join(
                f"{name}: {' '.join(errors)}" for name, errors in invalid.message_dict.items()
            )
        ) from None
    except (InvalidCriteria, AttributeError, TypeError) as invalid:
        raise SegmentInvalid(f"criteria: {invalid}") from None
    segment.save()
    scoring_models_default_ensure(segment_ids=[segment.pk])
    transaction.on_commit(partial(segment_refresh_task.delay, segment.pk), robust=True)
    return segment


@dataclass(frozen=True, slots=True)
class ActivityRow:
    message_id: str
    type: str
    occurred_at: datetime
    account_id: int | None = None
    contact_id: int | None = None
    anonymous_id: str = ""
    ip: str | None = None
    tracking_key: str = ""
    event_name: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    excluded_reason: str = ""


def activities_bulk_insert(
    *,
    source_id: int,
    rows: Sequence[ActivityRow],
    batch_size: int = BATCH_SIZE,
    on_batch: OnBatch | None = None,
) -> int:
    """Insert activities of one source; (source, message_id) already stored are
    skipped. Returns how many were inserted.

    Skipping, not updating, is the ingest contract: a message id is delivered
    at least once and the first delivery wins. Callers stream large volumes
    in slices and wrap the whole load in their own transaction.

    On PostgreSQL each slice is one `INSERT ... SELECT FROM json_to_recordset`:
    a statement of constant text with the rows as one JSON parameter, which
    orjson writes and PostgreSQL parses far faster than per-value parameters
    (the tracking API's hot path, docs/benchmarks.md). Elsewhere, bulk_create.
    """
    insert = (
        _activities_insert_postgresql
        if connection.vendor == "postgresql"
        else _activities_insert_orm
    )
    inserted = 0
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        inserted += insert(source_id=source_id, rows=chunk)
        if on_batch is not None:
            on_batch(len(chunk))
    return inserted


def _activities_insert_orm(*, source_id: int, rows: Sequence[ActivityRow]) -> int:
    stored = set(
        Activity.objects.filter(
            source_id=source_id, message_id__in=[row.message_id for row in rows]
        ).values_list("message_id", flat=True)
    )
    new = [row for row in rows if row.message_id not in stored]
    Activity.objects.bulk_create(
        [
            Activity(
                source_id=source_id,
                message_id=row.message_id,
                type=row.type,
                occurred_at=row.occurred_at,
                account_id=row.account_id,
                contact_id=row.contact_id,
                anonymous_id=row.anonymous_id,
                ip=row.ip,
                tracking_key=row.tracking_key,
                event_name=row.event_name,
                properties=row.properties,
                excluded_reason=row.excluded_reason,
            )
            for row in new
        ],
        ignore_conflicts=True,
    )
    return len(new)


# ON CONFLICT on the message id's unique index: the row count is then the number
# of rows inserted. Naming the index matters for speed: a bare ON CONFLICT DO
# NOTHING (what bulk_create(ignore_conflicts=True) writes) checks every unique
# index before each row, the primary key's too.
_ACTIVITIES_INSERT_POSTGRESQL = """
INSERT INTO engagement_activity (
    source_id, received_at, message_id, type, occurred_at, account_id, contact_id,
    anonymous_id, ip, tracking_key, event_name, properties, excluded_reason
)
SELECT %s, %s, r.m, r.t, r.o, r.a, r.c, r.an, r.ip::inet, r.tk, r.en, r.p, r.er
FROM json_to_recordset(%s::json) AS r (
    m varchar, t varchar, o timestamptz, a bigint, c bigint, an varchar, ip varchar,
    tk varchar, en varchar, p jsonb, er varchar
)
ON CONFLICT (source_id, message_id) DO NOTHING
"""


def _rows_json(rows: Sequence[ActivityRow]) -> str:
    records = [
        {
            "m": r.message_id,
            "t": r.type,
            "o": r.occurred_at.isoformat(),
            "a": r.account_id,
            "c": r.contact_id,
            "an": r.anonymous_id,
            "ip": r.ip or None,
            "tk": r.tracking_key,
            "en": r.event_name,
            "p": r.properties,
            "er": r.excluded_reason,
        }
        for r in rows
    ]
    return _records_json(records)


def _records_json(records: list[dict[str, Any]]) -> str:
    try:
        return orjson.dumps(records).decode()
    except TypeError:  # non-string keys, huge integers ...: what json.dumps accepts
        return json.dumps(records)


def _activities_insert_postgresql(*, source_id: int, rows: Sequence[ActivityRow]) -> int:
    # Like auto_now_add, but one instant for the slice.
    received_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVITIES_INSERT_POSTGRESQL, [source_id, received_at, _rows_json(rows)])
        return cursor.rowcount


# --- The tracking API's write path -----------------------------------------------
# One transaction per request, a fixed number of queries whatever the number of
# calls. Replays change nothing: activities are unique per (source, message_id)
# and identity calls are logged in IdentityCall before they are applied.

IDENTITY_KINDS = frozenset({"identify", "group", "alias"})


@dataclass(frozen=True)
class Rejection:
    """A refused call: where it was in the request, its id, why, and all of it."""

    index: int
    message_id: str
    reason: str
    payload: Any


@dataclass(frozen=True)
class StoreResult:
    activities: int
    identity_calls: int
    duplicates: int
    rejected: Sequence[Rejection]


def _page_path(call: TrackingCall) -> str:
    path = call.properties.get("path")
    if not isinstance(path, str):
        page = call.context.get("page")
        path = page.get("path") if isinstance(page, dict) else None
    return path if isinstance(path, str) else ""


def _activity_type(call: TrackingCall, types: ActivityTypes) -> str:
    if call.kind == "track":
        return types.for_event(call.event)
    return types.for_page(_page_path(call))


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
        # its own (_tracking_activities_insert_postgresql), no BEGIN or COMMIT.
        stored = _tracking_activities_insert_postgresql(
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
                [
                    RejectedCall(
                        source_id=source_id,
                        message_id=nul_escaped(r.message_id)[:200],
                        reason=nul_escaped(r.reason)[:500],
                        payload=nul_escaped(
                            r.payload if isinstance(r.payload, dict) else {"value": r.payload}
                        ),
                    )
                    for r in rejections
                ]
            )
    return StoreResult(
        activities=stored,
        identity_calls=len(identity_calls),
        duplicates=duplicates,
        rejected=rejections,
    )


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
        return _tracking_activities_insert_postgresql(
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
                type=_activity_type(call, types),
                occurred_at=call.timestamp,
                account_id=person.account_id if person else resolved_account,
                contact_id=person.id if person else None,
                anonymous_id=call.anonymous_id,
                ip=call.ip,
                tracking_key=call.tracking_key,
                event_name=(call.event or call.name)[:200],
                properties=call.properties,
                excluded_reason=f"junk contact: {person.junk_reason}"
                if person and person.junk_reason
                else "",
            )
        )
    return activities_bulk_insert(source_id=source_id, rows=rows)


# The tracking API's hot path on PostgreSQL: the statement itself resolves what
# _activities_store resolves in Python elsewhere (same rules, same tests): the
# person behind a call (the contact of its user id, else the contact a known
# anonymous id was tied to), their account and junk flag, and, for a visit from
# no known person, the company owning its network (the innermost IP range, as
# selectors.account_ids_for_addresses).
_TRACKING_INSERT_POSTGRESQL = """
INSERT INTO engagement_activity (
    source_id, received_at, message_id, type, occurred_at, account_id, contact_id,
    anonymous_id, ip, tracking_key, event_name, properties, excluded_reason
)
SELECT %s, %s, r.m, r.t, timestamptz 'epoch' + r.o::bigint * interval '1 microsecond',
    CASE
        WHEN person.id IS NOT NULL THEN person.account_id
        WHEN r.k IS NOT NULL THEN (
            SELECT account.id FROM accounts_account AS account
            WHERE account.domain = (
                SELECT ip_range.domain FROM engagement_iprange AS ip_range
                WHERE ip_range.first_address <= r.k AND ip_range.last_address >= r.k
                ORDER BY ip_range.first_address DESC, ip_range.last_address ASC
                LIMIT 1
            )
            LIMIT 1
        )
    END,
    person.id,
    r.an, r.ip::inet, r.tk, r.en, r.p,
    CASE
        WHEN person.is_junk AND person.junk_reason <> ''
            THEN 'junk contact: ' || person.junk_reason
        ELSE ''
    END
-- Each field of the calls travels as a JSON array of its own, zipped back into
-- rows by ROWS FROM: cheaper to write and to read than an object per call (no
-- key names, no per-object lookup table; a properties object inside a record
-- was also read twice, once as JSON text and again into jsonb).
FROM ROWS FROM (
    json_array_elements_text(%s::json), json_array_elements_text(%s::json),
    json_array_elements_text(%s::json), json_array_elements_text(%s::json),
    json_array_elements_text(%s::json), json_array_elements_text(%s::json),
    json_array_elements_text(%s::json), json_array_elements_text(%s::json),
    json_array_elements_text(%s::json), jsonb_array_elements(%s::jsonb)
) AS r (m, t, o, u, an, k, ip, tk, en, p)
-- LATERAL ... LIMIT 1: index lookups per call, whatever the size of the contact
-- and identity tables (a plain join let the planner hash the whole contact
-- table for every batch).
LEFT JOIN LATERAL (
    SELECT person.id, person.account_id, person.is_junk, person.junk_reason
    FROM accounts_contact AS person
    WHERE r.u <> '' AND person.external_id = r.u
    UNION ALL
    SELECT person.id, person.account_id, person.is_junk, person.junk_reason
    FROM engagement_anonymousidentity AS anonymous
    JOIN accounts_contact AS person ON person.id = anonymous.contact_id
    WHERE r.u = '' AND r.an <> '' AND anonymous.anonymous_id = r.an
    LIMIT 1
) AS person ON true
ON CONFLICT (source_id, message_id) DO NOTHING
"""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _tracking_activities_insert_postgresql(
    *, source_id: int, calls: Sequence[TrackingCall], event_types: Mapping[str, str]
) -> int:
    """Create the bare contacts of unknown user ids and insert the activities,
    in one round trip; returns how many activities were inserted.

    Sent as one simple-query message of two statements: outside a transaction
    PostgreSQL runs such a message as one (both or neither, committed before it
    answers), and the insert, a statement of its own, sees the contacts the
    first one created or waited for.
    """
    types = ActivityTypes(event_types, settings.TRACKING_PRICING_PATTERNS)
    # The columns of _TRACKING_INSERT_POSTGRESQL's ROWS FROM, in its order.
    columns: tuple[list[Any], ...] = (
        [call.message_id for call in calls],
        [_activity_type(call, types) for call in calls],
        # Microseconds since the epoch: exact, and cheaper than ISO text on
        # both sides (isoformat alone was a tenth of the request's time).
        [(call.timestamp - _EPOCH) // _MICROSECOND for call in calls],
        [call.user_id for call in calls],
        [call.anonymous_id for call in calls],
        # Only a call without a user id can be a visit from no known person.
        [address_key(call.ip) if call.ip and not call.user_id else None for call in calls],
        [call.ip for call in calls],
        [call.tracking_key for call in calls],
        [(call.event or call.name)[:200] for call in calls],
        [call.properties for call in calls],
    )
    user_ids = sorted({call.user_id for call in calls if call.user_id})
    params: list[Any] = [source_id, timezone.now(), *map(_records_json, columns)]
    if user_ids:
        params = [user_ids, *params]
    if connection.in_atomic_block:
        return _tracking_insert_run(with_contacts=bool(user_ids), params=params)
    # Outside a transaction the statement is its own health check: Django's
    # would cost a `SELECT 1` round trip per request (a fortieth of a batch's
    # time in gunicorn). A kept connection that the server has dropped fails
    # it before anything ran or after it committed; either way the message can
    # be sent again on a new connection, where stored message ids and contacts
    # are skipped (in the second case the answer counts the calls as
    # duplicates, and the minute's rollup sweep scores them).
    fresh = connection.connection is None
    connection.health_check_done = True  # type: ignore[attr-defined]  # Django 4.1+, not in the stubs
    try:
        return _tracking_insert_run(with_contacts=bool(user_ids), params=params)
    except (OperationalError, InterfaceError):
        if fresh or (connection.connection is not None and connection.is_usable()):
            raise  # the statement failed, not the connection: the view answers 503
        connection.close()
        return _tracking_insert_run(with_contacts=bool(user_ids), params=params)


def _tracking_insert_run(*, with_contacts: bool, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        if _tracking_statements_preparable():
            try:
                return _tracking_prepared_execute(
                    cursor, with_contacts=with_contacts, params=params
                )
            except DatabaseError as error:
                if getattr(error.__cause__, "pgcode", None) != INVALID_SQL_STATEMENT_NAME:
                    raise
                # The connection lost them (DISCARD ALL, a pooler): nothing ran.
                _prepared_connections.discard(connection.connection)
                return _tracking_prepared_execute(
                    cursor, with_contacts=with_contacts, params=params
                )
        sql = _TRACKING_INSERT_POSTGRESQL
        if with_contacts:
            sql = f"{bare_contacts_insert_sql()};\n{sql}"
        cursor.execute(sql, params)
        # The row count of a multi-statement message is the last statement's.
        return int(cursor.rowcount)


# --- Prepared tracking statements -------------------------------------------------
# Planning the insert cost PostgreSQL more than a millisecond per batch
# (docs/benchmarks.md); prepared, it is planned once per connection. The names
# are this product's own; pg_prepared_statements says what a connection holds.

INVALID_SQL_STATEMENT_NAME = "26000"
# The raw connections known to hold both statements.
_prepared_connections: weakref.WeakSet[Any] = weakref.WeakSet()


@functools.cache
def _tracking_statements() -> dict[str, tuple[str, str]]:
    """name -> (parameter types, text) of the contacts and the insert statement.

    Each name carries a digest of its text: a connection that holds another
    version of a statement (a pooler keeping server connections across a
    deploy) never runs it, it prepares the new one beside it.
    """

    def named(prefix: str, sql: str) -> str:
        return f"{prefix}_{zlib.crc32(sql.encode()):08x}"

    contacts_sql = bare_contacts_insert_sql()
    return {
        named("engage_tracking_bare_contacts", contacts_sql): ("varchar[]", contacts_sql),
        named("engage_tracking_insert", _TRACKING_INSERT_POSTGRESQL): (
            "bigint, timestamptz, " + "json, " * 9 + "jsonb",
            _TRACKING_INSERT_POSTGRESQL,
        ),
    }


def _tracking_statements_preparable() -> bool:
    """Prepare only where it pays and is safe: connections kept between
    requests, and outside a transaction, where a statement found missing can
    be prepared and the call retried."""
    return (
        settings.TRACKING_PREPARED_STATEMENTS
        and connection.settings_dict.get("CONN_MAX_AGE") != 0
        and not connection.in_atomic_block
    )


def _numbered_parameters(sql: str) -> str:
    """psycopg2's %s placeholders as PostgreSQL's $1, $2 ... in order, and its
    %% escapes as the % they stand for (PREPARE's text is sent as it is)."""
    numbers = itertools.count(1)
    return re.sub(r"%([s%])", lambda m: "%" if m[1] == "%" else f"${next(numbers)}", sql)


def _tracking_statements_prepare(cursor: Any) -> None:
    statements = _tracking_statements()
    cursor.execute(
        "SELECT name FROM pg_prepared_statements WHERE name = ANY(%s)", [list(statements)]
    )
    held = {name for (name,) in cursor.fetchall()}
    for name, (types, sql) in statements.items():
        if name not in held:
            # Constant text: our names, types and statements, nothing from a request.
            cursor.execute(f"PREPARE {name} ({types}) AS {_numbered_parameters(sql)}")
    _prepared_connections.add(connection.connection)


def _tracking_prepared_execute(cursor: Any, *, with_contacts: bool, params: list[Any]) -> int:
    if connection.connection not in _prepared_connections:
        _tracking_statements_prepare(cursor)
    contacts, insert = _tracking_statements()
    sql = f"EXECUTE {insert} ({', '.join(['%s'] * 12)})"
    if with_contacts:
        sql = f"EXECUTE {contacts} (%s);\n{sql}"
    cursor.execute(sql, params)
    return int(cursor.rowcount)


# --- Junk ------------------------------------------------------------------------


def activities_exclusion_sync(*, contact_ids: Sequence[int]) -> int:
    """Make the contacts' activity follow their junk flag: excluded with the
    reason while junk, counted again once the flag is reversed. Nothing is deleted."""
    junk_reason = (
        Contact.objects.filter(pk=OuterRef("contact_id"), is_junk=True)
        .annotate(reason=Concat(Value("junk contact: "), "junk_reason"))
        .values("reason")[:1]
    )
    updated = 0
    for chunk in bulk.chunks(list(contact_ids), bulk.LOOKUP_CHUNK):
        updated += Activity.objects.filter(contact_id__in=chunk).update(
            excluded_reason=Coalesce(Subquery(junk_reason), Value(""))
        )
    return updated


@dataclass(frozen=True)
class JunkApplyResult:
    contacts_changed: int
    activities_updated: int


@transaction.atomic
def junk_rules_apply(*, contact_ids: Sequence[int] | None = None) -> JunkApplyResult:
    """Re-apply the junk rules (after a rule changed) and let activity follow."""
    changed = contacts_junk_evaluate(contact_ids=contact_ids)
    return JunkApplyResult(
        contacts_changed=len(changed),
        activities_updated=activities_exclusion_sync(contact_ids=changed),
    )


@transaction.atomic
def contact_junk_set(*, contact_id: int, is_junk: bool, reason: str = "") -> int:
    """Flag or clear a contact by hand; returns how many of its activities changed."""
    contact_junk_review(contact_id=contact_id, is_junk=is_junk, reason=reason)
    return activities_exclusion_sync(contact_ids=[contact_id])


# --- CSV import writes (rows validated by engagement.imports) ----------------------


@transaction.atomic
def ip_ranges_import_write(
    *, records: Sequence[tuple[Any, dict[str, Any]]], write: bool = True,
    on_batch: bulk.OnBatch | None = None,
) -> bulk.UpsertCounts:  # fmt: skip
    return bulk.upsert_by_key(
        model=IPRange, key="network", rows=[v for _, v in records],
        fields=("first_address", "last_address", "domain"), write=write, on_batch=on_batch,
    ).counts  # fmt: skip


@transaction.atomic
def activities_import_write(
    *, records: Sequence[tuple[Any, dict[str, Any]]], write: bool = True,
    on_batch: bulk.OnBatch | None = None,
) -> bulk.UpsertCounts:  # fmt: skip
    """Insert imported activities once each (by message id in the import source);
    contacts named by email are created or linked as an identify would."""
    source_id = source_ensure(name=IMPORT_SOURCE_NAME, write_key=secrets.token_urlsafe(24))
    values = [v for _, v in records]
    stored: set[str] = set()
    for chunk in bulk.chunks([v["message_id"] for v in values], bulk.LOOKUP_CHUNK):
        stored.update(
            Activity.objects.filter(source_id=source_id, message_id__in=chunk).values_list(
                "message_id", flat=True
            )
        )
    new = [v for v in values if v["message_id"] not in stored]
    counts = bulk.UpsertCounts(created=len(new), unchanged=len(values) - len(new))
    if not write or not new:
        return counts
    emails = sorted({v["email"] for v in new if v["email"]})
    contacts_identify(
        identities=[ContactIdentity(user_id="", traits=_email_only(e)) for e in emails]
    )
    people: dict[str, ContactRef] = {}
    for chunk in bulk.chunks(emails, bulk.LOOKUP_CHUNK):
        for email, pk, account_id, junk, reason in Contact.objects.filter(
            email__in=chunk
        ).values_list("email", "id", "account_id", "is_junk", "junk_reason"):
            people[email or ""] = ContactRef(
                id=pk, account_id=account_id, junk_reason=reason if junk else ""
            )
    rows = []
    for v in new:
        person = people.get(v["email"]) if v["email"] else None
        rows.append(
            ActivityRow(
                message_id=v["message_id"],
                type=v["type"],
                occurred_at=v["occurred_at"],
                account_id=v["account_id"] or (person.account_id if person else None),
                contact_id=person.id if person else None,
                tracking_key=v["tracking_key"],
                event_name=v["event_name"][:200],
                excluded_reason=f"junk contact: {person.junk_reason}"
                if person and person.junk_reason
                else "",
            )
        )
    activities_bulk_insert(source_id=source_id, rows=rows, on_batch=on_batch)
    transaction.on_commit(scores_rollup_schedule, robust=True)
    return counts


def _email_only(email: str) -> ContactTraits:
    return ContactTraits(
        email=email, first_name="", last_name="", title="", seniority="", job_function="",
        buying_role="", country="",
    )  # fmt: skip
