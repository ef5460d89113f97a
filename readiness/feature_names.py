"""Pure: the readiness features, in the order of a training row's columns, and
what each means (docs/readiness.md explains them at more length). No Django here.

Every feature of a row describes one (account, segment) as of the END of one
month-end day (UTC): what the snapshot of that day says, and the activity that
occurred before midnight after it. A window of N days is the N days up to that
moment: [end - N days, end). Nothing dated later is read.

A value that is not known is NaN, never 0, and comes with an indicator feature
that is 1.0 exactly when it is NaN (`MISSING_INDICATORS`), so that a model can
impute NaN (say, with 0) and still learn that the value was missing.

The activity types, seniorities and channels are listed here as plain strings
(this module imports no model); tests/readiness keeps them equal to
engagement.models.ActivityType, accounts.models.Seniority and
campaigns.models.Channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# engagement.models.ActivityType, in its order.
ACTIVITY_TYPES: tuple[str, ...] = (
    "page_view", "pricing_page_view", "content_download", "webinar_registered",
    "webinar_attended", "ad_impression", "ad_click", "email_open", "email_click", "form_fill",
    "demo_request", "event_attended", "meeting_held", "social_engagement", "unsubscribe",
    "hard_bounce", "other",
)  # fmt: skip

# accounts.models.Seniority, in its order.
SENIORITIES: tuple[str, ...] = ("c_level", "vp", "director", "manager", "other", "unknown")

# campaigns.models.Channel, in its order: the channels of programs.
PROGRAM_CHANNELS: tuple[str, ...] = (
    "paid_social", "display", "search", "webinar", "event", "email", "direct_mail",
    "content_syndication", "outbound", "other",
)  # fmt: skip

# The channel of an activity whose tracking key matches no program (or which
# has none): organic and direct traffic, sales activity, imports without keys.
NO_PROGRAM_CHANNEL = "no_program"

# The channel of an activity: the channel of the program whose tracking key it
# carries, else NO_PROGRAM_CHANNEL.
ACTIVITY_CHANNELS: tuple[str, ...] = (*PROGRAM_CHANNELS, NO_PROGRAM_CHANNEL)

# The windows of the activity counts, in days.
SHORT_WINDOW_DAYS = 30
LONG_WINDOW_DAYS = 90
# The score changes: score(month end) - score(month end - N days).
CHANGE_DAYS: tuple[int, ...] = (7, 30, 90)
# The label: an opportunity opened within this many days after the month end.
LABEL_HORIZON_DAYS = 90

TIERS: tuple[int, ...] = (1, 2, 3)

Source = Literal["snapshot", "activity", "opportunity", "membership", "account"]


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    # "month end", "30 days", "90 days", "all history" or "current".
    window: str
    # The table the value comes from.
    source: Source
    # False for values read as they stand today (fit, tier, seniority): they may
    # have changed since the month end; see docs/readiness.md.
    point_in_time: bool
    description: str


def _snapshot_features() -> list[Feature]:
    features = [
        Feature("score", "month end", "snapshot", True,
                "Engagement score 0-100 in the month end's snapshot; NaN without one."),
        Feature("raw_score", "month end", "snapshot", True,
                "Raw score R (capped contact points plus anonymous) of that snapshot; else NaN."),
        Feature("engaged_contacts", "month end", "snapshot", True,
                "Contacts with at least 1 point in that snapshot; NaN without one."),
        Feature("roles_covered", "month end", "snapshot", True,
                "Required buying roles covered by engaged contacts in that snapshot; NaN without."),
        Feature("score_missing", "month end", "snapshot", True,
                "1 when the segment has no snapshot of the account on the month end, else 0."),
    ]  # fmt: skip
    for days in CHANGE_DAYS:
        features += [
            Feature(f"score_change_{days}d", f"{days} days", "snapshot", True,
                    f"score(month end) - score({days} days before), both from snapshots; NaN "
                    "when either snapshot is missing."),
            Feature(f"score_change_{days}d_missing", f"{days} days", "snapshot", True,
                    f"1 when score_change_{days}d is NaN, else 0."),
        ]  # fmt: skip
    return features


def _activity_features() -> list[Feature]:
    features = [
        Feature("days_since_last_activity", "all history", "activity", True,
                "Days from the last counted activity to the end of the month-end day; NaN "
                "when there is none."),
        Feature("no_activity_yet", "all history", "activity", True,
                "1 when the account has no counted activity up to the month end, else 0."),
    ]  # fmt: skip
    features += [
        Feature(f"contacts_{seniority}_{LONG_WINDOW_DAYS}d", f"{LONG_WINDOW_DAYS} days",
                "activity", False,
                f"Distinct contacts of seniority {seniority} (as the contact stands today) "
                f"with counted activity on the account in the {LONG_WINDOW_DAYS} days.")
        for seniority in SENIORITIES
    ]  # fmt: skip
    for days in (SHORT_WINDOW_DAYS, LONG_WINDOW_DAYS):
        features += [
            Feature(f"activity_{kind}_{days}d", f"{days} days", "activity", True,
                    f"Counted activities of type {kind} on the account in the {days} days.")
            for kind in ACTIVITY_TYPES
        ]  # fmt: skip
    for days in (SHORT_WINDOW_DAYS, LONG_WINDOW_DAYS):
        features += [
            Feature(f"channel_{channel}_{days}d", f"{days} days", "activity", True,
                    f"Counted activities in the {days} days whose channel is {channel} (the "
                    "channel of the program their tracking key matches, else no_program).")
            for channel in ACTIVITY_CHANNELS
        ]  # fmt: skip
    for days in (SHORT_WINDOW_DAYS, LONG_WINDOW_DAYS):
        features += [
            Feature(f"pricing_interest_{days}d", f"{days} days", "activity", True,
                    f"1 when the account viewed a pricing page in the {days} days, else 0."),
            Feature(f"demo_interest_{days}d", f"{days} days", "activity", True,
                    f"1 when the account requested a demo in the {days} days, else 0."),
        ]  # fmt: skip
    features += [
        Feature(f"programs_{channel}_{LONG_WINDOW_DAYS}d", f"{LONG_WINDOW_DAYS} days",
                "activity", True,
                f"Distinct programs of channel {channel} that touched the account (an activity "
                f"carrying their tracking key) in the {LONG_WINDOW_DAYS} days.")
        for channel in PROGRAM_CHANNELS
    ]  # fmt: skip
    return features


def _account_features() -> list[Feature]:
    features = [
        Feature("fit_score", "current", "membership", False,
                "The account's fit to the segment, 0-100, as computed today."),
    ]  # fmt: skip
    features += [
        Feature(f"tier_{tier}", "current", "account", False,
                f"1 when the account is tier {tier} today, else 0.")
        for tier in TIERS
    ]  # fmt: skip
    features += [
        Feature("tier_unknown", "current", "account", False,
                "1 when the account has no tier today, else 0."),
        Feature("customer_as_of", "all history", "opportunity", True,
                "1 when an opportunity of the account was won with a close date on or before "
                "the month end, else 0 (never the current is_customer flag)."),
        Feature("open_opportunity_as_of", "all history", "opportunity", True,
                "1 when an opportunity opened on or before the month end was not yet won or "
                "lost by then, else 0."),
    ]  # fmt: skip
    return features


FEATURES: tuple[Feature, ...] = (
    *_snapshot_features(),
    *_activity_features(),
    *_account_features(),
)
FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
FEATURE_INDEX: dict[str, int] = {name: index for index, name in enumerate(FEATURE_NAMES)}

# A feature that may be NaN -> its indicator, 1.0 exactly when it is NaN.
MISSING_INDICATORS: dict[str, str] = {
    "score": "score_missing",
    "raw_score": "score_missing",
    "engaged_contacts": "score_missing",
    "roles_covered": "score_missing",
    **{f"score_change_{days}d": f"score_change_{days}d_missing" for days in CHANGE_DAYS},
    "days_since_last_activity": "no_activity_yet",
}


def activity_count_feature(kind: str, days: int) -> str:
    return f"activity_{kind}_{days}d"


def channel_count_feature(channel: str, days: int) -> str:
    return f"channel_{channel}_{days}d"


def program_touch_feature(channel: str) -> str:
    return f"programs_{channel}_{LONG_WINDOW_DAYS}d"


def seniority_feature(seniority: str) -> str:
    return f"contacts_{seniority}_{LONG_WINDOW_DAYS}d"


# --- What a sales rep reads: a feature's name in words -------------------------------

_SENIORITY_WORDS = {
    "c_level": "C-level", "vp": "VP", "director": "Director", "manager": "Manager",
    "other": "Other-seniority", "unknown": "Unknown-seniority",
}  # fmt: skip
_FIXED_LABELS = {
    "score": "Engagement score",
    "raw_score": "Raw engagement points",
    "engaged_contacts": "Engaged contacts",
    "roles_covered": "Buying roles covered",
    "score_missing": "No score snapshot",
    "days_since_last_activity": "Days since the last activity",
    "no_activity_yet": "No activity yet",
    "fit_score": "Fit to the segment",
    "tier_unknown": "No tier",
    "customer_as_of": "Already a customer",
    "open_opportunity_as_of": "An opportunity is already open",
}


def _words(token: str) -> str:
    return token.replace("_", " ")


def feature_label(name: str) -> str:
    """The feature in words, for the account page's "why": "Demo request
    activities in 30 days", "VP contacts active in 90 days". Every name of
    FEATURE_NAMES has one (tests/readiness/test_feature_names.py)."""
    if name in _FIXED_LABELS:
        return _FIXED_LABELS[name]
    days = name.rsplit("_", 1)[-1]
    if name.startswith("score_change_"):
        span = name.removeprefix("score_change_").split("_", 1)[0].removesuffix("d")
        if name.endswith("_missing"):
            return f"No score {span} days before"
        return f"Score change over {span} days"
    if name.startswith("tier_"):
        return f"Tier {name.removeprefix('tier_')}"
    span = days.removesuffix("d")
    middle = name.rsplit("_", 1)[0]
    if middle.startswith("contacts_"):
        seniority = _SENIORITY_WORDS[middle.removeprefix("contacts_")]
        return f"{seniority} contacts active in {span} days"
    if middle.startswith("activity_"):
        return f"{_words(middle.removeprefix('activity_')).capitalize()} activities in {span} days"
    if middle.startswith("channel_"):
        channel = middle.removeprefix("channel_")
        if channel == NO_PROGRAM_CHANNEL:
            return f"Activities from no program in {span} days"
        return f"Activities from {_words(channel)} programs in {span} days"
    if middle.startswith("programs_"):
        channel = _words(middle.removeprefix("programs_")).capitalize()
        return f"{channel} programs touching it in {span} days"
    if middle == "pricing_interest":
        return f"Viewed pricing in {span} days"
    if middle == "demo_interest":
        return f"Requested a demo in {span} days"
    raise ValueError(f"no label for feature {name!r}")
