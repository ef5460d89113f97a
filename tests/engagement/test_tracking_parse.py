"""Parsing Segment-style calls, on plain values."""

from __future__ import annotations

import datetime as dt

import pytest

from engagement.activity_types import (
    DEFAULT_EVENT_TYPES,
    DEFAULT_PRICING_PATTERNS,
    ActivityTypes,
    activity_type_for_event,
    activity_type_for_page,
)
from engagement.tracking import (
    MAX_ANONYMOUS_ID,
    MAX_GROUP_ID,
    MAX_TRACKING_KEY,
    MAX_USER_ID,
    InvalidCall,
    call_parse,
    derived_message_id,
)
from engagement.tracking_json import nul_escaped

RECEIVED = dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.UTC)


def parse(raw: object, kind: str | None = None, max_bytes: int | None = None) -> object:
    return call_parse(raw, kind=kind, received_at=RECEIVED, max_bytes=max_bytes)


def test_a_track_call_keeps_its_ids_event_time_and_utm_campaign() -> None:
    call = call_parse(
        {
            "messageId": "m-1",
            "userId": "u-1",
            "anonymousId": "a-1",
            "event": "Demo Requested",
            "timestamp": "2026-11-20T08:30:00Z",
            "properties": {"plan": "team"},
            "context": {"ip": "203.0.113.9", "campaign": {"name": "Q4-Webinar"}},
        },
        kind="track",
        received_at=RECEIVED,
    )
    assert (call.kind, call.message_id, call.user_id, call.anonymous_id) == (
        "track",
        "m-1",
        "u-1",
        "a-1",
    )
    assert call.timestamp == dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)
    assert call.ip == "203.0.113.9"
    assert call.tracking_key == "q4-webinar"
    assert call.properties == {"plan": "team"}


def test_an_explicit_program_key_wins_over_the_utm_campaign() -> None:
    call = call_parse(
        {
            "userId": "u",
            "event": "x",
            "properties": {"program_key": "ABM-Direct-Mail"},
            "context": {"campaign": {"name": "other"}},
        },
        kind="track",
        received_at=RECEIVED,
    )
    assert call.tracking_key == "abm-direct-mail"


def test_a_batch_item_takes_its_kind_from_type() -> None:
    call = call_parse(
        {"type": "page", "userId": "u", "name": "Home"}, kind=None, received_at=RECEIVED
    )
    assert call.kind == "page"
    assert call.timestamp == RECEIVED


def test_client_clock_skew_is_corrected_from_sent_at() -> None:
    # The client's clock is 10 minutes fast: it says it sent at 12:10 what happened at 12:05.
    call = call_parse(
        {
            "userId": "u",
            "event": "x",
            "originalTimestamp": "2026-11-22T12:05:00Z",
            "sentAt": "2026-11-22T12:10:00Z",
        },
        kind="track",
        received_at=RECEIVED,
    )
    assert call.timestamp == dt.datetime(2026, 11, 22, 11, 55, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-11-20T08:30:00Z", dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)),
        ("2026-11-20T08:30:00z", dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)),
        ("2026-11-20T08:30:00.123456+00:00", dt.datetime(2026, 11, 20, 8, 30, 0, 123456, dt.UTC)),
        ("2026-11-20T10:30:00+02:00", dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)),
        ("2026-11-20T08:30:00", dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)),
        (" 2026-11-20T08:30:00Z ", dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)),
    ],
)
def test_a_timestamp_is_read_as_utc_whatever_its_offset_and_spacing(
    timestamp: str, expected: dt.datetime
) -> None:
    call = parse({"userId": "u", "event": "x", "timestamp": timestamp}, "track")
    assert call.timestamp == expected  # type: ignore[attr-defined]
    assert call.timestamp.utcoffset() == dt.timedelta(0)  # type: ignore[attr-defined]


def test_traits_come_from_the_call_else_from_its_context() -> None:
    own = parse({"userId": "u", "traits": {"email": "a@b.example"}}, "identify")
    in_context = parse(
        {"userId": "u", "traits": {}, "context": {"traits": {"email": "c@d.example"}}}, "identify"
    )
    assert own.traits == {"email": "a@b.example"}  # type: ignore[attr-defined]
    assert in_context.traits == {"email": "c@d.example"}  # type: ignore[attr-defined]
    with pytest.raises(InvalidCall, match="traits must be an object, got str"):
        parse({"userId": "u", "traits": "vip"}, "identify")
    with pytest.raises(InvalidCall, match="traits must be an object, got list"):
        parse({"userId": "u", "context": {"traits": ["vip"]}}, "identify")


def test_ids_given_as_numbers_or_null_are_read_as_text() -> None:
    call = parse({"userId": 42, "anonymousId": None, "messageId": 7, "event": "x"}, "track")
    assert (call.user_id, call.anonymous_id, call.message_id) == ("42", "", "7")  # type: ignore[attr-defined]


