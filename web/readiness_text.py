"""Readiness (issue 19) in words, for the pages and the CSV: why a listed
account shows no probability, and what an alert says. No queries: the
account list's annotations and the alert's own fields."""

from __future__ import annotations

from typing import Any

from engagement.models import Alert, AlertKind


def readiness_missing_reason(account: Any) -> str:
    """Why a row of the account list (engagement.list_selectors.account_list_scored)
    shows no readiness: its segment falls back to the engagement score (and
    why), or it is not scored."""
    if account.readiness_fallback_reason:
        return (
            f"The segment falls back to the engagement score: {account.readiness_fallback_reason}"
        )
    if account.scored_segment_id is None:
        return "Not scored: the account has no engagement score in this segment yet"
    return "Not scored yet: no readiness model has scored this account in the segment"


def readiness_missing_short(account: Any) -> str:
    """The word beside the dash: "fallback" or "not scored"."""
    return "fallback" if account.readiness_fallback_reason else "not scored"


def percent_text(probability: float | None) -> str:
    """A probability (0-1) as a whole percent, "—" when unknown."""
    return "—" if probability is None else f"{100 * probability:.0f}%"


def alert_text(alert: Alert) -> str:
    """What happened, after the account's name: "readiness rose to 62% in
    Mid-market (threshold 50%)" or "became qualified in Mid-market at score 71"."""
    segment = alert.segment.name
    if alert.kind == AlertKind.READINESS:
        percent = alert.threshold_percent
        threshold = f" (threshold {percent}%)" if percent is not None else ""
        return f"readiness rose to {percent_text(alert.probability)} in {segment}{threshold}"
    score = "an unknown score" if alert.score is None else f"score {alert.score}"
    return f"became qualified in {segment} at {score}"


# Readiness features that are 1 or 0, a statement true or not (their labels
# read as statements: "Requested a demo in 30 days", "No tier"):
# readiness.feature_names.
_YES_NO_PREFIXES = ("tier_", "pricing_interest_", "demo_interest_")
_YES_NO_NAMES = ("no_activity_yet", "customer_as_of", "open_opportunity_as_of")


def reason_value_text(feature: str, value: float | None) -> str:
    """A reason's value as the page shows it: "unknown" when the account's
    value was not known (the model imputed it), "yes"/"no" for a statement,
    else the number without needless decimals."""
    if value is None:
        return "unknown"
    if (
        feature.endswith("_missing")
        or feature in _YES_NO_NAMES
        or (feature.startswith(_YES_NO_PREFIXES))
    ):
        return "yes" if value else "no"
    return f"{value:,.2f}".rstrip("0").rstrip(".")
