"""The campaign pages' forms: a campaign, a program, targets pasted or
uploaded, and the UTM link builder. They validate what a person types; the
services validate again (campaigns.services, campaigns.target_services) and
their refusals are shown beside the field they name."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from campaigns.models import CampaignObjective, Channel, ProgramStatus
from engagement.tracking import MAX_TRACKING_KEY, tracking_key_normal

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# A target list upload bigger than this is an import, not a form (imports room).
TARGET_FILE_MAX_BYTES = 5 * 1024 * 1024


def refusal_show(form: forms.Form, problem: ValidationError) -> None:
    """A service's ValidationError beside the fields it names (others on top)."""
    if hasattr(problem, "error_dict"):
        for name, errors in problem.message_dict.items():
            field = name if name in form.fields else None
            for error in errors:
                form.add_error(field, error)
    else:
        for error in problem.messages:
            form.add_error(None, error)


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    objective = forms.ChoiceField(choices=CampaignObjective.choices, label="Objective")
    description = forms.CharField(
        required=False, label="Description", widget=forms.Textarea(attrs={"rows": 3})
    )
    starts_on = forms.DateField(label="Starts on", widget=DATE)
    ends_on = forms.DateField(label="Ends on", widget=DATE)
    budget = forms.DecimalField(
        required=False, min_value=Decimal(0), max_digits=14, decimal_places=2, label="Budget",
        help_text="In the campaign's currency; leave blank when there is none.",
    )  # fmt: skip
    currency = forms.CharField(min_length=3, max_length=3, initial="USD", label="Currency")
    segment = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Segment",
        help_text="The segment whose scores measure the campaign's lift; "
        "none: each account's best score.",
    )  # fmt: skip
    holdout_percent = forms.DecimalField(
        min_value=Decimal(0), max_value=Decimal("99.9"), max_digits=4, decimal_places=1,
        initial=Decimal(10), label="Holdout (%)",
        help_text="The share of the targets kept out of every audience to measure lift "
        "against (0 for none). Each account is drawn on its own, so the holdout is "
        "about this share, not exactly it.",
    )  # fmt: skip

    def __init__(
        self,
        *args: Any,
        segments: list[tuple[int, str]],
        holdout_frozen: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        segment = self.fields["segment"]
        assert isinstance(segment, forms.TypedChoiceField)
        segment.choices = [("", "None (best score)"), *segments]
        if holdout_frozen:
            holdout = self.fields["holdout_percent"]
            holdout.disabled = True
            holdout.help_text = (
                "Fixed: the campaign has started, and a new share would move accounts "
                "it has already reached into the holdout."
            )

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts is not None and ends is not None and ends < starts:
            self.add_error("ends_on", "Must not be before the start.")
        return cleaned

    def values(self) -> dict[str, Any]:
        """The campaign's fields as the services take them."""
        data = self.cleaned_data
        return {
            "name": data["name"].strip(),
            "objective": data["objective"],
            "description": data["description"],
            "starts_on": data["starts_on"],
            "ends_on": data["ends_on"],
            "budget": data["budget"],
            "currency": data["currency"],
            "segment_id": data["segment"],
            "holdout_fraction": (data["holdout_percent"] / 100).quantize(Decimal("0.001")),
        }


class ProgramForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    channel = forms.ChoiceField(choices=Channel.choices, label="Channel")
    starts_on = forms.DateField(label="Starts on", widget=DATE)
    ends_on = forms.DateField(label="Ends on", widget=DATE)
    tracking_key = forms.CharField(
        max_length=MAX_TRACKING_KEY, label="Tracking key",
        help_text="The utm_campaign value (or program key) its links and activity carry; "
        "unique. Stored lower-case, as the tracker stores what it receives.",
    )  # fmt: skip
    status = forms.ChoiceField(choices=ProgramStatus.choices, label="Status")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_tracking_key(self) -> str:
        key = tracking_key_normal(self.cleaned_data["tracking_key"])
        if not key:
            raise ValidationError("Give the program a tracking key.")
        return key

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts is not None and ends is not None and ends < starts:
            self.add_error("ends_on", "Must not be before the start.")
        return cleaned


class TargetPasteForm(forms.Form):
    domains = forms.CharField(
        label="Domains, one a line", max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="acme.com or https://www.acme.com/ both work. Nothing is added "
        "while any line names no account.",
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class TargetUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="A header row and one account a row, by a domain column or an external_id "
        "(CRM id) column. Nothing is added while any row names no account.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > TARGET_FILE_MAX_BYTES:
            raise ValidationError(
                f"The file is larger than {TARGET_FILE_MAX_BYTES // (1024 * 1024)} MB: "
                "use an import for lists this long."
            )
        return upload


class UtmForm(forms.Form):
    """The link builder, read from the URL (a built link can be bookmarked)."""

    program = forms.TypedChoiceField(coerce=int, label="Program")
    destination = forms.CharField(
        max_length=2000, label="Destination URL",
        widget=forms.URLInput(attrs={"placeholder": "https://www.example.com/landing"}),
    )  # fmt: skip
    source = forms.CharField(
        required=False, max_length=200, label="Source (utm_source)",
        widget=forms.TextInput(attrs={"placeholder": "linkedin"}),
    )  # fmt: skip
    medium = forms.CharField(
        required=False, max_length=200, label="Medium (utm_medium)",
        widget=forms.TextInput(attrs={"placeholder": "paid_social"}),
    )  # fmt: skip
    content = forms.CharField(required=False, max_length=200, label="Content (utm_content)")
    term = forms.CharField(required=False, max_length=200, label="Term (utm_term)")

    def __init__(self, *args: Any, programs: list[tuple[int, str]], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", "utm_%s")
        super().__init__(*args, **kwargs)
        program = self.fields["program"]
        assert isinstance(program, forms.TypedChoiceField)
        program.choices = programs
