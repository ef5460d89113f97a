"""The ranking review's forms: start a run (a period and a metric) and decide a
flagged program (cut or kept, with the reason)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from campaigns import ranking
from campaigns.models import RankingDecision, RankingMetric
from campaigns.periods import period_day_refusal


class RankingRunForm(forms.Form):
    """A run over any whole-day period (first and last day included), ranked by
    one of the stored metrics. The period starts on the six months the schedule
    would rank next (`ranking.previous_half_year`)."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Both days included.",
    )
    metric = forms.ChoiceField(
        label="Rank by",
        choices=RankingMetric.choices,
        initial=RankingMetric.PIPELINE_PER_SPEND,
    )

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        start, end = ranking.previous_half_year(today)
        self.fields["start"].initial = start
        self.fields["end"].initial = end

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        for name, day in (("start", start), ("end", end)):
            refusal = period_day_refusal(day) if day is not None else None
            if refusal is not None:
                self.add_error(name, f"The date {refusal}.")
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is not None and end is not None and end < start:
            self.add_error("end", "The period must not end before it starts.")
        return cleaned


class RankingDecisionForm(forms.Form):
    """Cut or keep a flagged program. The two submit buttons carry the
    decision; the reason is required (a blank or spaces-only one is refused)."""

    decision = forms.ChoiceField(
        choices=[(RankingDecision.CUT, "Cut"), (RankingDecision.KEPT, "Keep")],
        error_messages={"required": "Choose cut or keep."},
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give the reason for the decision."},
    )
