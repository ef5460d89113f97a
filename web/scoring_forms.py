"""The scoring model form: one number per activity type's weight and per
seniority's multiplier, the other parameters, the required roles.

What a model may hold is engagement.scoring_versions' rule book (through
engagement.rollup.scoring_models.model_problems, which the save itself
applies too); this form only puts each problem beside its field.
"""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import BuyingRole, Seniority
from engagement.models import ActivityType, ScoringModel
from engagement.rollup.scoring_models import (
    TUNABLE_PARAMETERS,
    model_problems,
    parameters_of,
    scoring_of,
)
from engagement.scoring_versions import ParameterProblem, parameters_diff

# What people call each parameter (the pages' labels and the history's).
PARAMETER_LABELS = {
    "activity_weights": "Weight",
    "seniority_multipliers": "Seniority multiplier",
    "half_life_days": "Half-life (days)",
    "contact_cap": "Contact cap (points)",
    "scale": "Scale (points)",
    "engaged_min": "Engaged from (score)",
    "qualified_min": "Qualified from (score)",
    "lookback_days": "Lookback (days)",
    "anonymous_factor": "Anonymous factor",
    "required_roles": "Required buying roles",
}
PARAMETER_HELP = {
    "half_life_days": "An activity's points halve every this many days.",
    "contact_cap": "The most points one person adds to the account's raw score.",
    "scale": "Raw points at which the score reaches 63 (score = 100 (1 - exp(-raw / scale))).",
    "engaged_min": "Scores from here are engaged (below: aware).",
    "qualified_min": "Scores from here are qualified (MQA) and alert the owner.",
    "lookback_days": "Without activity in this many days an account is unaware.",
    "anonymous_factor": "Share of an anonymous visitor's points the account gets (0 to 1).",
    "required_roles": "The buying roles an account's engaged people should cover.",
}
KEY_LABELS = {
    "activity_weights": dict(ActivityType.choices),
    "seniority_multipliers": dict(Seniority.choices),
}
ROLE_LABELS = dict(BuyingRole.choices)
_PREFIX = {"activity_weights": "weight_", "seniority_multipliers": "multiplier_"}


def _number_input(*, step: str) -> forms.NumberInput:
    return forms.NumberInput(attrs={"step": step})


def _plain(value: float) -> float | int:
    """5.0 is stored as 5, as the defaults are."""
    return int(value) if float(value).is_integer() else value


class ScoringModelForm(forms.Form):
    """Bound to the segment's current model; `changes()` gives what differs."""

    # The version this edit started from: a save over a newer one is refused.
    version = forms.IntegerField(widget=forms.HiddenInput)
    half_life_days = forms.FloatField(widget=_number_input(step="any"))
    contact_cap = forms.FloatField(widget=_number_input(step="any"))
    scale = forms.FloatField(widget=_number_input(step="any"))
    engaged_min = forms.IntegerField(widget=_number_input(step="1"))
    qualified_min = forms.IntegerField(widget=_number_input(step="1"))
    lookback_days = forms.IntegerField(widget=_number_input(step="1"))
    anonymous_factor = forms.FloatField(widget=_number_input(step="any"))
    required_roles = forms.MultipleChoiceField(
        required=False, choices=BuyingRole.choices, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, model: ScoringModel, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        params = scoring_of(model).params
        initial = {name: getattr(model, name) for name in TUNABLE_PARAMETERS}
        for name in ("half_life_days", "contact_cap", "scale", "anonymous_factor"):
            initial[name] = _plain(initial[name])
        initial["version"] = model.version
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.model = model
        for name, field in self.fields.items():
            field.label = PARAMETER_LABELS.get(name, field.label)
            field.help_text = PARAMETER_HELP.get(name, "")
        for value, label in ActivityType.choices:
            self.fields[f"weight_{value}"] = forms.FloatField(
                label=label, initial=_plain(params.weight(value)), widget=_number_input(step="any")
            )
        for value, label in Seniority.choices:
            self.fields[f"multiplier_{value}"] = forms.FloatField(
                label=label,
                initial=_plain(params.multiplier(value)),
                widget=_number_input(step="any"),
            )

    def weight_fields(self) -> list[forms.BoundField]:
        return [self[f"weight_{value}"] for value in ActivityType.values]

    def multiplier_fields(self) -> list[forms.BoundField]:
        return [self[f"multiplier_{value}"] for value in Seniority.values]

    def _candidate(self) -> dict[str, Any]:
        """Every tunable value as the form has it: a weight or multiplier the
        model does not list stays unlisted while it keeps the value the rollup
        gives it unlisted (0, 1), so the JSON changes only where a number does."""
        data = self.cleaned_data
        values: dict[str, Any] = {
            name: data[name] for name in TUNABLE_PARAMETERS if name in self.fields
        }
        for parameter, unlisted in (("activity_weights", 0.0), ("seniority_multipliers", 1.0)):
            current = dict(getattr(self.model, parameter))
            choices = ActivityType.values if parameter == "activity_weights" else Seniority.values
            for key in choices:
                value = data[f"{_PREFIX[parameter]}{key}"]
                if key in current or value != unlisted:
                    current[key] = _plain(value)
            values[parameter] = current
        values["required_roles"] = [r for r in BuyingRole.values if r in data["required_roles"]]
        return values

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        if cleaned["version"] != self.model.version:
            raise forms.ValidationError(
                f"Version {self.model.version} was saved since you opened this form; "
                "reload the page to start from it."
            )
        values = self._candidate()
        for problem in model_problems(values):
            self.add_error(self._field_of(problem), _sentence(problem.message))
        if self.errors:
            return cleaned
        self.candidate_values = values
        diff = parameters_diff(scoring_of(self.model).params, parameters_of(values))
        if not diff:
            raise forms.ValidationError(
                f"Nothing differs from version {self.model.version}: change a number first."
            )
        self.changed_parameters = sorted({change.parameter for change in diff})
        return cleaned

    def _field_of(self, problem: ParameterProblem) -> str | None:
        if problem.key and problem.parameter in _PREFIX:
            name = f"{_PREFIX[problem.parameter]}{problem.key}"
            return name if name in self.fields else None
        return problem.parameter if problem.parameter in self.fields else None

    def changes(self) -> dict[str, Any]:
        """The parameters that differ from the model, with their new values (valid form)."""
        return {name: self.candidate_values[name] for name in self.changed_parameters}


def _sentence(message: str) -> str:
    return f"{message[:1].upper()}{message[1:]}."
