"""The junk room (/junk/): the contacts flagged junk, a person's decisions on
them (which the rules then leave alone), and the marketer's lists with a
preview of what a change would flag and clear.

Reading needs `accounts.view_junkrule` (marketers, sales); deciding on a
contact needs `change_junkrule` and `change_contact`, editing the lists
add/change/delete on JunkRule and `change_contact` (marketers). Writes go
through engagement.services.junk (the contact's activity follows its flag) and
accounts.junk_services; the re-evaluation after a save runs as a core Job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from accounts import junk_selectors
from accounts import selectors as account_selectors
from accounts.junk import junk_reason_kind
from accounts.junk_services import JunkRulesInvalid, junk_rules_replace
from accounts.models import Contact, JunkRuleKind
from core.ids import id_read
from core.jobs import job_start, job_state, jobs_recent
from engagement.services.junk import contact_junk_set
from engagement.tasks import junk_rules_apply_task
from web.junk_forms import JunkDecisionForm, JunkReviewFilterForm, JunkRulesForm, JunkSearchForm
from web.permissions import WritePage

CONTACTS_PER_PAGE = 50
PREVIEW_SAMPLE = 10
JOB_KIND = "junk_rules_apply"

VIEW = ("accounts.view_junkrule",)
DECIDE = ("accounts.change_junkrule", "accounts.change_contact")
EDIT_RULES = (
    "accounts.add_junkrule",
    "accounts.change_junkrule",
    "accounts.delete_junkrule",
    "accounts.change_contact",
)
# Said on both pages: when a decision reaches the scores (engagement.tasks).
SCORES_NOTE = (
    "A contact's activity stops counting (or counts again) at once, and the account "
    "page's buying team follows; account scores take the change in at the nightly "
    "recompute (00:05 UTC)."
)


def _rule_label(reason: str, reviewed: bool) -> str:
    """The kind of rule a stored reason came from; "By hand" for a reason a
    person typed, "—" for a contact not junk (no reason)."""
    if not reason:
        return "—"
    kind = junk_reason_kind(reason)
    if kind is not None:
        return str(JunkRuleKind(kind).label)
    return "By hand" if reviewed else "Other (imported)"


class JunkReviewView(WritePage, View):
    """The contacts flagged junk (or decided by a person), paged and filtered,
    and a search to find a contact to mark as junk by hand."""

    permission_required = VIEW

    def get(self, request: HttpRequest) -> HttpResponse:
        filters = JunkReviewFilterForm(request.GET)
        search = JunkSearchForm(request.GET)
        contacts = junk_selectors.junk_contacts(
            review=filters.choice("review"), kind=filters.choice("kind")
        )
        page = Paginator(contacts, CONTACTS_PER_PAGE).get_page(request.GET.get("page"))
        rows = [
            (contact, _rule_label(contact.junk_reason, contact.junk_reviewed))
            for contact in page.object_list
        ]
        may_decide = request.user.has_perms(DECIDE)
        query = search.query() if may_decide else ""
        return render(
            request,
            "web/junk/review.html",
            {
                "filters": filters,
                "search": search,
                "query": query,
                "found": account_selectors.contacts_search(query=query) if query else [],
                "page_obj": page,
                "rows": rows,
                "may_decide": may_decide,
                "may_edit_rules": request.user.has_perms(EDIT_RULES),
                "review_label": junk_selectors.REVIEW_STATES[filters.choice("review")][0],
                "scores_note": SCORES_NOTE,
            },
        )


def _back(request: HttpRequest, default: str) -> str:
    back = request.POST.get("next", "")
    # A path of this site only: `redirect` reads anything else ("1") as a view
    # name and fails, after the decision is saved (issue 18: a 500).
    if back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        return back
    return default


class JunkDecisionView(WritePage, View):
    """A person marks one contact junk (with a reason) or not junk. Through
    engagement.services.junk.contact_junk_set, as the admin: the contact is
    marked reviewed, so no later evaluation of the rules overturns it, and
    its activity's exclusion follows at once."""

    permission_required = DECIDE

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        contact = junk_selectors.junk_contact(contact_id=pk)
        if contact is None:
            raise Http404("No such contact.")
        form = JunkDecisionForm(request.POST)
        back = _back(request, reverse("web:junk-review"))
        if not form.is_valid():
            context = {"form": form, "contact": contact, "back": back}
            return render(request, "web/junk/decision.html", context, status=400)
        is_junk = bool(form.cleaned_data["is_junk"])
        try:
            changed = contact_junk_set(
                contact_id=pk, is_junk=is_junk, reason=form.cleaned_data["reason"]
            )
        except Contact.DoesNotExist:
            raise Http404("No such contact.") from None
        counted = "now count zero" if is_junk else "count again"
        messages.success(
            request,
            f"{contact} is {'junk' if is_junk else 'not junk'}, decided by you: the rules "
            f"will leave it so. {changed} of their activities {counted}; account scores "
            "follow at the nightly recompute.",
        )
        return redirect(back)


