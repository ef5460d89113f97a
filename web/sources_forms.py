"""The tracking sources pages' forms: a new source's name, and the refused
calls' filters (a GET form: a filtered view is a link that can be shared)."""

from __future__ import annotations

from typing import Any

from django import forms

from engagement.models import Source
from engagement.source_selectors import RefusedCallFilters

NAME_MAX_LENGTH = Source._meta.get_field("name").max_length


class SourceCreateForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=NAME_MAX_LENGTH,
        help_text="Where the calls come from, e.g. “Website” or “Product app”.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class RefusedCallFilterForm(forms.Form):
    """An invalid value is ignored (and shown as an error beside its field)."""

    reason = forms.CharField(required=False, max_length=500, label="Reason contains")
    received_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput({"type": "date"})
    )
    received_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput({"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["reason"].widget.attrs["list"] = "refused-reasons"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("received_from"), cleaned.get("received_to")
        if start is not None and end is not None and start > end:
            self.add_error("received_to", "Must not be before the start.")
        return cleaned

    def filters(self) -> RefusedCallFilters:
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return RefusedCallFilters(
            reason=(cleaned.get("reason") or "").strip(),
            received_from=cleaned.get("received_from"),
            # A "to" before "from" is dropped from cleaned_data by clean().
            received_to=cleaned.get("received_to"),
        )