def test_a_call_without_message_id_gets_the_same_derived_id_on_retry() -> None:
    first = {"userId": "u", "event": "Form Submitted", "sentAt": "2026-11-22T12:00:00Z"}
    retry = {"userId": "u", "event": "Form Submitted", "sentAt": "2026-11-22T12:00:07Z"}
    other = {"userId": "u", "event": "Demo Requested", "sentAt": "2026-11-22T12:00:00Z"}
    assert derived_message_id(first) == derived_message_id(retry)
    assert derived_message_id(first) != derived_message_id(other)
    assert call_parse(first, kind="track", received_at=RECEIVED).message_id == derived_message_id(
        first
    )


@pytest.mark.parametrize(
    ("raw", "kind", "reason"),
    [
        ([], "track", "must be a JSON object"),
        ({"event": "x"}, "track", "needs a userId or an anonymousId"),
        ({"userId": "u"}, "track", "needs an event name"),
        ({"userId": "u"}, "group", "needs a groupId"),
        ({"userId": "u"}, "alias", "needs a previousId and a userId"),
        ({"userId": "u", "type": "delete"}, None, "type must be one of"),
        ({"userId": "u", "event": "x", "timestamp": "yesterday"}, "track", "is not an ISO 8601"),
        ({"userId": "u", "event": "x", "properties": []}, "track", "properties must be an object"),
        ({"userId": {"id": 1}, "event": "x"}, "track", "userId must be a string"),
        (
            {"userId": "u", "event": "x", "context": {"ip": "1.2.3"}},
            "track",
            "is not an IP address",
        ),
    ],
)
def test_an_invalid_call_says_what_is_wrong(raw: object, kind: str | None, reason: str) -> None:
    with pytest.raises(InvalidCall, match=reason):
        parse(raw, kind)


@pytest.mark.parametrize(
    ("raw", "kind", "reason"),
    [
        ({"userId": "u" * 101, "event": "x"}, "track", "userId is longer than 100 characters"),
        ({"anonymousId": "a" * 201, "name": "x"}, "page", "anonymousId is longer than 200"),
        ({"userId": "u", "groupId": "g" * 101}, "group", "groupId is longer than 100"),
        ({"userId": "u", "previousId": "p" * 201}, "alias", "previousId is longer than 200"),
        (
            {"userId": "u", "event": "x", "context": {"campaign": {"name": "c" * 201}}},
            "track",
            "context.campaign.name is longer than 200",
        ),
        (
            {"userId": "u", "event": "x", "properties": {"program_key": "k" * 201}},
            "track",
            "properties.program_key is longer than 200",
        ),
        (
            {"userId": "u", "event": "x", "properties": {"items": [{"sku": "a\x00b"}]}},
            "track",
            r"properties.items\[0\].sku contains a NUL character",
        ),
        (
            {"userId": "u", "event": "x", "properties": {"k\x00": 1}},
            "track",
            r"properties.k\\u0000 contains a NUL character",
        ),
        ({"userId": "u\x00", "event": "x"}, "track", "userId contains a NUL character"),
    ],
)
def test_a_value_the_database_cannot_hold_is_refused_with_where_it_is(
    raw: object, kind: str, reason: str
) -> None:
    with pytest.raises(InvalidCall, match=reason):
        parse(raw, kind, max_bytes=32_768)


def test_the_id_limits_are_those_of_the_columns_that_hold_them() -> None:
    from accounts.models import Account, Contact
    from engagement.models import Activity, AnonymousIdentity

    def longest(model: type, name: str) -> int | None:
        return model._meta.get_field(name).max_length  # type: ignore[attr-defined]

    assert longest(Contact, "external_id") == MAX_USER_ID
    assert longest(Account, "external_id") == MAX_GROUP_ID
    assert longest(Activity, "anonymous_id") == MAX_ANONYMOUS_ID
    assert longest(AnonymousIdentity, "anonymous_id") == MAX_ANONYMOUS_ID
    assert longest(Activity, "tracking_key") == MAX_TRACKING_KEY


def test_a_backslash_u0000_that_is_text_is_not_a_nul_character() -> None:
    call = parse({"userId": "u", "event": "x", "properties": {"t": "C:\\u0000"}}, "track")
    assert call.properties == {"t": "C:\\u0000"}  # type: ignore[attr-defined]


def test_a_refused_call_is_dead_lettered_with_its_nul_characters_written_out() -> None:
    assert nul_escaped({"a\x00": ["x\x00y", 1, None]}) == {"a\\u0000": ["x\\u0000y", 1, None]}


