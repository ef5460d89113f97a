"""Pure: the activity type of a tracked event or page (DESIGN 6). No ORM here.

A track call is typed by its event name (the marketer's mapping over the common
names below), a page or screen call by its path (pricing pages by glob). The
tracking API types each call of a request through `ActivityTypes`; the
activities import types a CSV row's event by `activity_type_for_event`.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping

from engagement.tracking import TrackingCall

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
