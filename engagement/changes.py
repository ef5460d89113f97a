"""What changed on an account lately, in plain words: pure (no ORM).

The account page's "what changed" box turns the facts of the last N days
(engagement/account_selectors.py `account_recent_facts`) into short sentences
a sales rep reads in a glance: the score's move, the people newly engaged, the
activity types that earned the most points, and pricing or demo interest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

TOP_TYPES = 3


@dataclass(frozen=True)
class WindowFacts:
    """The facts of one window (the last `days` days up to now)."""

    days: int
    score_now: int | None
    # The score at the end of the day `days` ago (its snapshot); None: unknown.
    score_then: int | None
    # People whose first activity at the account falls in the window.
    new_people: list[str] = field(default_factory=list)
    # Points earned in the window by activity type, decayed to now, before the
    # per-person cap (what moved the score, not what it is).
    points_by_type: Mapping[str, float] = field(default_factory=dict)
    pricing_views: int = 0
    pricing_people: int = 0
    # (who, when) of each demo request in the window, newest first.
    demo_requests: list[tuple[str, dt.date]] = field(default_factory=list)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def score_sentence(facts: WindowFacts) -> str:
    if facts.score_now is None:
        return "Not scored in this segment yet."
    if facts.score_then is None:
        return f"Score {facts.score_now}; no score {facts.days} days ago to compare with."
    change = facts.score_now - facts.score_then
    if change == 0:
        return f"Score unchanged at {facts.score_now}."
    direction = "up" if change > 0 else "down"
    return f"Score {direction} {abs(change)} ({facts.score_then} to {facts.score_now})."


def what_changed(facts: WindowFacts, *, type_labels: Mapping[str, str]) -> list[str]:
    """The window's sentences, most telling first; every figure is in the facts."""
    sentences = [score_sentence(facts)]
    if facts.new_people:
        sentences.append(
            f"{_plural(len(facts.new_people), 'new person', 'new people')} engaged: "
            f"{', '.join(facts.new_people)}."
        )
    else:
        sentences.append("No new people engaged.")
    movers = sorted(
        ((points, kind) for kind, points in facts.points_by_type.items() if points > 0),
        key=lambda item: (-item[0], item[1]),
    )[:TOP_TYPES]
    if movers:
        sentences.append(
            "Most points from "
            + ", ".join(
                f"{type_labels.get(kind, kind).lower()} ({points:.1f})" for points, kind in movers
            )
            + "."
        )
    else:
        sentences.append("No activity earned points.")
    if facts.pricing_views:
        sentences.append(
            "Pricing interest: "
            f"{_plural(facts.pricing_views, 'pricing page view', 'pricing page views')}"
            f" by {_plural(facts.pricing_people, 'person', 'people')}."
        )
    for who, day in facts.demo_requests:
        sentences.append(f"Demo requested by {who} on {day.isoformat()}.")
    return sentences
