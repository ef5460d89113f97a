"""Pure parsing of Segment-style tracking calls (DESIGN 6). No ORM here.

A raw call (a JSON object from /v1/track, /v1/page, /v1/identify, /v1/group,
/v1/alias or an item of /v1/batch) becomes a `TrackingCall`, or raises
`InvalidCall` saying what is wrong with it; `calls_parse` does so for each
call of a request body, refusing each bad call on its own. What of a call's
JSON can be stored is checked by engagement.tracking_json; a stored call's
activity type is given by engagement.activity_types.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from accounts.normalise import InvalidValue
from accounts.traits import AccountTraits, ContactTraits, account_traits, contact_traits
from engagement.tracking_json import call_unstorable_reason

CALL_KINDS = ("identify", "group", "track", "page", "screen", "alias")

# Properties that may carry an explicit program key, in order of preference.
PROGRAM_KEY_PROPERTIES = ("program_key", "programKey", "program")

# The longest ids and keys the tables hold (Contact.external_id,
# Account.external_id, Activity.anonymous_id and tracking_key, AnonymousIdentity;
# a test keeps them equal). A longer one is refused with its call, not
# truncated into another person's id or another program's key.
MAX_USER_ID = 100
MAX_GROUP_ID = 100
MAX_ANONYMOUS_ID = 200
MAX_TRACKING_KEY = 200

# When an activity is stored as happening (README, "Times"): a time before
# EARLIEST_ACTIVITY_AT is refused (an unset clock or garbage: when it happened
# cannot be known); a time more than FUTURE_TOLERANCE after the call was
# received cannot have happened yet (a client clock set wrong), so the activity
# is stored at the time it was received. The scoring math is bounded for
# whatever is stored (engagement.scoring.MAX_EXPONENT); this keeps what is
# stored meaningful. One policy for the tracking API and the activities import.
EARLIEST_ACTIVITY_AT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
FUTURE_TOLERANCE = dt.timedelta(days=1)


class TimeRefused(ValueError):
    """An activity time outside what is stored; the message says why."""


def activity_time(occurred_at: dt.datetime, *, received_at: dt.datetime) -> dt.datetime:
    """The time an activity is stored at, by the policy above; raises TimeRefused.
    `occurred_at` must be timezone-aware."""
    try:
        occurred_at = occurred_at.astimezone(dt.UTC)
    except OverflowError:
        raise TimeRefused(
            f"{occurred_at.isoformat()} is outside the calendar (years 1 to 9999 in UTC)"
        ) from None
    if occurred_at < EARLIEST_ACTIVITY_AT:
        raise TimeRefused(
            f"{occurred_at.isoformat()} is before {EARLIEST_ACTIVITY_AT.date().isoformat()}, "
            "the earliest time accepted"
        )
    if occurred_at - received_at > FUTURE_TOLERANCE:
        return received_at
    return occurred_at


class InvalidCall(ValueError):
    """A call that cannot be stored; `reason` says why in words a client can act on."""

    def __init__(self, reason: str, *, message_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.message_id = message_id


# Not frozen: a frozen dataclass sets each of its 16 fields through
# object.__setattr__, which tripled the cost of building one per call.
@dataclass(slots=True)
class TrackingCall:
    kind: str
    message_id: str
    timestamp: dt.datetime
    user_id: str = ""
    anonymous_id: str = ""
    event: str = ""
    name: str = ""
    group_id: str = ""
    previous_id: str = ""
    traits: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    ip: str | None = None
    tracking_key: str = ""
    # Read from traits for identify (contact) and group (account) calls.
    contact: ContactTraits | None = None
    account: AccountTraits | None = None
    # The time the call gave, when it was more than FUTURE_TOLERANCE ahead of
    # receipt and `timestamp` is the time it was received instead.
    sent_timestamp: dt.datetime | None = None


def derived_message_id(raw: Mapping[str, Any]) -> str:
    """A stable id for a call sent without messageId, from its canonical content.

    The same payload retried gives the same id, so it is stored once. Fields a
    client changes on retry (sentAt) and the credentials are left out.
    """
    content = {k: v for k, v in raw.items() if k not in {"sentAt", "writeKey", "messageId"}}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return "derived-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


_fromisoformat = dt.datetime.fromisoformat


def parse_timestamp(value: Any, *, field_name: str) -> dt.datetime:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCall(f"{field_name} must be an ISO 8601 date-time string, got {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCall(f"{field_name} {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidCall(_outside_calendar(field_name, value)) from None


def _outside_calendar(field_name: str, value: Any) -> str:
    return f"{field_name} {value!r} is outside the calendar (years 1 to 9999 in UTC)"


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if type(value) is str:  # the common case first: this runs ~8 times per call
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidCall(f"{key} must be a string, got {type(value).__name__}")
    return str(value).strip()


def _object(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidCall(f"{key} must be an object, got {type(value).__name__}")
    return value


def _call_time(raw: Mapping[str, Any], received_at: dt.datetime) -> dt.datetime:
    """When the call happened: `timestamp`, else `originalTimestamp` corrected for
    the client clock's skew against `sentAt`, else when it was received."""
    timestamp = raw.get("timestamp")
    if type(timestamp) is str:
        # The common case, as the libraries send it ("...+00:00" or "...Z"), in
        # one call; anything else takes parse_timestamp's way and its messages.
        try:
            parsed = _fromisoformat(timestamp)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is dt.UTC:
                return parsed
            if parsed.tzinfo is not None:
                try:
                    return parsed.astimezone(dt.UTC)
                except OverflowError:
                    raise InvalidCall(_outside_calendar("timestamp", timestamp)) from None
    if timestamp is not None:
        return parse_timestamp(timestamp, field_name="timestamp")
    if raw.get("originalTimestamp") is not None:
        original = parse_timestamp(raw["originalTimestamp"], field_name="originalTimestamp")
        if raw.get("sentAt") is not None:
            sent = parse_timestamp(raw["sentAt"], field_name="sentAt")
            try:
                return received_at - (sent - original)
            except OverflowError:
                raise InvalidCall(
                    f"originalTimestamp {raw['originalTimestamp']!r} corrected by sentAt "
                    f"{raw['sentAt']!r} is outside the calendar (years 1 to 9999 in UTC)"
                ) from None
        return original
    return received_at


