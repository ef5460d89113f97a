"""Pure parsing of Segment-style tracking calls (DESIGN 6). No ORM here.

A raw call (a JSON object from /v1/track, /v1/page, /v1/identify, /v1/group,
/v1/alias or an item of /v1/batch) becomes a `TrackingCall`, or raises
`InvalidCall` saying what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import hashlib
import ipaddress
import json
import math
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from accounts.normalise import InvalidValue
from accounts.traits import AccountTraits, ContactTraits, account_traits, contact_traits

CALL_KINDS = ("identify", "group", "track", "page", "screen", "alias")

# Common event names, compared after folding case, spaces, dashes and underscores.
DEFAULT_EVENT_TYPES: dict[str, str] = {
    "form submitted": "form_fill",
    "form filled": "form_fill",
    "form fill": "form_fill",
    "demo requested": "demo_request",
    "demo request": "demo_request",
    "webinar registered": "webinar_registered",
    "webinar registration": "webinar_registered",
    "webinar attended": "webinar_attended",
    "content downloaded": "content_download",
    "asset downloaded": "content_download",
    "whitepaper downloaded": "content_download",
    "email clicked": "email_click",
    "email link clicked": "email_click",
    "email opened": "email_open",
    "ad clicked": "ad_click",
    "ad viewed": "ad_impression",
    "ad impression": "ad_impression",
    "meeting held": "meeting_held",
    "meeting completed": "meeting_held",
    "event attended": "event_attended",
    "social engaged": "social_engagement",
    "social engagement": "social_engagement",
    "unsubscribed": "unsubscribe",
    "email unsubscribed": "unsubscribe",
    "email bounced": "hard_bounce",
    "hard bounce": "hard_bounce",
    "pricing viewed": "pricing_page_view",
}

# Glob patterns over the page path (any locale prefix allowed before them).
DEFAULT_PRICING_PATTERNS: tuple[str, ...] = (
    "*/pricing",
    "*/pricing/*",
    "*/plans",
    "*/plans/*",
)

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


_FOLDABLE = re.compile(r"[\s_\-]+")


@functools.lru_cache(maxsize=4096)
def fold_event_name(name: str) -> str:
    # Cached: a site sends the same few event names over and over.
    return _FOLDABLE.sub(" ", name.strip().lower())


def activity_type_for_event(event: str, mapping: Mapping[str, str] | None = None) -> str:
    """The activity type of a track call's event name; unknown names are `other`."""
    folded = fold_event_name(event)
    if mapping:
        for name, activity_type in mapping.items():
            if fold_event_name(name) == folded:
                return activity_type
    return DEFAULT_EVENT_TYPES.get(folded, "other")


@functools.lru_cache(maxsize=16)
def _globs_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression matching what any of the glob patterns matches."""
    if not patterns:
        return re.compile(r"(?!)")  # matches nothing
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def activity_type_for_page(path: str, patterns: Iterable[str] = DEFAULT_PRICING_PATTERNS) -> str:
    return _page_type(path, _globs_regex(tuple(patterns)))


def _page_type(path: str, pricing: re.Pattern[str]) -> str:
    lowered = "/" + path.lower().split("?", 1)[0].strip("/")
    return "pricing_page_view" if pricing.match(lowered) else "page_view"


class ActivityTypes:
    """The activity types of one request's calls: what `activity_type_for_event`
    and `activity_type_for_page` give, with the configured mapping folded once
    and each event name and page path typed once (a site sends the same few
    over and over, and this ran for every call of every batch)."""

    __slots__ = ("_by_event", "_by_path", "_mapping", "_pricing")

    def __init__(self, mapping: Mapping[str, str] | None, pricing_patterns: Iterable[str]) -> None:
        folded: dict[str, str] = {}
        for name, activity_type in (mapping or {}).items():
            # The first configured name that folds alike wins, as in activity_type_for_event.
            folded.setdefault(fold_event_name(name), activity_type)
        self._mapping = folded
        self._pricing = _globs_regex(tuple(pricing_patterns))
        self._by_event: dict[str, str] = {}
        self._by_path: dict[str, str] = {}

    def for_event(self, event: str) -> str:
        activity_type = self._by_event.get(event)
        if activity_type is None:
            folded = fold_event_name(event)
            activity_type = self._mapping.get(folded)
            if activity_type is None:
                activity_type = DEFAULT_EVENT_TYPES.get(folded, "other")
            self._by_event[event] = activity_type
        return activity_type

    def for_page(self, path: str) -> str:
        activity_type = self._by_path.get(path)
        if activity_type is None:
            activity_type = self._by_path[path] = _page_type(path, self._pricing)
        return activity_type

    def for_call(self, call: TrackingCall) -> str:
        """A track call is typed by its event name, a page or screen call by its path."""
        if call.kind == "track":
            return self.for_event(call.event)
        return self.for_page(call_page_path(call))


def call_page_path(call: TrackingCall) -> str:
    """The page path of a call: properties.path, else context.page.path, else ''."""
    path = call.properties.get("path")
    if not isinstance(path, str):
        page = call.context.get("page")
        path = page.get("path") if isinstance(page, dict) else None
    return path if isinstance(path, str) else ""


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


def _key_within_limit(value: str, where: str) -> str:
    return _id_within_limit(value.strip().lower(), where, MAX_TRACKING_KEY)


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


# json.dumps writes DEL and each non-ASCII character as \uXXXX (6 bytes; 12 for
# one outside the BMP) where orjson writes its 1 to 4 UTF-8 bytes, and everything
# else alike. So the escaped size is at most 6 times orjson's.
_ESCAPED_SIZE_BOUND = 6


def _call_size(raw: dict[str, Any], encoded: bytes | None, max_bytes: int) -> int | None:
    """The call's size as `json.dumps(raw, separators=(",", ":"), default=str)`
    encodes it, or None when that is certainly within max_bytes. Only calls near
    the limit pay for the slow exact measure."""
    if encoded is not None and len(encoded) * _ESCAPED_SIZE_BOUND <= max_bytes:
        return None
    return len(json.dumps(raw, separators=(",", ":"), default=str).encode())


def _path_where(value: Any, path: str, bad: Callable[[Any], bool]) -> str | None:
    """Where in a call the first value (or dictionary key) that `bad` picks out
    stands, as `context.traits.name` or `items[2]`; None if nowhere."""
    if bad(value):
        return path
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if bad(key):
                return inner
            found = _path_where(item, inner, bad)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _path_where(item, f"{path}[{index}]", bad)
            if found is not None:
                return found
    return None


def _holds_nul(value: Any) -> bool:
    """A string (or key) holding U+0000, which PostgreSQL's text and jsonb cannot store."""
    return isinstance(value, str) and "\x00" in value


