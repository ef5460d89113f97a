"""The tracking API's hot path on PostgreSQL: one statement (bare contacts of
unknown user ids, then the activities, resolved in SQL) in one round trip,
prepared once per kept connection."""

from __future__ import annotations

import functools
import itertools
import re
import weakref
import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

from accounts.identity import bare_contacts_insert_sql
from accounts.junk import JUNK_EXCLUSION_PREFIX
from engagement.activity_types import ActivityTypes
from engagement.networks import address_key, innermost_range_domain_sql
from engagement.services.activities import records_json
from engagement.tracking import TrackingCall

# accounts.junk's exclusion prefix as a SQL string literal (accounts.junk owns the
# rule; each activity's reason is junk_exclusion_reason of its contact's). Written
# into the text, not sent as a parameter, so the statement, the name it is
# prepared under and its parameters stay as they were. %% for psycopg2's escapes.
_JUNK_EXCLUSION_PREFIX_SQL = "'{}'".format(
    JUNK_EXCLUSION_PREFIX.replace("'", "''").replace("%", "%%")
)

# The tracking API's hot path on PostgreSQL: the statement itself resolves what
# tracking._activities_store resolves in Python elsewhere (same rules, same
# tests): the person behind a call (the contact of its user id, else the contact
# a known anonymous id was tied to), their account and junk flag, and, for a
# visit from no known person, the company owning its network (the innermost IP
# range, engagement.networks.innermost_range_domain_sql).
_TRACKING_INSERT_POSTGRESQL = f"""
INSERT INTO engagement_activity (
    source_id, received_at, message_id, type, occurred_at, account_id, contact_id,
    anonymous_id, ip, tracking_key, event_name, properties, excluded_reason
)
SELECT %s, %s, r.m, r.t, timestamptz 'epoch' + r.o::bigint * interval '1 microsecond',
    CASE
        WHEN person.id IS NOT NULL THEN person.account_id
        WHEN r.k IS NOT NULL THEN (
            SELECT account.id FROM accounts_account AS account
            WHERE account.domain = {innermost_range_domain_sql("r.k")}
            LIMIT 1
        )
    END,
    person.id,
    r.an, r.ip::inet, r.tk, r.en, r.p,
    CASE
        WHEN person.is_junk AND person.junk_reason <> ''
            THEN {_JUNK_EXCLUSION_PREFIX_SQL} || person.junk_reason
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
"""  # noqa: S608 - constant text of ours (the prefix quoted above); every value is a parameter  # nosec B608


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def tracking_activities_insert_postgresql(
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
        [types.for_call(call) for call in calls],
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
    params: list[Any] = [source_id, timezone.now(), *map(records_json, columns)]
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
    _django_health_check_skip()
    try:
        return _tracking_insert_run(with_contacts=bool(user_ids), params=params)
    except (OperationalError, InterfaceError):
        if fresh or (connection.connection is not None and connection.is_usable()):
            raise  # the statement failed, not the connection: the view answers 503
        connection.close()
        return _tracking_insert_run(with_contacts=bool(user_ids), params=params)


def _django_health_check_skip() -> None:
    """Tell Django this request's connection health check is done, so it sends no
    `SELECT 1` before the statement (which checks the connection itself, above).

    Django offers no supported switch for one request: CONN_HEALTH_CHECKS is per
    database alias, and turning it off would drop the check for every other
    query of the process, the rollup workers' included. `health_check_done` is
    the private flag Django's own `close_if_health_check_failed` reads and
    `close_if_unusable_or_obsolete` resets at each request (Django 4.1+, not in
    the stubs). This is the one place that sets it. Should a Django upgrade
    rename it, the cost is one `SELECT 1` per request again, not a failure.
    """
    connection.health_check_done = True  # type: ignore[attr-defined]


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