def test_an_invalid_call_carries_its_message_id() -> None:
    with pytest.raises(InvalidCall) as caught:
        parse({"messageId": "m-9", "userId": "u"}, "track")
    assert caught.value.message_id == "m-9"


def test_a_call_over_the_size_limit_is_refused_with_its_size() -> None:
    raw = {"userId": "u", "event": "x", "properties": {"blob": "x" * 40_000}}
    with pytest.raises(InvalidCall, match=r"call is \d+ bytes; the limit is 32768 bytes"):
        parse(raw, "track", max_bytes=32_768)


@pytest.mark.parametrize(
    ("event", "activity_type"),
    [
        ("Form Submitted", "form_fill"),
        ("form_submitted", "form_fill"),
        ("  DEMO-requested ", "demo_request"),
        ("Webinar Attended", "webinar_attended"),
        ("Content Downloaded", "content_download"),
        ("Some Custom Thing", "other"),
    ],
)
def test_event_names_map_to_activity_types(event: str, activity_type: str) -> None:
    assert activity_type_for_event(event) == activity_type


def test_a_configured_mapping_overrides_the_defaults() -> None:
    mapping = {"Trial Started": "demo_request", "Form Submitted": "other"}
    assert activity_type_for_event("trial started", mapping) == "demo_request"
    assert activity_type_for_event("Form Submitted", mapping) == "other"


@pytest.mark.parametrize(
    ("path", "activity_type"),
    [
        ("/pricing", "pricing_page_view"),
        ("/en/pricing/enterprise", "pricing_page_view"),
        ("/Plans", "pricing_page_view"),
        ("/pricing/?ref=nav", "pricing_page_view"),
        ("/blog/pricing-strategy-tips", "page_view"),
        ("/product", "page_view"),
    ],
)
def test_pricing_pages_are_told_apart_by_path(path: str, activity_type: str) -> None:
    assert activity_type_for_page(path) == activity_type


def test_pricing_patterns_are_configurable_and_none_means_no_pricing_page() -> None:
    assert activity_type_for_page("/tarifs", ["*/tarifs"]) == "pricing_page_view"
    assert activity_type_for_page("/pricing", ["*/tarifs"]) == "page_view"
    assert activity_type_for_page("/pricing", []) == "page_view"


def test_activity_types_of_a_batch_agree_with_the_one_call_functions() -> None:
    mapping = {"Trial Started": "demo_request", "trial_started": "other", "Form Submitted": "other"}
    types = ActivityTypes(mapping, DEFAULT_PRICING_PATTERNS)
    events = [*DEFAULT_EVENT_TYPES, "Trial Started", "TRIAL-started", "Form Submitted", "Custom"]
    for event in events * 2:  # the second round is answered from what the first remembered
        assert types.for_event(event) == activity_type_for_event(event, mapping), event
    assert types.for_event("trial started") == "demo_request"  # the first name that folds alike
    for path in ["/pricing", "/de/pricing/", "/Plans/Team?x=1", "/blog/pricing-tips", "/"] * 2:
        assert types.for_page(path) == activity_type_for_page(path), path
    assert ActivityTypes(None, []).for_page("/pricing") == "page_view"


@pytest.mark.parametrize(
    ("ip", "kept"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 0.0.0.0 ", "0.0.0.0"),  # noqa: S104 - an address read, not a bind
        ("255.255.255.255", "255.255.255.255"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("", None),
    ],
)
def test_an_ip_address_is_kept_in_its_canonical_text(ip: str, kept: str | None) -> None:
    call = parse({"userId": "u", "event": "x", "context": {"ip": ip}}, "track")
    assert call.ip == kept  # type: ignore[attr-defined]


@pytest.mark.parametrize("ip", ["01.2.3.4", "256.1.1.1", "1.2.3.4.5", "0x1.2.3.4", "\uff11.2.3.4"])
def test_an_ip_address_that_is_not_one_is_refused(ip: str) -> None:
    with pytest.raises(InvalidCall, match="is not an IP address"):
        parse({"userId": "u", "event": "x", "context": {"ip": ip}}, "track")


def test_the_time_policy_by_hand() -> None:
    from engagement.tracking import TimeRefused, activity_time

    received = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)
    # Up to a day ahead is kept as sent; beyond, the time received.
    assert activity_time(received + day, received_at=received) == received + day
    assert activity_time(received + day + dt.timedelta(microseconds=1),
                         received_at=received) == received  # fmt: skip
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert activity_time(epoch, received_at=received) == epoch
    with pytest.raises(TimeRefused, match="before 1970-01-01"):
        activity_time(epoch - dt.timedelta(microseconds=1), received_at=received)
    plus_14 = dt.timezone(dt.timedelta(hours=14))
    with pytest.raises(TimeRefused, match="outside the calendar"):
        activity_time(dt.datetime(1, 1, 1, tzinfo=plus_14), received_at=received)
