"""The executive reports' period: read from the URL (`?start=&end=`), the
quarter to date when absent, with the previous period it is compared with
(`campaigns.periods` owns both rules, the API calls the same) and the presets
a page offers as links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils import timezone

from campaigns.periods import (
    Period,
    default_period,
    period_day_refusal,
    period_presets,
    previous_period,
)

# The reports read years of history at most; a wider period is a typo.
LONGEST_PERIOD_DAYS = 3 * 366


class ReportPeriodForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput({"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        for name, day in (("start", start), ("end", end)):
            refusal = period_day_refusal(day) if day is not None else None
            if refusal is not None:
                self.add_error(name, f"The date {refusal}.")
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The period must not end before it starts.")
            elif (end - start).days + 1 > LONGEST_PERIOD_DAYS:
                self.add_error("end", "A report covers at most three years.")
        return data


@dataclass(frozen=True)
class ReportPeriod:
    """The period a report page shows, what it is compared with, and the form."""

    current: Period
    previous: Period
    form: ReportPeriodForm
    presets: list[Period]

    @property
    def valid(self) -> bool:
        return not self.form.errors

    def query(self, period: Period | None = None) -> str:
        shown = period or self.current
        return f"start={shown.start.isoformat()}&end={shown.end.isoformat()}"


def report_period(
    request: HttpRequest, *, today: date | None = None, default: Period | None = None
) -> ReportPeriod:
    """The period of `request`: its dates when both are given and valid, the
    quarter to date (or `default`) when neither is; with invalid dates the form
    carries the errors (naming the field) and the default period is shown
    meanwhile."""
    today = today or timezone.localdate()
    fallback = default or default_period(today)
    given = {k: request.GET[k] for k in ("start", "end") if request.GET.get(k)}
    form = ReportPeriodForm(
        data=given or {"start": fallback.start.isoformat(), "end": fallback.end.isoformat()}
    )
    current = fallback
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        if (start, end) != (fallback.start, fallback.end):
            labels = {(p.start, p.end): p.label for p in period_presets(today)}
            current = Period(start, end, labels.get((start, end), f"{start} to {end}"))
    return ReportPeriod(
        current=current,
        previous=previous_period(current.start, current.end),
        form=form,
        presets=period_presets(today),
    )
