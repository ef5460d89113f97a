"""The tracking API's PostgreSQL write path: one message per batch, prepared
statements per connection, and nothing half-written when the message fails.

Outside a test transaction (transaction=True), as the server runs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from accounts.identity import contacts_for_user_ids
from accounts.models import Contact
from engagement.models import Activity
from engagement.selectors import tracking_config_forget
from engagement.services.sources import IssuedSource
from engagement.services.tracking_postgresql import _numbered_parameters
from tests.tracking_client import post, track

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgresql")]

STATEMENTS = {"engage_tracking_bare_contacts", "engage_tracking_insert"}


@pytest.fixture(autouse=True)
def connections_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the server runs (DB_CONN_MAX_AGE); Django's tests set it to 0."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)


def prepared() -> dict[str, tuple[int, int]]:
    """This connection's prepared statements, by name without the version
    digest: name -> (generic plans, custom plans)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")
        return {
            name.rpartition("_")[0]: (generic, custom)
            for name, generic, custom in cursor.fetchall()
        }


def batch(first: int, size: int = 5) -> dict[str, list[dict[str, object]]]:
    return {"batch": [track(f"m-{n}", user_id=f"u-{n}") for n in range(first, first + size)]}


def test_the_write_statements_are_prepared_once_and_then_planned_no_more(
    client: Client, issued: IssuedSource
) -> None:
    for n in range(8):
        # Batches of 30 new users: nearer the 100 calls of a real client's.
        assert post(client, "/v1/batch", batch(n * 30, 30), issued.write_key).status_code == 200
    held = prepared()
    assert held.keys() >= STATEMENTS
    # PostgreSQL plans the first five executions for their values, then keeps
    # one generic plan when it costs no more.
    assert held["engage_tracking_insert"] == (3, 5)
    assert held["engage_tracking_bare_contacts"] == (3, 5)
    assert Activity.objects.count() == 240
    assert Contact.objects.count() == 240


def test_statements_the_connection_lost_are_prepared_again(
    client: Client, issued: IssuedSource
) -> None:
    assert post(client, "/v1/batch", batch(0), issued.write_key).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler's reset does
    response = post(client, "/v1/batch", batch(5), issued.write_key)
    assert response.status_code == 200
    assert prepared().keys() >= STATEMENTS
    assert Activity.objects.count() == 10


@override_settings(TRACKING_PREPARED_STATEMENTS=False)
def test_prepared_statements_can_be_turned_off_for_a_transaction_pooler(
    client: Client, issued: IssuedSource
) -> None:
    assert post(client, "/v1/batch", batch(0), issued.write_key).status_code == 200
    assert not STATEMENTS & prepared().keys()
    assert Activity.objects.count() == 5