class JunkRulesView(WritePage, View):
    """The marketer's lists, a textarea per kind. Reading needs view_junkrule;
    saving (or the preview without JavaScript) the rights to edit them."""

    def get_permission_required(self) -> Sequence[str]:
        return EDIT_RULES if self.request.method == "POST" else VIEW

    def get(self, request: HttpRequest) -> HttpResponse:
        lists = junk_selectors.junk_rules_by_kind()
        form = JunkRulesForm(initial=JunkRulesForm.initial_from(lists))
        return self._render(request, form, lists=lists)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = JunkRulesForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        if request.POST.get("action") == "preview":
            preview = junk_selectors.junk_rules_preview(lists=form.lists(), sample=PREVIEW_SAMPLE)
            return self._render(request, form, preview=preview)
        try:
            with transaction.atomic():
                replaced = junk_rules_replace(lists=form.texts())
                job = job_start(
                    kind=JOB_KIND,
                    label="Re-apply the junk rules to every contact",
                    task=junk_rules_apply_task,
                    created_by_id=request.user.pk,
                    unit="contact",
                )
        except JunkRulesInvalid as invalid:
            for kind, errors in invalid.errors.items():
                for error in errors:
                    form.add_error(None if kind == "__all__" else kind, error)
            return self._render(request, form, status=400)
        messages.success(
            request,
            f"Rules saved ({replaced.added} added, {replaced.removed} removed). "
            "Every contact is being judged again by them.",
        )
        return redirect(f"{reverse('web:junk-rules')}?job={job.pk}")

    def _render(
        self,
        request: HttpRequest,
        form: JunkRulesForm,
        *,
        lists: dict[str, list[str]] | None = None,
        preview: Any = None,
        status: int = 200,
    ) -> HttpResponse:
        job_id = id_read(request.GET.get("job", ""))
        if job_id is not None:
            job = job_state(job_id)
        else:
            recent = jobs_recent(kind=JOB_KIND, limit=1)
            job = recent[0] if recent else None
        if lists is None:
            lists = junk_selectors.junk_rules_by_kind()
        return render(
            request,
            "web/junk/rules.html",
            {
                "form": form,
                "lists": [(str(JunkRuleKind(kind).label), lists[kind]) for kind in lists],
                "may_edit_rules": request.user.has_perms(EDIT_RULES),
                "preview": preview,
                "job": job if job is not None and job.kind == JOB_KIND else None,
                "scores_note": SCORES_NOTE,
            },
            status=status,
        )


class JunkRulesPreviewView(WritePage, View):
    """How many contacts the lists as typed would flag and clear, compared with
    the flags stored today, with a sample each way (htmx swaps it in as the
    marketer types). Nothing is saved."""

    permission_required = EDIT_RULES

    def post(self, request: HttpRequest) -> HttpResponse:
        form = JunkRulesForm(request.POST)
        preview = None
        if form.is_valid():
            preview = junk_selectors.junk_rules_preview(lists=form.lists(), sample=PREVIEW_SAMPLE)
        return render(request, "web/junk/preview.html", {"form": form, "preview": preview})


urlpatterns = [
    path("junk/", JunkReviewView.as_view(), name="junk-review"),
    path("junk/contacts/<int:pk>/decision/", JunkDecisionView.as_view(), name="junk-decision"),
    path("junk/rules/", JunkRulesView.as_view(), name="junk-rules"),
    path("junk/rules/preview/", JunkRulesPreviewView.as_view(), name="junk-rules-preview"),
]
