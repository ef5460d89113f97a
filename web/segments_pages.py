"""The segments room: ICP segments with their members by fit grade, and the
segment form (criteria as rows, a live preview of who would belong) whose save
refreshes membership as a background Job.

Reads come from accounts.selectors (segment_list_graded, segment_preview: the
refresh's own membership computation), writes from
engagement.services.segments (segment_create, segment_update), the refresh
from accounts.tasks.segment_refresh_job_task through core.jobs.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views import View

from accounts import selectors as account_selectors
from accounts.criteria import criteria_rows
from accounts.fit import DEFAULT_MIN_FIT
from accounts.models import ICPSegment
from accounts.tasks import segment_refresh_job_task
from core.ids import id_read
from core.jobs import job_start, job_state
from engagement.services import segments as segment_services
from web.permissions import WritePage
from web.segments_forms import criteria_of, formset_with_blank_row, operator_guide, segment_forms

JOB_KIND = "segment_refresh"
VIEW, ADD, CHANGE = (
    "accounts.view_icpsegment",
    "accounts.add_icpsegment",
    "accounts.change_icpsegment",
)


class SegmentListView(WritePage, View):
    """Every segment with its members by fit grade; the refresh started by a
    save (`?job=<id>`) shows its progress above the table."""

    permission_required = VIEW

    def get(self, request: HttpRequest) -> HttpResponse:
        segments = account_selectors.segment_list_graded()
        job = None
        job_id = id_read(request.GET.get("job", ""))
        if job_id is not None:
            found = job_state(job_id)
            job = found if found is not None and found.kind == JOB_KIND else None
        return render(
            request,
            "web/segments/list.html",
            {
                "segments": segments,
                "job": job,
                "may_add": request.user.has_perm(ADD),
                "may_change": request.user.has_perm(CHANGE),
            },
        )


def _form_page(
    request: HttpRequest, *, form: Any, formset: Any, segment: ICPSegment | None, preview: Any
) -> HttpResponse:
    return render(
        request,
        "web/segments/form.html",
        {
            "form": form,
            "formset": formset,
            "segment": segment,
            "preview": preview,
            "operator_guide": operator_guide(),
            "editable": True,
        },
    )


def _preview_of(form: Any, formset: Any) -> dict[str, Any]:
    """What the preview panel shows for bound forms: the criteria's errors, or
    who would belong."""
    criteria = criteria_of(form, formset)
    if criteria is None:
        return {"errors": _criteria_errors(form, formset)}
    return {
        "result": account_selectors.segment_preview(criteria=criteria),
        "inactive": not form.cleaned_data.get("is_active", False),
    }


def _criteria_errors(form: Any, formset: Any) -> list[str]:
    """The criteria's errors as sentences that say which row and field."""
    errors = [f"Minimum fit: {error}" for error in form.errors.get("min_fit", [])]
    errors += [str(error) for error in formset.non_form_errors()]
    for number, row in enumerate(formset.forms, start=1):
        if getattr(row, "cleaned_data", {}).get("DELETE"):
            continue
        for name, messages_ in row.errors.items():
            label = row[name].label if name in row.fields else name
            errors += [f"Criterion {number}, {label.lower()}: {text}" for text in messages_]
    return errors


def _save(
    request: HttpRequest, *, form: Any, formset: Any, segment: ICPSegment | None
) -> HttpResponse | None:
    """Create or update the segment and start its membership refresh, in one
    transaction; None when the service refused it (errors added to the form)."""
    criteria = criteria_of(form, formset)
    if not form.is_valid() or criteria is None:
        return None
    values = {
        "name": form.cleaned_data["name"],
        "description": form.cleaned_data["description"],
        "is_active": form.cleaned_data["is_active"],
        "criteria": criteria,
        "readiness_alert_percent": form.cleaned_data["readiness_alert_percent"],
    }
    try:
        with transaction.atomic():
            if segment is None:
                saved = segment_services.segment_create(values=values, refresh_members=False)
            else:
                saved = segment_services.segment_update(
                    segment_id=segment.pk, values=values, refresh_members=False
                )
            job = job_start(
                kind=JOB_KIND,
                label=f"Refresh the members of {saved.name}",
                task=segment_refresh_job_task,
                task_kwargs={"segment_id": saved.pk},
                created_by_id=request.user.pk,
                unit="account",
            )
    except segment_services.SegmentInvalid as invalid:
        for name, errors in invalid.errors.items():
            target = name if name in form.fields else None
            for error in errors:
                form.add_error(target, error)
        if not invalid.errors:
            form.add_error(None, str(invalid))
        return None
    messages.success(request, f"Saved {saved.name}.")
    return redirect(f"{reverse('web:segment-list')}?job={job.pk}")


class SegmentNewView(WritePage, View):
    permission_required = ADD

    def get(self, request: HttpRequest) -> HttpResponse:
        form, formset = segment_forms(initial={"is_active": True, "min_fit": DEFAULT_MIN_FIT})
        return _form_page(request, form=form, formset=formset, segment=None, preview=None)

    def post(self, request: HttpRequest) -> HttpResponse:
        return _posted(request, segment=None)


def _posted(request: HttpRequest, *, segment: ICPSegment | None) -> HttpResponse:
    data = request.POST
    if "add_row" in data:
        data = formset_with_blank_row(data)
    form, formset = segment_forms(data)
    if "add_row" not in request.POST:
        saved = _save(request, form=form, formset=formset, segment=segment)
        if saved is not None:
            return saved
    return _form_page(
        request, form=form, formset=formset, segment=segment,
        preview=_preview_of(form, formset),
    )  # fmt: skip


class SegmentEditView(WritePage, View):
    permission_required = CHANGE

    def _segment(self, pk: int) -> ICPSegment:
        segment = account_selectors.segment_get(segment_id=pk)
        if segment is None:
            raise Http404("No such segment")
        return segment

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = self._segment(pk)
        shown = criteria_rows(segment.criteria or {})
        if shown is None:
            # Nested groups or keys the rows cannot carry: saving them from
            # rows would change what the segment means.
            return render(
                request, "web/segments/form.html", {"segment": segment, "editable": False}
            )
        rows, min_fit = shown
        form, formset = segment_forms(
            initial={
                "name": segment.name,
                "description": segment.description,
                "is_active": segment.is_active,
                "min_fit": min_fit,
                "readiness_alert_percent": segment.readiness_alert_percent,
            },
            rows=rows,
        )
        preview = None
        if rows:
            preview = {
                "result": account_selectors.segment_preview(criteria=segment.criteria),
                "inactive": not segment.is_active,
            }
        return _form_page(request, form=form, formset=formset, segment=segment, preview=preview)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _posted(request, segment=self._segment(pk))


class SegmentPreviewView(WritePage, View):
    """The preview panel for the form as it stands (htmx posts the form here as
    it changes). Saves nothing."""

    def has_permission(self) -> bool:
        user = self.request.user
        return user.has_perm(ADD) or user.has_perm(CHANGE)

    def post(self, request: HttpRequest) -> HttpResponse:
        form, formset = segment_forms(request.POST)
        return render(
            request, "web/segments/preview.html",
            {"preview": _preview_of(form, formset), "oob": True},
        )  # fmt: skip


urlpatterns = [
    path("segments/", SegmentListView.as_view(), name="segment-list"),
    path("segments/new/", SegmentNewView.as_view(), name="segment-new"),
    path("segments/<int:pk>/", SegmentEditView.as_view(), name="segment-edit"),
    path("segments/preview/", SegmentPreviewView.as_view(), name="segment-preview"),
]
