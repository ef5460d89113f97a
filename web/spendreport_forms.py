"""The spend page's line form and the campaign report's period, validated on
the server with each error beside its field (web/templates/web/field.html)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from campaigns.metrics import INFLUENCE_WINDOW_DAYS
from campaigns.models import Program
from campaigns.periods import period_day_refusal

# The REST API's bound on a report's influence window (campaigns/api/reports.py).
WINDOW_DAYS_MAX = 730


class SpendLineForm(forms.Form):
    """One dated cost line of one of the campaign's programs. The program list
    is the campaign's own: a line can't be put on another campaign's program."""

    program = forms.TypedChoiceField(coerce=int, label="Program")
    spent_on = forms.DateField(label="Date", widget=forms.DateInput({"type": "date"}))
    amount = forms.DecimalField(
        label="Amount",
        max_digits=14,
        decimal_places=2,
        min_value=0,
        widget=forms.NumberInput({"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    currency = forms.CharField(
        label="Currency",
        min_length=3,
        max_length=3,
        help_text="Three letters (ISO 4217), such as USD. Lines are never converted.",
        widget=forms.TextInput({"size": "4", "autocapitalize": "characters"}),
    )
    description = forms.CharField(label="Note", max_length=200, required=False)

    def __init__(self, *args: Any, programs: Sequence[Program], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["program"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "Choose a program")] + [(p.pk, p.name) for p in programs]

    def clean_currency(self) -> str:
        code = str(self.cleaned_data["currency"]).strip().upper()
        if not (len(code) == 3 and code.isascii() and code.isalpha()):
            raise forms.ValidationError("Use a three-letter currency code, such as USD.")
        return code

    def values(self) -> dict[str, Any]:
        """The cleaned line as `campaigns.services.spend_save` takes it."""
        data = self.cleaned_data
        return {
            "program_id": data["program"],
            "spent_on": data["spent_on"],
            "amount": data["amount"],
            "currency": data["currency"],
            "description": data["description"],
        }


class ReportPeriodForm(forms.Form):
    """The report's period and influence window, read from the URL; blank
    fields take the API's defaults (the campaign's dates, up to today)."""

    start = forms.DateField(label="From", widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput({"type": "date"}))
    window_days = forms.IntegerField(
        label="Influence window (days)",
        min_value=0,
        max_value=WINDOW_DAYS_MAX,
        initial=INFLUENCE_WINDOW_DAYS,
        help_text="An opportunity counts for a program opened at most this many days "
        "after the program first touched its account.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        for name, day in (("start", start), ("end", end)):
            refusal = period_day_refusal(day) if day is not None else None
            if refusal is not None:
                self.add_error(name, f"The date {refusal}.")
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The period must not end before it starts.")
        return data
