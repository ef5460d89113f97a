"""Readiness (issue 19) in words, for the pages and the CSV: why a listed
account shows no probability, and what an alert says. No queries: the
account list's annotations and the alert's own fields."""

from __future__ import annotations

from typing import Any

from engagement.models import Alert, AlertKind


def readiness_missing_reason(account: Any) -> str:
    """Why a row of the account list (engagement.selectors.account_list_scored)
    shows no readiness: its segment falls back to the engagement score (and
    why), or it is not scored."""
    if account.readiness_fallback_reason:
        return (
            "The segment falls back to the engagement score: "
            f"{account.readiness_fallback_reason}"
        )
    if account.scored_segment_id is None:
        return "Not scored: the account has no engagement score in this segment yet"
    return "Not scored yet: no readiness model has scored this account in the segment"


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