def _nul_path(value: Any, path: str) -> str | None:
    return _path_where(value, path, _holds_nul)


class UnstorableNumber:
    """A JSON number beyond a double (1e400, an integer of 400 digits): valid
    JSON, which no column or jsonb value here can hold. The body is read with
    each such number kept as this, so that only its call is refused
    (`unstorable_number_loads`), never the whole request."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def _float_or_unstorable(text: str) -> float | UnstorableNumber:
    number = float(text)
    return number if math.isfinite(number) else UnstorableNumber(text)


def _int_or_unstorable(text: str) -> int | UnstorableNumber:
    # Python reads at most 4,300 digits; a double holds about 308.
    return int(text) if len(text) <= 300 else UnstorableNumber(text)


def _not_json(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def unstorable_number_loads(body: bytes) -> Any:
    """JSON as the standard library reads it, with numbers beyond a double kept
    as UnstorableNumber and NaN or Infinity refused (they are not JSON). For
    the rare body orjson refuses; raises ValueError when it is not JSON."""
    return json.loads(
        body,
        parse_float=_float_or_unstorable,
        parse_int=_int_or_unstorable,
        parse_constant=_not_json,
    )


def _unstorable_path(value: Any, path: str) -> str | None:
    """Where in a call an UnstorableNumber is; None if nowhere."""
    return _path_where(value, path, lambda item: isinstance(item, UnstorableNumber))


def nul_escaped(value: Any) -> Any:
    """`value` with each U+0000 in its strings and keys written as the six
    characters \\u0000: what a refused call is dead-lettered as, since the
    database cannot store the character itself (and an UnstorableNumber as
    its text)."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, UnstorableNumber):
        return value.text
    if isinstance(value, dict):
        return {nul_escaped(key): nul_escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [nul_escaped(item) for item in value]
    return value


def _call_encoding_check(raw: dict[str, Any], max_bytes: int | None) -> None:
    """Refuse a call over the size limit, or holding a NUL character anywhere:
    either would fail the whole batch's insert instead of this one call."""
    encoded: bytes | None
    try:
        encoded = dumped = orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):
        encoded = None
    else:
        if (
            max_bytes is None or len(dumped) * _ESCAPED_SIZE_BOUND <= max_bytes
        ) and b"\\u0000" not in dumped:
            return  # the common case, decided without another call
    if encoded is None:
        where = _unstorable_path(raw, "")
        if where is not None:
            raise InvalidCall(f"{nul_escaped(where)} is a number too large to store")
    # orjson writes U+0000 as \u0000; a literal backslash before "u0000" also
    # matches, so a match is confirmed by walking the call.
    if encoded is None or b"\\u0000" in encoded:
        where = _nul_path(raw, "")
        if where is not None:
            raise InvalidCall(
                f"{nul_escaped(where)} contains a NUL character (\\u0000), which cannot be stored"
            )
    if max_bytes is not None:
        size = _call_size(raw, encoded, max_bytes)
        if size is not None and size > max_bytes:
            raise InvalidCall(f"call is {size} bytes; the limit is {max_bytes} bytes per call")


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
    _call_encoding_check(raw, max_bytes)
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
