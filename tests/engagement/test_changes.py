"""The "what changed" sentences, from facts given by hand."""

from __future__ import annotations

import datetime as dt

from engagement.changes import WindowFacts, score_sentence, what_changed

LABELS = {
    "page_view": "Page view",
    "form_fill": "Form fill",
    "email_open": "Email open",
    "ad_click": "Ad click",
}


def test_the_score_moves_down_stays_or_cannot_be_compared() -> None:
    assert score_sentence(WindowFacts(days=7, score_now=30, score_then=52)) == (
        "Score down 22 (52 to 30)."
    )
    assert score_sentence(WindowFacts(days=7, score_now=30, score_then=30)) == (
        "Score unchanged at 30."
    )
    assert score_sentence(WindowFacts(days=30, score_now=None, score_then=None)) == (
        "Not scored in this segment yet."
    )


def test_a_quiet_window_says_so() -> None:
    assert what_changed(WindowFacts(days=7, score_now=12, score_then=12), type_labels=LABELS) == [
        "Score unchanged at 12.",
        "No new people engaged.",
        "No activity earned points.",
    ]


def test_only_the_three_types_that_earned_most_are_named_and_losses_are_not() -> None:
    facts = WindowFacts(
        days=30,
        score_now=70,
        score_then=61,
        new_people=["Kim Lee"],
        points_by_type={
            "page_view": 2.0,
            "form_fill": 9.0,
            "email_open": 2.0,
            "ad_click": 0.5,
            "unsubscribe": -10.0,
        },
        pricing_views=3,
        pricing_people=2,
        demo_requests=[
            ("Kim Lee", dt.date(2026, 1, 9)),
            ("an anonymous visitor", dt.date(2026, 1, 2)),
        ],
    )
    assert what_changed(facts, type_labels=LABELS) == [
        "Score up 9 (61 to 70).",
        "1 new person engaged: Kim Lee.",
        # Ties in points are named in type order.
        "Most points from form fill (9.0), email open (2.0), page view (2.0).",
        "Pricing interest: 3 pricing page views by 2 people.",
        "Demo requested by Kim Lee on 2026-01-09.",
        "Demo requested by an anonymous visitor on 2026-01-02.",
    ]
