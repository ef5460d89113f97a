"""The pipeline plan's forms: a new plan from its revenue target (the figures
optional: blank ones are filled from history), the plan with its figures
edited by hand, and the fill from history (how far back to look).

The win rate is typed as a percentage (25 for 25%) and stored as the rate the
plan and the API hold (0.25); the forms only parse and check their fields,
the services (`campaigns.services`) write and refuse."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

HUNDRED = Decimal(100)
LOOKBACK_DEFAULT = 365


def _date(label: str, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label, help_text=help_text, widget=forms.DateInput(attrs={"type": "date"})
    )


class PlanFieldsForm(forms.Form):
    """The plan itself: name, period, revenue target, currency, and the three
    figures (required unless a subclass says otherwise)."""

    name = forms.CharField(label="Name", max_length=200)
    period_start = _date("Period from")
    period_end = _date("Period to", "Both days included.")
    revenue_target = forms.DecimalField(
        label="Revenue target", min_value=0, max_digits=16, decimal_places=2
    )
    currency = forms.CharField(
        label="Currency", max_length=3, min_length=3, initial="USD", help_text="ISO code, e.g. USD."
    )
    win_rate = forms.DecimalField(
        label="Win rate (%)",
        min_value=Decimal("0.01"),
        max_value=HUNDRED,
        max_digits=5,
        decimal_places=2,
        help_text="Share of closed deals won, in percent.",
    )
    average_deal_size = forms.DecimalField(
        label="Average deal size",
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        help_text="Average amount of a won deal.",
    )
    cycle_time_days = forms.IntegerField(
        label="Cycle time (days)",
        min_value=0,
        max_value=3650,
        help_text="Days from opening a deal to winning it.",
    )

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start is not None and end is not None and end < start:
            self.add_error("period_end", "The period must not end before it starts.")
        return cleaned

    def values(self) -> dict[str, Any]:
        """The plan's fields as the services take them (the win rate as a rate)."""
        values = {name: self.cleaned_data.get(name) for name in self.fields}
        values.pop("lookback_days", None)
        rate = values.get("win_rate")
        if rate is not None:
            values["win_rate"] = rate / HUNDRED
        return values


class PlanNewForm(PlanFieldsForm):
    """A plan from its revenue target; the figures left blank are filled from
    the deals closed in the `lookback_days` before the period."""

    lookback_days = forms.IntegerField(
        label="History to fill from (days)",
        min_value=1,
        max_value=3650,
        initial=LOOKBACK_DEFAULT,
        help_text="Blank figures come from the deals closed in these days before the period.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("win_rate", "average_deal_size", "cycle_time_days"):
            self.fields[name].required = False


class PlanEditForm(PlanFieldsForm):
    """The plan with its figures edited by hand."""

    @classmethod
    def for_plan(cls, plan: Any) -> PlanEditForm:
        initial = {name: getattr(plan, name) for name in cls.base_fields}
        initial["win_rate"] = (plan.win_rate * HUNDRED).quantize(Decimal("0.01"))
        return cls(initial=initial)


class PlanFillForm(forms.Form):
    """Fill the figures from the deals closed in the days before the period."""

    lookback_days = forms.IntegerField(
        label="Deals closed in the last (days)",
        min_value=1,
        max_value=3650,
        initial=LOOKBACK_DEFAULT,
        help_text="Counted back from the day before the plan's period.",
    )
