"""The import pages' forms: upload a file of a kind, map its columns, run it."""

from __future__ import annotations

from typing import Any

from django import forms

from core.csvimport import Column, ColumnMatch
from imports.models import ImportFile
from imports.services import MAX_UPLOAD_BYTES

IGNORE = ("", "— ignore this column —")
KIND_LABELS = {
    "accounts": "Accounts",
    "contacts": "Contacts",
    "opportunities": "Opportunities",
    "spend": "Spend",
    "activities": "Activities",
    "ip_ranges": "IP ranges",
}


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds")
    file = forms.FileField(
        label="CSV file",
        help_text=f"A CSV export (UTF-8 or Windows-1252), at most {MAX_UPLOAD_BYTES // 2**20} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, kinds: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [(k, KIND_LABELS.get(k, k)) for k in kinds]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        # Checked before reading it: a file this large is not read into memory.
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the most this page takes is "
                f"{MAX_UPLOAD_BYTES:,} (50 MB). Split it, or use manage.py import_csv."
            )
        return upload


class ColumnMapForm(forms.Form):
    """One select per column of the file (`column_<i>`), each set to the field
    the column is read as now."""

    def __init__(
        self, *args: Any, matches: list[ColumnMatch], columns: tuple[Column, ...], **kwargs: Any
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        choices = [IGNORE] + [
            (c.field, f"{c.field} (required)" if c.required else c.field) for c in columns
        ]
        self.matches = matches
        for index, match in enumerate(matches):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=match.header.strip() or f"Column {index + 1} (no name)",
                choices=choices,
                required=False,
                initial=match.field or "",
                help_text=_how_said(match),
            )

    def chosen_fields(self) -> list[str]:
        return [self.cleaned_data[f"column_{index}"] for index in range(len(self.matches))]

    def refusal_show(self, message: str, field_errors: dict[int, str]) -> None:
        """Put the service's reasons beside the columns they concern."""
        for index, reason in field_errors.items():
            self.add_error(f"column_{index}", reason)
        self.add_error(None, message)


def _how_said(match: ColumnMatch) -> str:
    if match.how == "map":
        return "Chosen by hand" if match.field else "Ignored by hand"
    if match.how == "name":
        return "Recognised by its name"
    if match.how == "alias":
        return f"Recognised by an alias of {match.field}"
    return "Not recognised: ignored"


class ImportRunForm(forms.Form):
    mode = forms.ChoiceField(choices=ImportFile.Mode.choices)