def _tracking_key(properties: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    for key in PROGRAM_KEY_PROPERTIES:
        value = properties.get(key)
        if isinstance(value, str) and value.strip():
            return _key_within_limit(value, f"properties.{key}")
    campaign = context.get("campaign")
    if isinstance(campaign, dict):
        # analytics.js puts utm_campaign in context.campaign.name.
        name = campaign.get("name") or campaign.get("utm_campaign")
        if isinstance(name, str) and name.strip():
            return _key_within_limit(name, "context.campaign.name")
    return ""


def tracking_key_normal(value: str) -> str:
    """A tracking key as activity stores it (trimmed, lower-cased): a program's
    key must be in this form for the touches to match it."""
    return value.strip().lower()


def _key_within_limit(value: str, where: str) -> str:
    return _id_within_limit(tracking_key_normal(value), where, MAX_TRACKING_KEY)


def _id_within_limit(value: str, where: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidCall(f"{where} is longer than {limit} characters")
    return value


def _ip(context: Mapping[str, Any]) -> str | None:
    value = context.get("ip")
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        # The C parser takes only a dotted quad of four decimal numbers up to
        # 255 without leading zeros, which is the text ipaddress would give
        # back; three times faster than a regular expression saying the same.
        socket.inet_pton(socket.AF_INET, text)
        return text
    except (OSError, ValueError):
        pass
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InvalidCall(f"context.ip {value!r} is not an IP address") from None


def call_parse(
    raw: Any, *, kind: str | None, received_at: dt.datetime, max_bytes: int | None = None
) -> TrackingCall:
    """Validate one call. `kind` is fixed by the endpoint, or None for a batch item."""
    if not isinstance(raw, dict):
        raise InvalidCall(f"each call must be a JSON object, got {type(raw).__name__}")
    message_id = raw.get("messageId")
    label = message_id if isinstance(message_id, str) else ""
    try:
        return _call_parse(raw, kind=kind, received_at=received_at, max_bytes=max_bytes)
    except InvalidCall as error:
        error.message_id = label
        raise


def _call_parse(
    raw: dict[str, Any], *, kind: str | None, received_at: dt.datetime, max_bytes: int | None
) -> TrackingCall:
    unstorable = call_unstorable_reason(raw, max_bytes)
    if unstorable is not None:
        raise InvalidCall(unstorable)
    # Each common case is tested inline (a string, an object) and anything else
    # goes to the helper that checks it and says what is wrong: this runs for
    # every call of every batch, and a function call per field was a third of it.
    get = raw.get
    call_kind = kind or _text(raw, "type")
    if call_kind not in CALL_KINDS:
        raise InvalidCall(f"type must be one of {', '.join(CALL_KINDS)}, got {call_kind!r}")
    value = get("messageId")
    message_id = (value.strip() if type(value) is str else _text(raw, "messageId")) or (
        derived_message_id(raw)
    )
    if len(message_id) > 200:
        raise InvalidCall("messageId is longer than 200 characters")
    value = get("userId")
    user_id = _id_within_limit(
        value.strip() if type(value) is str else "" if value is None else _text(raw, "userId"),
        "userId",
        MAX_USER_ID,
    )
    value = get("anonymousId")
    anonymous_id = _id_within_limit(
        value.strip() if type(value) is str else "" if value is None else _text(raw, "anonymousId"),
        "anonymousId",
        MAX_ANONYMOUS_ID,
    )
    if call_kind != "alias" and not user_id and not anonymous_id:
        raise InvalidCall("a call needs a userId or an anonymousId")
    properties = get("properties")
    if type(properties) is not dict:
        properties = _object(raw, "properties")
    context = get("context")
    if type(context) is not dict:
        context = _object(raw, "context")
    traits = get("traits")
    if type(traits) is not dict or not traits:
        if traits is not None:
            _object(raw, "traits")  # says what is wrong, unless it is an empty object
        # Traits in the context (analytics.js) when the call has none of its own.
        traits = context.get("traits")
        if type(traits) is not dict:
            traits = _object(context, "traits")
    timestamp = _call_time(raw, received_at)
    sent_timestamp = None
    if timestamp < EARLIEST_ACTIVITY_AT or timestamp - received_at > FUTURE_TOLERANCE:
        try:
            sent_timestamp, timestamp = timestamp, activity_time(timestamp, received_at=received_at)
        except TimeRefused as problem:
            raise InvalidCall(f"timestamp {problem}") from None
    event = name = group_id = previous_id = ""
    contact = account = None
    if call_kind == "track":
        value = get("event")
        event = value.strip() if type(value) is str else _text(raw, "event")
        if not event:
            raise InvalidCall("a track call needs an event name")
    elif call_kind in ("page", "screen"):
        value = get("name")
        name = value.strip() if type(value) is str else _text(raw, "name")
    else:
        try:
            if call_kind == "identify":
                contact = contact_traits(traits)
                if not user_id and contact.email is None:
                    # Nobody to identify: no user id and no email to match a
                    # person by (an anonymous id alone names no one).
                    raise InvalidCall(
                        "an identify call without a userId needs traits.email to say who "
                        "the person is"
                    )
            elif call_kind == "group":
                account = account_traits(traits)
        except InvalidValue as problem:
            raise InvalidCall(f"traits: {problem}") from None
        if call_kind == "group":
            group_id = _id_within_limit(_text(raw, "groupId"), "groupId", MAX_GROUP_ID)
            if not group_id:
                raise InvalidCall("a group call needs a groupId")
        elif call_kind == "alias":
            previous_id = _id_within_limit(_text(raw, "previousId"), "previousId", MAX_ANONYMOUS_ID)
            if not (previous_id and user_id):
                raise InvalidCall("an alias call needs a previousId and a userId")
    return TrackingCall(
        call_kind,
        message_id,
        timestamp,
        user_id,
        anonymous_id,
        event,
        name,
        group_id,
        previous_id,
        traits,
        properties,
        context,
        _ip(context),
        _tracking_key(properties, context) if properties or context else "",
        contact,
        account,
        sent_timestamp,
    )


# --- A request's calls ---------------------------------------------------------


class InvalidBatch(ValueError):
    """A /v1/batch body whose `batch` is not an array of calls."""


@dataclass(frozen=True)
class Rejection:
    """A refused call: where it was in the request, its id, why, and all of it."""

    index: int
    message_id: str
    reason: str
    payload: Any


@dataclass(frozen=True, slots=True)
class AdjustedTime:
    """A call stored at the time received instead of a time too far ahead (activity_time)."""

    index: int
    message_id: str
    sent: dt.datetime
    stored_as: dt.datetime


@dataclass(slots=True)
class ParsedCalls:
    calls: list[TrackingCall]
    rejections: list[Rejection]
    adjusted: list[AdjustedTime]


def calls_parse(
    payload: dict[str, Any], *, kind: str | None, received_at: dt.datetime, max_bytes: int
) -> ParsedCalls:
    """The calls of one request body: for /v1/batch (`kind` None) each item of its
    `batch`, else the body itself as one call of `kind`. Each call is parsed or
    refused on its own; raises InvalidBatch when `batch` is not an array."""
    if kind is None:
        items = payload.get("batch")
        if not isinstance(items, list):
            raise InvalidBatch("batch must be a JSON array of calls")
        context = payload.get("context")
        shared_context = context if isinstance(context, dict) else {}
    else:
        items = [payload]
        shared_context = {}

    calls: list[TrackingCall] = []
    rejections: list[Rejection] = []
    adjusted: list[AdjustedTime] = []
    for index, item in enumerate(items):
        if shared_context and isinstance(item, dict):
            # Batch-level context applies to every call that does not set its own
            # (a context that is not an object is left for the parse to refuse).
            own = item.get("context")
            if own is None or type(own) is dict:
                item = {**item, "context": {**shared_context, **(own or {})}}
        try:
            call = call_parse(item, kind=kind, received_at=received_at, max_bytes=max_bytes)
            calls.append(call)
        except InvalidCall as problem:
            rejections.append(
                Rejection(
                    index=index, message_id=problem.message_id, reason=problem.reason, payload=item
                )
            )
            continue
        if call.sent_timestamp is not None:
            adjusted.append(
                AdjustedTime(index, call.message_id, call.sent_timestamp, call.timestamp)
            )
    return ParsedCalls(calls=calls, rejections=rejections, adjusted=adjusted)
