"""Parsing Segment-style calls, on plain values."""

from __future__ import annotations

import datetime as dt

import pytest

from engagement.tracking import (
    InvalidCall,
    activity_type_for_event,
    activity_type_for_page,
    call_parse,
    derived_message_id,
)

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
