"""The junk room's forms: the review list's filters (in the URL), a person's
decision on one contact, and the marketer's lists (a textarea per kind)."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.junk import (
    DISPOSABLE_DOMAINS,
    FREE_MAIL_DOMAINS,
    PLACEHOLDER_EMAIL_DOMAINS,
    TITLE_KEYWORDS,
    junk_rule_lines_parse,
)
from accounts.junk_selectors import OTHER_REASON, REVIEW_STATES
from accounts.models import Contact, JunkRuleKind

KIND_CHOICES = [
    ("", "Any rule"),
    *JunkRuleKind.choices,
    (OTHER_REASON, "Other (typed by a person or imported)"),
]


class JunkReviewFilterForm(forms.Form):
    review = forms.ChoiceField(
        required=False,
        label="Review",
        choices=[(value, label) for value, (label, _q) in REVIEW_STATES.items()],
    )
    kind = forms.ChoiceField(required=False, label="Rule", choices=KIND_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def choice(self, name: str) -> str:
        """The chosen value, or "" (any) when the URL holds no valid one."""
        return str(self.cleaned_data.get(name) or "") if self.is_valid() else ""

    def is_filtered(self) -> bool:
        return bool(self.choice("review") or self.choice("kind"))


class JunkSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Find a contact to mark as junk")

    def query(self) -> str:
        return str(self.cleaned_data.get("q") or "").strip() if self.is_valid() else ""


class JunkDecisionForm(forms.Form):
    """A person's decision: junk (with the reason they give) or not junk."""

    is_junk = forms.TypedChoiceField(
        choices=[("1", "Junk"), ("0", "Not junk")], coerce=lambda v: v == "1", label="Decision"
    )
    reason = forms.CharField(
        required=False,
        max_length=Contact._meta.get_field("junk_reason").max_length,
        label="Reason",
        help_text="Why this contact is junk (shown on the review list and the account page).",
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("is_junk") and not str(data.get("reason") or "").strip():
            self.add_error("reason", "Say why this contact is junk.")
        return data


# What each kind's textarea says, and the built-in values it adds to
# (accounts/junk.py's defaults, which stay whatever the lists hold).
KIND_HELP = {
    JunkRuleKind.FREE_MAIL_DOMAIN: (
        "One domain a line, like mail.example. A contact on one of these domains is "
        "junk when they are not linked to an account.",
        FREE_MAIL_DOMAINS,
    ),
    JunkRuleKind.DISPOSABLE_DOMAIN: ("One domain a line, like trash.example.", DISPOSABLE_DOMAINS),
    JunkRuleKind.COMPETITOR_DOMAIN: (
        "One domain a line, like rival.example; its subdomains (eu.rival.example) count too.",
        frozenset(),
    ),
    JunkRuleKind.UNSUPPORTED_COUNTRY: (
        "One ISO 3166-1 two-letter country code a line, like KP (the contact's country).",
        frozenset(),
    ),
    JunkRuleKind.TITLE_KEYWORD: (
        "One keyword or phrase a line, matched as whole words in the job title, "
        "upper or lower case alike.",
        frozenset(TITLE_KEYWORDS),
    ),
    JunkRuleKind.INVALID_EMAIL_DOMAIN: (
        "One domain a line that people type instead of a real address, like fake.example.",
        PLACEHOLDER_EMAIL_DOMAINS,
    ),
}


class JunkRulesForm(forms.Form):
    """A textarea per kind of rule, one value a line; each error names its line.
    The service (accounts.junk_services.junk_rules_replace) checks the same
    lines with the same code before it saves anything."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for kind, label in JunkRuleKind.choices:
            help_text, _built_in = KIND_HELP[JunkRuleKind(kind)]
            self.fields[kind] = forms.CharField(
                required=False,
                label=label,
                help_text=help_text,
                widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
                strip=False,
            )

    @classmethod
    def initial_from(cls, lists: dict[str, list[str]]) -> dict[str, str]:
        return {kind: "\n".join(values) for kind, values in lists.items()}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for kind in JunkRuleKind.values:
            _values, errors = junk_rule_lines_parse(kind, data.get(kind) or "")
            for error in errors:
                self.add_error(kind, error)
        return data

    def texts(self) -> dict[str, str]:
        """Each kind's text as typed (valid), for the service."""
        return {kind: self.cleaned_data.get(kind) or "" for kind in JunkRuleKind.values}

    def lists(self) -> dict[str, list[str]]:
        """Each kind's values as they would be stored (valid), for the preview."""
        return {kind: junk_rule_lines_parse(kind, text)[0] for kind, text in self.texts().items()}

    def kinds(self) -> list[tuple[Any, list[str]]]:
        """(bound field, built-in values sorted) per kind, for the template."""
        return [
            (self[kind], sorted(KIND_HELP[JunkRuleKind(kind)][1])) for kind in JunkRuleKind.values
        ]
