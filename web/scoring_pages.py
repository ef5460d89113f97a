"""Scoring models (/scoring/): each segment's current model, its edit form
with a preview of what a change does to the segment's scores, and its version
history with what each version changed.

Reading needs `engagement.view_scoringmodel` (every role); previewing and
saving need `engagement.add_scoringmodel` (marketers), since a save adds a
version. The preview and the save are engagement.services.scoring_models';
the history's diff is engagement.scoring_versions'.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.views import View
from django_htmx.http import HttpResponseClientRedirect

from core.jobs import jobs_recent
from engagement import scoring_selectors
from engagement.models import ScoringModel
from engagement.scoring_versions import ParameterChange, histogram_labels
from engagement.services import scoring_models as scoring_services
from web.charts import BarGroup, bar_chart
from web.permissions import WritePage
from web.scoring_forms import KEY_LABELS, PARAMETER_LABELS, ROLE_LABELS, ScoringModelForm

VIEW_PERMISSION = "engagement.view_scoringmodel"
CHANGE_PERMISSION = "engagement.add_scoringmodel"


class ScoringReadPage(PermissionRequiredMixin):
    """A scoring page every role reads: anonymous visitors log in, a user
    without the view permission gets the 403 page."""

    permission_required = VIEW_PERMISSION


def _role_labels(roles: list[str]) -> list[str]:
    return [ROLE_LABELS.get(role, role) for role in roles]


class ScoringListView(ScoringReadPage, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "web/scoring/list.html",
            {
                "segments": [
                    (row, _role_labels(row.model.required_roles if row.model else []))
                    for row in scoring_selectors.scoring_models_by_segment()
                ],
                "may_change": request.user.has_perm(CHANGE_PERMISSION),
            },
        )


def _current_or_404(segment_id: int) -> ScoringModel:
    model = scoring_selectors.scoring_model_current(segment_id=segment_id)
    if model is None:
        raise Http404("This segment has no scoring model yet")
    return model


def _histogram_chart(preview: scoring_services.ScoringPreview) -> str:
    labels = histogram_labels()
    return mark_safe(  # noqa: S308 - web.charts escapes every text it draws  # nosec B308 B703
        bar_chart(
            chart_id="score-distribution",
            title="Accounts by score, before and after",
            series_names=[f"Now (version {preview.version})", "After the change"],
            groups=[
                BarGroup(label=label, values=[before, after])
                for label, before, after in zip(
                    labels, preview.histogram_before, preview.histogram_after, strict=True
                )
            ],
        )
    )


class ScoringEditView(WritePage, View):
    """GET: the form. POST with action=preview: the form and what the change
    would do (htmx swaps the editor alone); action=save: a new version and
    its recompute job, then the history page, which shows the job."""

    permission_required = CHANGE_PERMISSION

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        model = _current_or_404(pk)
        return self._render(request, ScoringModelForm(model=model), model)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        model = _current_or_404(pk)
        form = ScoringModelForm(request.POST, model=model)
        action = request.POST.get("action", "preview")
        if not form.is_valid():
            return self._render(request, form, model)
        if action == "save":
            try:
                saved = scoring_services.scoring_model_change(
                    segment_id=pk, changes=form.changes(), created_by_id=request.user.pk
                )
            except ValueError as refused:
                form.add_error(None, str(refused))
                return self._render(request, form, model)
            messages.success(
                request,
                f"Saved version {saved.model.version}; the segment's scores are being recomputed.",
            )
            history = reverse("web:scoring-history", args=[pk])
            if request.htmx:  # type: ignore[attr-defined]
                return HttpResponseClientRedirect(history)
            return redirect(history)
        context: dict[str, Any] = {"previewed": True}
        try:
            preview = scoring_services.scoring_model_preview(segment_id=pk, changes=form.changes())
        except scoring_services.PreviewUnavailable as unavailable:
            context["preview_unavailable"] = str(unavailable)
        except ValueError as refused:
            form.add_error(None, str(refused))
        else:
            context |= {"preview": preview, "histogram_chart": _histogram_chart(preview)}
            context["histogram_rows"] = list(
                zip(
                    histogram_labels(),
                    preview.histogram_before,
                    preview.histogram_after,
                    strict=True,
                )
            )
        return self._render(request, form, model, context)

    def _render(
        self, request: HttpRequest, form: ScoringModelForm, model: ScoringModel,
        extra: dict[str, Any] | None = None,
    ) -> HttpResponse:  # fmt: skip
        template = "web/scoring/editor.html" if request.htmx else "web/scoring/edit.html"  # type: ignore[attr-defined]
        context = {"form": form, "model": model, "segment": model.segment, **(extra or {})}
        return render(request, template, context)


def _change_row(change: ParameterChange) -> dict[str, str]:
    """A change as the history shows it: what, from, to, in people's words."""
    label = PARAMETER_LABELS[change.parameter]
    if change.key:
        label = f"{label}: {KEY_LABELS[change.parameter].get(change.key, change.key)}"

    def shown(value: Any) -> str:
        if change.parameter == "required_roles":
            return ", ".join(_role_labels(value)) or "none"
        return f"{value:g}" if isinstance(value, float) else str(value)

    return {"label": label, "old": shown(change.old), "new": shown(change.new)}


class ScoringHistoryView(ScoringReadPage, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        versions = scoring_selectors.scoring_model_versions(segment_id=pk)
        if not versions:
            raise Http404("This segment has no scoring model yet")
        jobs = jobs_recent(kind=scoring_services.recompute_job_kind(pk), limit=1)
        return render(
            request,
            "web/scoring/history.html",
            {
                "segment": versions[0].model.segment,
                "versions": [
                    {"version": v, "changes": [_change_row(c) for c in v.changes]} for v in versions
                ],
                "job": jobs[0] if jobs else None,
                "may_change": request.user.has_perm(CHANGE_PERMISSION),
            },
        )


urlpatterns = [
    path("scoring/", ScoringListView.as_view(), name="scoring-list"),
    path("scoring/<int:pk>/", ScoringEditView.as_view(), name="scoring-edit"),
    path("scoring/<int:pk>/history/", ScoringHistoryView.as_view(), name="scoring-history"),
]