def test_nothing_is_prepared_on_a_connection_used_for_one_request(
    client: Client, issued: IssuedSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    assert post(client, "/v1/batch", batch(0), issued.write_key).status_code == 200
    assert not STATEMENTS & prepared().keys()
    assert Activity.objects.count() == 5


@contextmanager
def activity_insert_trigger(body: str) -> Iterator[None]:
    """Run a PL/pgSQL `body` before every activity insert, for the block."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_activity_insert() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {body} END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_activity_insert BEFORE INSERT ON engagement_activity "
            "FOR EACH ROW EXECUTE FUNCTION test_activity_insert()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_activity_insert ON engagement_activity")
            cursor.execute("DROP FUNCTION test_activity_insert()")


def activity_inserts_refused() -> AbstractContextManager[None]:
    """Make every activity insert fail, as a constraint or a full disk would."""
    return activity_insert_trigger("RAISE EXCEPTION 'refused by the test';")


@pytest.mark.parametrize("prepare", [True, False])
def test_a_batch_whose_insert_fails_leaves_no_contact_behind_and_can_be_retried(
    client: Client, issued: IssuedSource, prepare: bool
) -> None:
    request = {"batch": [track("m-1", user_id="u-new")]}
    with override_settings(TRACKING_PREPARED_STATEMENTS=prepare):
        # Warm up, so that a prepared run fails in its EXECUTE, not its PREPARE.
        assert post(client, "/v1/batch", batch(100, 1), issued.write_key).status_code == 200
        with activity_inserts_refused():
            response = post(client, "/v1/batch", request, issued.write_key)
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        # The bare contact went in with the insert's message, and out with it.
        assert not Contact.objects.filter(external_id="u-new").exists()
        assert post(client, "/v1/batch", request, issued.write_key).status_code == 200
    stored = Activity.objects.get(message_id="m-1")
    assert stored.contact == Contact.objects.get(external_id="u-new")


def test_the_indexed_text_columns_of_activity_compare_bytes() -> None:
    # Migration 0016; a later AlterField of these columns would silently reset it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, collation_name FROM information_schema.columns "
            "WHERE table_name = 'engagement_activity' "
            "AND column_name IN ('message_id', 'anonymous_id', 'tracking_key')"
        )
        assert dict(cursor.fetchall()) == {
            "message_id": "C",
            "anonymous_id": "C",
            "tracking_key": "C",
        }


def test_the_source_reference_is_left_unchecked_by_the_database_but_protected() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT confrelid::regclass::text FROM pg_constraint "
            "WHERE conrelid = 'engagement_activity'::regclass AND contype = 'f'"
        )
        assert sorted(row[0] for row in cursor.fetchall()) == [
            "accounts_account",
            "accounts_contact",
        ]


def test_each_activity_gets_its_own_calls_properties_and_exact_time(
    client: Client, issued: IssuedSource
) -> None:
    # The properties travel apart from the other fields and are zipped back by
    # position: a prepared run (the second request) must keep them aligned too.
    for first in (0, 50):
        calls = [
            {
                **track(f"m-{n}", user_id=f"u-{n % 3}"),
                "properties": {"n": n, "tag": f"t{n}"},
                # Microseconds and an offset: the time travels as microseconds
                # since the epoch and must come back exact (just after the
                # epoch: earlier times are refused, tracking.activity_time).
                "timestamp": f"1970-01-01T02:59:{n % 60:02d}.{n:06d}+02:00",
            }
            for n in range(first, first + 50)
        ]
        assert post(client, "/v1/batch", {"batch": calls}, issued.write_key).status_code == 200
    stored = {
        m: (p, t)
        for m, p, t in Activity.objects.values_list("message_id", "properties", "occurred_at")
    }
    assert stored == {
        f"m-{n}": (
            {"n": n, "tag": f"t{n}"},
            dt.datetime(1970, 1, 1, 0, 59, n % 60, n, tzinfo=dt.UTC),
        )
        for n in range(100)
    }
    assert prepared().keys() >= STATEMENTS


def test_placeholders_become_numbered_parameters_and_escaped_percents_plain() -> None:
    sql = "SELECT %s, '100%%', %s WHERE x LIKE 'a%%s'"
    assert _numbered_parameters(sql) == "SELECT $1, '100%', $2 WHERE x LIKE 'a%s'"


def test_a_bare_contact_from_the_statement_equals_one_from_the_orm(
    client: Client, issued: IssuedSource
) -> None:
    # The fast path's SQL and contacts_for_user_ids (SQLite, identity calls)
    # create the same contact: the statement takes its defaults from the model.
    assert post(client, "/v1/batch", batch(0, 1), issued.write_key).status_code == 200
    contacts_for_user_ids(user_ids={"u-orm"})
    ignored = {"id", "external_id", "created_at", "updated_at"}

    def fields(external_id: str) -> dict[str, object]:
        values = Contact.objects.filter(external_id=external_id).values().get()
        return {name: value for name, value in values.items() if name not in ignored}

    assert fields("u-0") == fields("u-orm")


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def backend_terminate(pid: int) -> None:
    """End a server process from another connection, as a restart or an idle
    timeout would end the one a worker keeps."""
    import psycopg2

    database = connection.settings_dict
    other = psycopg2.connect(
        dbname=database["NAME"],
        user=database["USER"],
        password=database["PASSWORD"],
        host=database["HOST"],
        port=database["PORT"],
    )
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    finally:
        other.close()


@pytest.mark.parametrize("prepare", [True, False])
def test_a_kept_connection_the_server_dropped_is_replaced_without_a_failed_call(
    client: Client, issued: IssuedSource, prepare: bool
) -> None:
    # The batch path skips Django's SELECT 1 health check; its own statement
    # finds the dead connection and is sent again on a new one. As in a server:
    # the source and the event mapping are kept from the first request, so the
    # insert is the second request's first use of the connection.
    tracking_config_forget()
    with override_settings(TRACKING_PREPARED_STATEMENTS=prepare, TRACKING_CONFIG_CACHE_SECONDS=60):
        assert post(client, "/v1/batch", batch(0), issued.write_key).status_code == 200
        dropped = backend_pid()
        backend_terminate(dropped)
        connection.health_check_done = True  # type: ignore[attr-defined]
        with CaptureQueriesContext(connection) as queries:
            response = post(client, "/v1/batch", batch(5), issued.write_key)
        tracking_config_forget()
        assert response.status_code == 200, response.content
        assert "duplicates" not in response.json()
    # The failed message, then the same on a new connection; no SELECT 1.
    sent = [q["sql"] for q in queries.captured_queries]
    assert sent[0] == sent[-1]
    assert sent[0].startswith("EXECUTE" if prepare else "INSERT")
    # A new connection is given the statements again before the message.
    assert len(sent) == (5 if prepare else 2)
    assert not any(sql.strip() == "SELECT 1" for sql in sent)
    assert backend_pid() != dropped
    assert Activity.objects.count() == 10
    assert Contact.objects.count() == 10


def test_a_statement_that_fails_on_a_live_connection_is_not_sent_twice(
    client: Client, issued: IssuedSource
) -> None:
    assert post(client, "/v1/batch", batch(0), issued.write_key).status_code == 200
    kept = backend_pid()
    # An OperationalError whose connection is fine: a statement timeout.
    with activity_insert_trigger("PERFORM pg_sleep(0.2); RETURN NEW;"):
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 50")
        try:
            response = post(client, "/v1/batch", batch(5), issued.write_key)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
    assert response.status_code == 503
    assert backend_pid() == kept  # not closed and sent again
    assert Activity.objects.count() == 5


def test_text_with_quotes_escapes_and_other_scripts_arrives_unchanged(
    client: Client, issued: IssuedSource
) -> None:
    # Each field travels inside a JSON array of its own and is read back as
    # text: every character JSON escapes, and those it does not, must survive.
    odd = [
        'it\'s "quoted"',
        "back\\slash \\u0041",
        "tab\there\nnewline",
        "ünïcödé 日本語 🚀",
        "\u2028 \x7f",
    ]
    calls = [
        {
            "type": "page" if n % 2 else "track",
            "messageId": f"m-{text}-{n}",
            "userId" if n % 2 else "anonymousId": f"id {text}",
            "event": f"Event {text}",
            "name": f"Page {text}",
            "properties": {"program_key": f"Key {text}", "text": text},
            "context": {"ip": "2001:db8::7"},
        }
        for n, text in enumerate(odd)
    ]
    assert post(client, "/v1/batch", {"batch": calls}, issued.write_key).status_code == 200
    stored = {
        row[0]: row[1:]
        for row in Activity.objects.values_list(
            "message_id", "event_name", "tracking_key", "anonymous_id", "contact__external_id", "ip"
        )
    }
    assert stored == {
        f"m-{text}-{n}": (
            f"Page {text}" if n % 2 else f"Event {text}",
            f"key {text}".lower(),
            "" if n % 2 else f"id {text}",
            f"id {text}" if n % 2 else None,
            "2001:db8::7",
        )
        for n, text in enumerate(odd)
    }
