"""The account list's filters, read from the URL (a GET form: a filtered view
is a link that can be bookmarked and shared)."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import FitGrade
from core.csvimport import dates_out_of_range
from engagement.account_selectors import TimelineFilter
from engagement.list_selectors import (
    ACCOUNT_LIST_DEFAULT_ORDERING,
    ACCOUNT_LIST_ORDERINGS,
    AccountListFilters,
    ScoreChange,
)
from engagement.models import Stage

ANY = [("", "Any")]
SORT_CHOICES = [
    (f"{sign}{key}", f"{key} {'descending' if sign else 'ascending'}")
    for key in ACCOUNT_LIST_ORDERINGS
    for sign in ("", "-")
]


class AccountListForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=200)
    segment = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Segment")
    stage = forms.ChoiceField(required=False, choices=ANY + Stage.choices, label="Stage")
    score_min = forms.IntegerField(required=False, min_value=0, max_value=100, label="Score from")
    score_max = forms.IntegerField(required=False, min_value=0, max_value=100, label="Score to")
    change = forms.ChoiceField(
        required=False, choices=ANY + ScoreChange.choices, label="Score change"
    )
    fit = forms.ChoiceField(required=False, choices=ANY + FitGrade.choices, label="Fit grade")
    tier = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[*ANY, (1, "1"), (2, "2"), (3, "3")],
        label="Tier",
    )
    target = forms.ChoiceField(
        required=False,
        choices=[*ANY, ("yes", "Targets"), ("no", "Not targets")],
        label="Target",
    )
    readiness_min = forms.IntegerField(
        required=False, min_value=0, max_value=100, label="Readiness at least (%)"
    )
    mine = forms.BooleanField(required=False, label="Mine only")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES, label="Sort")

    def __init__(self, *args: Any, segments: list[tuple[int, str]], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        segment = self.fields["segment"]
        assert isinstance(segment, forms.TypedChoiceField)
        segment.choices = [("", "Best segment"), *segments]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("score_min"), cleaned.get("score_max")
        if low is not None and high is not None and low > high:
            self.add_error("score_max", "Must not be below the lower bound.")
        return cleaned

    def value(self, name: str) -> Any:
        """The field's valid value, or None when it was left out or is invalid (the
        error is shown beside the field and the list ignores that filter)."""
        return self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None

    def filters(self, *, user_id: int | None) -> AccountListFilters:
        self.is_valid()
        target = self.value("target")
        return AccountListFilters(
            search=(self.value("q") or "").strip(),
            stage=self.value("stage") or "",
            score_min=self.value("score_min"),
            score_max=self.value("score_max"),
            score_change=self.value("change") or "",
            fit_grade=self.value("fit") or "",
            tier=self.value("tier"),
            owner_id=user_id if self.value("mine") else None,
            is_target={"yes": True, "no": False}.get(target or ""),
            readiness_min=_fraction(self.value("readiness_min")),
        )

    def segment_id(self) -> int | None:
        self.is_valid()
        return self.value("segment")

    def ordering(self) -> str:
        self.is_valid()
        return self.value("sort") or ACCOUNT_LIST_DEFAULT_ORDERING

    def is_filtered(self) -> bool:
        """Whether anything narrows the list (the empty state says so)."""
        self.is_valid()
        return any(
            self.value(name) not in (None, "", False)
            for name in self.fields
            if name not in ("sort", "segment")
        )


def _fraction(percent: int | None) -> float | None:
    """A whole percent as the 0-1 probability readiness stores."""
    return percent / 100 if percent is not None else None


ANONYMOUS = "anonymous"


class TimelineForm(forms.Form):
    """The account page's timeline filters, read from the URL. Contacts and
    types offered are the account's own; an invalid value is ignored (and
    shown as an error beside its field)."""

    contact = forms.ChoiceField(required=False, label="Contact")
    type = forms.ChoiceField(required=False, label="Activity type")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))

    def __init__(
        self,
        *args: Any,
        contacts: list[tuple[int, str]],
        types: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        assert isinstance(contact, forms.ChoiceField)
        contact.choices = [
            ("", "Anyone"),
            (ANONYMOUS, "Anonymous visitors"),
            *((str(pk), name) for pk, name in contacts),
        ]
        kind = self.fields["type"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [("", "Any"), *types]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A day past the calendar's range: the timeline's "until" end would
        # leave it (9999-12-31 was a 500, issue 18).
        out = dates_out_of_range(since=cleaned.get("since"), until=cleaned.get("until"))
        for name, message in out.items():
            self.add_error(name, f"{message}.")
        since, until = cleaned.get("since"), cleaned.get("until")
        if since is not None and until is not None and since > until:
            self.add_error("until", "Must not be before the start.")
        return cleaned

    def filters(self) -> TimelineFilter:
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        contact = cleaned.get("contact") or ""
        return TimelineFilter(
            contact_id=int(contact) if contact not in ("", ANONYMOUS) else None,
            anonymous_only=contact == ANONYMOUS,
            activity_type=cleaned.get("type") or None,
            since=cleaned.get("since"),
            until=cleaned.get("until"),
        )

    def is_filtered(self) -> bool:
        return self.filters() != TimelineFilter()
