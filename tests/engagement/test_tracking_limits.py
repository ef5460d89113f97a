"""Inputs at the edges that used to answer 500 or 503, or stop scoring (issue 13):
each call is stored or refused on its own, and nothing is a 500.

Through the real endpoints (Django's test client), on SQLite and PostgreSQL.
A batch of track and page calls only takes the PostgreSQL fast path of
engagement/services/tracking_postgresql.py; a batch with an identify takes the other one: the
`path` parameter covers both.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import socket
import time
from decimal import Decimal
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.db.backends.base.operations import BaseDatabaseOperations
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Account, Contact, ICPSegment, SegmentMembership
from accounts.traits import ANNUAL_REVENUE_DECIMAL_PLACES, ANNUAL_REVENUE_LIMIT, EMPLOYEES_MAX
from engagement import ratelimit
from engagement.models import (
    AccountEngagement,
    Activity,
    AnonymousIdentity,
    RejectedCall,
    ScoringModel,
)
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute
from engagement.services.sources import IssuedSource
from tests.tracking_client import basic_auth

pytestmark = pytest.mark.django_db


def post(client: Client, path: str, body: Any, write_key: str) -> Any:
    # json, not orjson: orjson cannot write the integers over 64 bits sent here.
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, data, content_type="application/json", headers=basic_auth(write_key))


def track(message_id: str, timestamp: Any = "2026-11-20T10:00:00Z", **extra: Any) -> dict[str, Any]:
    call = {"type": "track", "messageId": message_id, "userId": "u-1", "event": "Demo Requested"}
    if timestamp is not None:
        call["timestamp"] = timestamp
    return {**call, **extra}


IDENTIFY = {"type": "identify", "messageId": "id-1", "userId": "u-1",
            "traits": {"email": "ada@northwind.example"}}  # fmt: skip
# A batch of track calls only takes the PostgreSQL fast path; one with an
# identify call takes the transaction path (on SQLite both are the ORM path).
PATHS = {"fast": [], "identify": [IDENTIFY]}


# --- Times -------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_a_time_more_than_a_day_ahead_is_stored_at_receipt_and_scoring_goes_on(
    client: Client, issued: IssuedSource, path: str
) -> None:
    segment = ICPSegment.objects.create(name="All")
    model = ScoringModel.objects.create(segment=segment)
    account = Account.objects.create(name="Northwind", domain="northwind.example")
    SegmentMembership.objects.create(segment=segment, account=account)
    Contact.objects.create(
        external_id="u-1",
        email="ada@northwind.example",
        email_domain="northwind.example",
        account=account,
    )
    scores_recompute(segment_id=segment.pk)  # the segment has a landmark from now on

    before = timezone.now()
    calls = [*PATHS[path], track("far", "2150-01-01T00:00:00Z"), track("near", None)]
    response = post(client, "/v1/batch", {"batch": calls}, issued.write_key)
    after = timezone.now()

    assert response.status_code == 200
    body = response.json()
    assert "refused" not in body
    index = len(PATHS[path])
    [adjusted] = body["adjusted"]
    assert adjusted["index"] == index and adjusted["messageId"] == "far"
    assert adjusted["timestamp"] == "2150-01-01T00:00:00+00:00"
    far = Activity.objects.get(message_id="far")
    near = Activity.objects.get(message_id="near")
    # Clamped to the time received, the same instant a call without a time gets.
    assert before <= far.occurred_at <= after
    assert far.occurred_at == near.occurred_at
    assert dt.datetime.fromisoformat(adjusted["storedAs"]) == far.occurred_at

    at = after + dt.timedelta(minutes=1)
    scores_rollup(at=at)
    rolled = AccountEngagement.objects.get(account=account).score
    scores_recompute(segment_id=segment.pk, at=at)
    engagement = AccountEngagement.objects.get(account=account)
    # By hand: two demo requests by one contact (seniority unknown: x1), each
    # decayed from its time to `at`, capped, then normalised.
    rate = math.log(2) / model.half_life_days
    points = sum(
        model.activity_weights["demo_request"]
        * math.exp(-rate * (at - a.occurred_at).total_seconds() / 86400)
        for a in (far, near)
    )
    expected = round(100 * (1 - math.exp(-min(model.contact_cap, points) / model.scale)))
    assert engagement.score == rolled == expected


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        ("0001-01-01T00:00:00Z", "is before 1970-01-01"),
        ("0001-01-01T00:00:00-14:00", "is before 1970-01-01"),
        ("0001-01-01T00:00:00+14:00", "outside the calendar"),
        ("9999-12-31T23:59:59-14:00", "outside the calendar"),
        ("1969-12-31T23:59:59Z", "is before 1970-01-01"),
        (1e20, "must be an ISO 8601 date-time string"),
        (99999999999999999999, "must be an ISO 8601 date-time string"),
        ("99999999999999999999", "is not an ISO 8601 date-time"),
        ("+275760-09-13T00:00:00Z", "is not an ISO 8601 date-time"),
    ],
)
def test_a_time_outside_what_is_stored_is_refused_alone(
    client: Client, issued: IssuedSource, path: str, timestamp: Any, reason: str
) -> None:
    calls = [*PATHS[path], track("bad", timestamp), track("good")]
    response = post(client, "/v1/batch", {"batch": calls}, issued.write_key)
    assert response.status_code == 200
    [refused] = response.json()["refused"]
    assert refused["index"] == len(PATHS[path]) and refused["messageId"] == "bad"
    assert refused["reason"].startswith("timestamp") and reason in refused["reason"]
    assert list(Activity.objects.values_list("message_id", flat=True)) == ["good"]
    assert RejectedCall.objects.get().message_id == "bad"
    # A single call: a 400 naming the field.
    single = post(client, "/v1/track", track("bad-1", timestamp), issued.write_key)
    assert single.status_code == 400
    assert single.json()["message"].startswith("timestamp") and reason in single.json()["message"]


@pytest.mark.parametrize("path", PATHS)
def test_a_number_beyond_a_double_refuses_its_call_not_the_batch(
    client: Client, issued: IssuedSource, path: str
) -> None:
    # Valid JSON that orjson refuses to read: epoch-like numbers past a double.
    big = "9" * 400
    calls = [
        *(json.dumps(c) for c in PATHS[path]),
        '{"type": "track", "messageId": "t", "userId": "u-1", "event": "x", "timestamp": 1e400}',
        '{"type": "track", "messageId": "p", "userId": "u-1", "event": "x",'
        ' "properties": {"n": [1, -1e999]}}',
        f'{{"type": "track", "messageId": "i", "userId": "u-1", "event": "x", "sentAt": {big}}}',
        json.dumps(track("good")),
    ]
    body = ('{"batch": [' + ", ".join(calls) + "]}").encode()
    response = post(client, "/v1/batch", body, issued.write_key)
    assert response.status_code == 200
    refused = {r["messageId"]: r["reason"] for r in response.json()["refused"]}
    assert refused == {
        "t": "timestamp is a number too large to store",
        "p": "properties.n[1] is a number too large to store",
        "i": "sentAt is a number too large to store",
    }
    assert list(Activity.objects.values_list("message_id", flat=True)) == ["good"]
    dead = dict(RejectedCall.objects.values_list("message_id", "payload"))
    assert dead["t"]["timestamp"] == "1e400" and dead["i"]["sentAt"] == big
    # NaN and Infinity are not JSON: the body is refused as such.
    nan = post(client, "/v1/batch", b'{"batch": [{"timestamp": NaN}]}', issued.write_key)
    assert nan.status_code == 400 and nan.json()["code"] == "invalid_json"


def test_a_skew_correction_outside_the_calendar_is_refused(
    client: Client, issued: IssuedSource
) -> None:
    call = track("skew", None, originalTimestamp="0001-01-01T00:00:00Z",
                 sentAt="9999-12-31T00:00:00Z")  # fmt: skip
    response = post(client, "/v1/track", call, issued.write_key)
    assert response.status_code == 400
    assert "corrected by sentAt" in response.json()["message"]
    assert Activity.objects.count() == 0


def test_the_sent_at_correction_still_applies_within_the_policy(
    client: Client, issued: IssuedSource
) -> None:
    # A client clock 200 years ahead: sentAt corrects it, nothing is clamped.
    call = track("skew", None, originalTimestamp="2226-11-20T09:59:00Z",
                 sentAt="2226-11-20T10:00:00Z")  # fmt: skip
    before = timezone.now()
    response = post(client, "/v1/track", call, issued.write_key)
    assert response.status_code == 200 and "adjusted" not in response.json()
    stored = Activity.objects.get().occurred_at
    assert before - dt.timedelta(minutes=1, seconds=1) <= stored <= timezone.now()


# --- Context and identify ----------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("context", ["a string", ["a", "list"], 7])
def test_a_context_that_is_not_an_object_is_refused_alone(
    client: Client, issued: IssuedSource, path: str, context: Any
) -> None:
    calls = [*PATHS[path], track("bad", context=context), track("good")]
    # With a batch-level context, which is merged into each call's own.
    body = {"batch": calls, "context": {"library": {"name": "analytics-python"}}}
    response = post(client, "/v1/batch", body, issued.write_key)
    assert response.status_code == 200
    [refused] = response.json()["refused"]
    assert refused["messageId"] == "bad"
    assert refused["reason"].startswith("context must be an object")
    assert list(Activity.objects.values_list("message_id", flat=True)) == ["good"]


def test_identify_with_only_an_anonymous_id_and_an_email_ties_the_visitor_to_that_person(
    client: Client, issued: IssuedSource
) -> None:
    account = Account.objects.create(name="Northwind", domain="northwind.example")
    visit = {"type": "page", "messageId": "p-1", "anonymousId": "anon-1", "name": "Pricing"}
    identify = {"type": "identify", "messageId": "i-1", "anonymousId": "anon-1",
                "traits": {"email": "Ada@Northwind.example", "firstName": "Ada"}}  # fmt: skip
    assert post(client, "/v1/batch", {"batch": [visit]}, issued.write_key).status_code == 200
    response = post(client, "/v1/identify", identify, issued.write_key)
    assert response.status_code == 200 and response.json() == {"success": True}
    person = Contact.objects.get()
    assert (person.email, person.first_name, person.account_id) == (
        "ada@northwind.example", "Ada", account.pk,
    )  # fmt: skip
    assert AnonymousIdentity.objects.get().contact_id == person.pk
    page = Activity.objects.get()
    assert (page.contact_id, page.account_id) == (person.pk, account.pk)


def test_identify_with_only_an_anonymous_id_is_refused_alone_and_the_batch_is_kept(
    client: Client, issued: IssuedSource
) -> None:
    lonely = {"type": "identify", "messageId": "i-1", "anonymousId": "anon-1",
              "traits": {"plan": "pro"}}  # fmt: skip
    calls = [lonely, IDENTIFY, track("t-1")]
    response = post(client, "/v1/batch", {"batch": calls}, issued.write_key)
    assert response.status_code == 200
    [refused] = response.json()["refused"]
    assert refused["index"] == 0 and "needs traits.email" in refused["reason"]
    assert Contact.objects.get().external_id == "u-1"
    assert Activity.objects.get().message_id == "t-1"
    assert RejectedCall.objects.get().message_id == "i-1"
    single = post(client, "/v1/identify", {**lonely, "messageId": "i-2"}, issued.write_key)
    assert single.status_code == 400 and "needs traits.email" in single.json()["message"]


# --- Numeric traits ------------------------------------------------------------------


def test_trait_limits_are_within_the_columns_ranges() -> None:
    employees = Account._meta.get_field("employees")
    revenue = Account._meta.get_field("annual_revenue")
    # PostgreSQL's range, the narrowest of the backends (Django's base ranges).
    ranges = BaseDatabaseOperations.integer_field_ranges
    assert ranges[employees.get_internal_type()] == (0, EMPLOYEES_MAX)
    digits, places = revenue.max_digits, revenue.decimal_places
    assert places == ANNUAL_REVENUE_DECIMAL_PLACES
    assert Decimal(10) ** (digits - places) >= ANNUAL_REVENUE_LIMIT
    # 15 significant digits: what SQLite's float keeps exactly.
    assert len((ANNUAL_REVENUE_LIMIT - Decimal("0.01")).as_tuple().digits) == 15


def group(message_id: str, **traits: Any) -> dict[str, Any]:
    return {"type": "group", "messageId": message_id, "userId": "u-1", "groupId": message_id,
            "traits": {"name": message_id, **traits}}  # fmt: skip


@pytest.mark.parametrize(
    ("traits", "reason"),
    [
        ({"employees": 2**70}, "employees 1.1805916207174113e+21 is out of range"),
        ({"employees": 2_147_483_648}, "employees 2147483648 is out of range"),
        ({"employees": "1e999999999"}, "employees '1e999999999' is out of range"),
        ({"employees": "NaN"}, "employees 'NaN' is not a finite number"),
        ({"revenue": 1e30}, "annual revenue 1e+30 is out of range"),
        ({"annualRevenue": "10000000000000"}, "annual revenue '10000000000000' is out of range"),
        ({"annualRevenue": "9999999999999.999"}, "annual revenue '9999999999999.999' is out"),
        ({"annual_revenue": "Infinity"}, "annual revenue 'Infinity' is not a finite number"),
    ],
)
def test_a_numeric_trait_out_of_its_columns_range_is_refused_never_503(
    client: Client, issued: IssuedSource, traits: dict[str, Any], reason: str
) -> None:
    single = post(client, "/v1/group", group("bad", **traits), issued.write_key)
    assert single.status_code == 400
    assert single.json()["message"] == f"traits: {reason}" or reason in single.json()["message"]
    calls = [group("bad-2", **traits), group("good", employees=12), track("t-1")]
    response = post(client, "/v1/batch", {"batch": calls}, issued.write_key)
    assert response.status_code == 200
    [refused] = response.json()["refused"]
    assert refused["index"] == 0 and reason in refused["reason"]
    assert list(Account.objects.values_list("external_id", "employees")) == [("good", 12)]
    assert Activity.objects.count() == 1
    assert sorted(RejectedCall.objects.values_list("message_id", flat=True)) == ["bad", "bad-2"]


def test_numeric_traits_at_the_top_of_their_columns_are_stored(
    client: Client, issued: IssuedSource
) -> None:
    call = group("top", employees=EMPLOYEES_MAX, annualRevenue="9999999999999.99")
    response = post(client, "/v1/group", call, issued.write_key)
    assert response.status_code == 200
    account = Account.objects.get()
    assert account.employees == 2_147_483_647
    assert account.annual_revenue == Decimal("9999999999999.99")


# --- The rate limiter's cache down -------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_with_the_cache_down_tracking_keeps_accepting_and_counts_the_failures(
    client: Client, issued: IssuedSource, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setattr(ratelimit, "_health", ratelimit._CacheHealth())
    down = f"redis://127.0.0.1:{_closed_port()}/0"
    cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                         "LOCATION": down}}  # fmt: skip
    with override_settings(CACHES=cache), caplog.at_level(logging.WARNING, "engagement.ratelimit"):
        first = post(client, "/v1/track", track("m-1"), issued.write_key)
        second = post(client, "/v1/batch", {"batch": [track("m-2")]}, issued.write_key)
    assert (first.status_code, second.status_code) == (200, 200)
    assert Activity.objects.count() == 2
    # One failed cache call; the next request within the retry window does not
    # try the cache again, and is counted as let through unchecked.
    assert ratelimit.cache_failures() == (1, 1)
    [warning] = [r for r in caplog.records if r.name == "engagement.ratelimit"]
    assert "cache is unavailable" in warning.getMessage()


def test_a_cache_that_never_answers_holds_a_request_only_for_its_timeout(
    client: Client, issued: IssuedSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "_health", ratelimit._CacheHealth())
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                             "LOCATION": f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
                             "OPTIONS": settings.CACHE_OPTIONS}}  # fmt: skip
        started = time.monotonic()
        with override_settings(CACHES=cache):
            response = post(client, "/v1/track", track("m-1"), issued.write_key)
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert Activity.objects.count() == 1
    assert ratelimit.cache_failures() == (1, 0)
    assert elapsed < 3 * settings.CACHE_OPTIONS["socket_timeout"] + 1


def test_an_unexpected_failure_of_tracking_is_a_503_with_retry_after(
    client: Client, issued: IssuedSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> dict[str, str]:
        raise RuntimeError("a defect in the event mapping")

    monkeypatch.setattr("engagement.tracking_api.selectors.event_type_mapping", broken)
    response = post(client, "/v1/track", track("m-1"), issued.write_key)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert orjson.loads(response.content)["code"] == "unavailable"
    assert Activity.objects.count() == 0


# --- Calls per batch (issue 18) ------------------------------------------------------


@override_settings(TRACKING_MAX_BATCH_CALLS=3)
def test_a_batch_over_the_call_limit_is_refused_whole_and_writes_nothing(
    client: Client, issued: IssuedSource
) -> None:
    over = post(client, "/v1/batch", {"batch": [{}, {}, {}, {}]}, issued.write_key)
    assert over.status_code == 413
    assert over.json() == {
        "success": False,
        "code": "too_many_calls",
        "message": "a batch holds at most 3 calls and this one has 4: send them in smaller batches",
    }
    assert not Activity.objects.exists() and not RejectedCall.objects.exists()
    at_limit = [track(f"m-{n}") for n in range(3)]
    answer = post(client, "/v1/batch", {"batch": at_limit}, issued.write_key)
    assert answer.status_code == 200, answer.content
    assert Activity.objects.count() == 3


def test_the_default_limit_refuses_100000_empty_calls_without_a_dead_letter(
    client: Client, issued: IssuedSource
) -> None:
    """The probe's batch: 300 KB of `{}`, once 100,000 dead-letter rows (21 MB)."""
    body = b'{"batch":[' + b",".join([b"{}"] * 100_000) + b"]}"
    assert len(body) < settings.TRACKING_MAX_REQUEST_BYTES
    answer = post(client, "/v1/batch", body, issued.write_key)
    assert answer.status_code == 413
    assert answer.json()["message"].startswith("a batch holds at most 1,000 calls")
    assert not RejectedCall.objects.exists()


