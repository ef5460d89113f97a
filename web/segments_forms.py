"""The segment form: name, description, active, minimum fit, and the criteria as
rows (a formset: field, operator, value, weight, required), never JSON.

Which operators a field takes and how a typed value reads are
accounts.criteria's; the form only puts each complaint beside its field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.forms import formset_factory

from accounts.criteria import (
    FIELDS,
    OPERATOR_LABELS,
    OPERATORS_BY_KIND,
    CriterionRow,
    criteria_build,
    operators_for,
    value_parse,
)
from accounts.fit import DEFAULT_MIN_FIT, InvalidCriteria

# Blank rows offered under the criteria, for the next ones.
BLANK_ROWS = 2
FORMSET_PREFIX = "criteria"


def operator_guide() -> list[tuple[str, str]]:
    """(fields, the operators they take) for the help above the criteria rows."""
    guide: dict[tuple[str, ...], list[str]] = {}
    for _name, (label, kind) in FIELDS.items():
        ops = tuple(OPERATOR_LABELS[op] for op in OPERATORS_BY_KIND[kind])
        guide.setdefault(ops, []).append(label)
    return [(", ".join(labels), ", ".join(ops)) for ops, labels in guide.items()]


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        initial=True,
        help_text="An inactive segment has no members and is not scored.",
    )
    min_fit = forms.IntegerField(
        label="Minimum fit",
        min_value=0,
        max_value=100,
        initial=DEFAULT_MIN_FIT,
        help_text=(
            "An account belongs when it meets every required criterion and its fit "
            "(100 * matched weight / total weight) is at least this, 0-100."
        ),
    )
    readiness_alert_percent = forms.IntegerField(
        label="Readiness alert (%)",
        required=False,
        min_value=1,
        max_value=99,
        help_text="An alert when an account's readiness rises to this percent (1-99); "
        "empty: no readiness alerts.",
    )


class CriterionForm(forms.Form):
    """One criterion. A row left blank is skipped (the formset's extra rows);
    a row begun needs its field, operator and value, so none is marked
    required on its own."""

    field = forms.ChoiceField(
        required=False,
        choices=[("", "Choose a field"), *((name, label) for name, (label, _) in FIELDS.items())],
    )
    op = forms.ChoiceField(
        label="Operator", required=False, choices=[("", "Choose"), *OPERATOR_LABELS.items()]
    )
    value = forms.CharField(required=False, max_length=1000)
    weight = forms.DecimalField(
        required=False, initial=Decimal(1), max_digits=8, decimal_places=2,
        help_text="1 when left empty.",
    )  # fmt: skip
    required = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value"].widget.attrs["autocomplete"] = "off"
        self.fields["weight"].widget.attrs.update({"step": "any", "inputmode": "decimal"})
        self.fields["weight"].help_text = ""  # said once above the rows

    def clean_weight(self) -> Decimal:
        weight: Decimal | None = self.cleaned_data["weight"]
        if weight is None:
            return Decimal(1)
        if weight < 0:
            raise forms.ValidationError("A weight cannot be negative.")
        return weight

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("DELETE"):
            return cleaned
        for name in ("field", "op", "value"):
            if name not in self.errors and not str(cleaned.get(name) or "").strip():
                self.add_error(name, "This field is required.")
        field, op, text = cleaned.get("field"), cleaned.get("op"), cleaned.get("value")
        if not field or not op or self.errors:
            return cleaned
        if op not in operators_for(field):
            allowed = ", ".join(OPERATOR_LABELS[name] for name in operators_for(field))
            self.add_error("op", f"{FIELDS[field][0]} takes: {allowed}.")
            return cleaned
        try:
            value_parse(field=field, op=op, text=text or "")
        except InvalidCriteria as invalid:
            self.add_error("value", f"{invalid}.")
        return cleaned

    def row(self) -> CriterionRow:
        data = self.cleaned_data
        return CriterionRow(
            field=data["field"],
            op=data["op"],
            value=data["value"],
            weight=float(data["weight"]),
            required=data["required"],
        )


class BaseCriterionFormSet(forms.BaseFormSet):
    def initial_form_count(self) -> int:
        # Every row is optional: one left blank (or emptied) is skipped, not
        # refused, and the rows shown for editing are `initial` values of rows
        # that are all "extra" to the formset.
        return 0

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["DELETE"].label = "Remove"

    def clean(self) -> None:
        # A broken management form has said so already; raising here would
        # replace its message.
        if any(self.errors) or not self.management_form.is_valid():
            return
        if not self.rows():
            raise forms.ValidationError(
                "Add at least one criterion: a segment without criteria has no members."
            )

    def rows(self) -> list[CriterionRow]:
        """The filled rows not marked for removal, in order (after is_valid)."""
        return [
            form.row()
            for form in self.forms
            if form.has_changed() and not form.cleaned_data.get("DELETE") and form.cleaned_data
        ]


CriterionFormSet = formset_factory(
    CriterionForm, formset=BaseCriterionFormSet, extra=0, can_delete=True, max_num=50,
    absolute_max=50, validate_max=True,
)  # fmt: skip


def segment_forms(
    data: Any = None,
    *,
    initial: dict[str, Any] | None = None,
    rows: list[CriterionRow] | None = None,
) -> tuple[SegmentForm, Any]:
    """The segment form and its criteria formset, bound to `data` or showing
    `initial` and `rows` with BLANK_ROWS blank rows after them."""
    if data is not None:
        return SegmentForm(data), CriterionFormSet(data, prefix=FORMSET_PREFIX)
    rows_initial = [
        {"field": row.field, "op": row.op, "value": row.value,
         "weight": Decimal(str(row.weight)).normalize(), "required": row.required}
        for row in rows or []
    ]  # fmt: skip
    formset = CriterionFormSet(prefix=FORMSET_PREFIX, initial=rows_initial)
    formset.extra = len(rows_initial) + BLANK_ROWS
    return SegmentForm(initial=initial), formset


def formset_with_blank_row(data: Any) -> Any:
    """The posted criteria with one more blank row ("Add a criterion")."""
    more = data.copy()
    key = f"{FORMSET_PREFIX}-TOTAL_FORMS"
    try:
        more[key] = str(min(int(more.get(key, 0)) + 1, 50))
    except ValueError:
        more[key] = "1"
    return more


def criteria_of(form: SegmentForm, formset: Any) -> dict[str, Any] | None:
    """The criteria the valid rows and minimum fit make, or None while either is invalid."""
    if "min_fit" in form.errors or not formset.is_valid():
        return None
    try:
        return criteria_build(rows=formset.rows(), min_fit=form.cleaned_data["min_fit"])
    except InvalidCriteria:  # pragma: no cover - each row was parsed by its form
        return None