def test_a_batch_of_identical_refused_calls_is_one_dead_letter_that_counts_them(
    client: Client, issued: IssuedSource
) -> None:
    """1,000 `{}` (the limit) once wrote 1,000 rows; now one, with repeats=1,000,
    and the calls that differ are still kept one row each."""
    calls: list[Any] = [{}] * 998 + [{"type": "track", "messageId": "x"}, {"b": 1, "a": 2}]
    answer = post(client, "/v1/batch", {"batch": calls}, issued.write_key)
    assert answer.status_code == 200, answer.content
    assert len(answer.json()["refused"]) == 1_000  # the sender still hears of every call
    rows = sorted(RejectedCall.objects.values_list("payload", "repeats"), key=lambda r: -r[1])
    assert rows[0] == ({}, 998)
    assert sorted(rows[1:], key=repr) == sorted(
        [({"type": "track", "messageId": "x"}, 1), ({"b": 1, "a": 2}, 1)], key=repr
    )
    # The same body with its keys in another order is the same call.
    again = post(
        client, "/v1/batch", {"batch": [{"a": 2, "b": 1}, {"b": 1, "a": 2}]}, issued.write_key
    )
    assert again.status_code == 200
    assert (
        RejectedCall.objects.filter(payload={"a": 2, "b": 1})
        .values_list("repeats", flat=True)
        .order_by("pk")
        .last()
        == 2
    )
    assert sum(RejectedCall.objects.values_list("repeats", flat=True)) == 1_002
