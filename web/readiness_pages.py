"""The readiness page (issue 19, part 4; `/readiness/`): per active segment,
the readiness model version that serves (or why the segment falls back to
the engagement score), its backtest against the engagement score and the MQL
rule with the reliability chart and its numbers, how many accounts are
scored and when, the segment's readiness alert threshold, and the earlier
versions. A marketer trains new versions from here ("Train now": a core Job
whose progress the page polls) and sets each segment's threshold.

Reading needs `readiness.view_readinessmodel` (marketers, sales,
executives), training `readiness.add_readinessmodel` (marketers), the
threshold `accounts.change_icpsegment` (marketers): the permissions the
REST API (readiness/models_api.py, engagement/api.py) checks. The figures
are the stored ones (readiness.model_selectors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.safestring import SafeString, mark_safe
from django.views import View

from accounts.models import ICPSegment
from core.ids import id_read
from core.jobs import JobState, jobs_recent
from engagement.services import segments as segment_services
from readiness.charts import reliability_svg
from readiness.model_selectors import SegmentReadiness, model_auc, readiness_segments
from readiness.model_services import TRAIN_JOB_KIND, readiness_train_job_start
from readiness.models import ReadinessModel

VIEW_PERMISSION = "readiness.view_readinessmodel"
TRAIN_PERMISSION = "readiness.add_readinessmodel"
THRESHOLD_PERMISSION = "accounts.change_icpsegment"


class ThresholdForm(forms.Form):
    """A segment's readiness alert: a whole per cent, 1-99, or empty for none."""

    percent = forms.IntegerField(
        label="Alert at readiness (%)",
        required=False,
        min_value=1,
        max_value=99,
        help_text="An alert when an account's readiness rises to this; empty: no alerts.",
    )


@dataclass(frozen=True)
class ReliabilityCell:
    """A method's figures in one decile (`found` False: it has no such bin)."""

    label: str
    found: bool
    predicted: float | None = None
    observed: float | None = None
    positives: int | None = None
    count: int | None = None


@dataclass(frozen=True)
class ReliabilityRow:
    """One decile of the reliability table: per method, in the chart's order,
    its mean prediction and observed rate."""

    bin: int
    count: int | None
    cells: list[ReliabilityCell]


@dataclass(frozen=True)
class SegmentPanel:
    segment: SegmentReadiness
    chart: SafeString | None
    methods: list[str]
    reliability: list[ReliabilityRow]
    form: ThresholdForm | None
    # The earlier versions, newest first, each with its backtest's model AUC.
    earlier: list[tuple[ReadinessModel, float | None]]


def _reliability_rows(tables: dict[str, list[Any]]) -> list[ReliabilityRow]:
    by_method = {label: {row.bin: row for row in table} for label, table in tables.items()}
    bins = sorted({number for table in by_method.values() for number in table})
    rows = []
    for number in bins:
        cells = []
        count = None
        for label, table in by_method.items():
            row = table.get(number)
            if row is None:
                cells.append(ReliabilityCell(label, found=False))
                continue
            count = row.count if count is None else count
            cells.append(ReliabilityCell(label, True, row.mean_predicted, row.observed_rate,
                                         row.positives, row.count))  # fmt: skip
        rows.append(ReliabilityRow(number, count, cells))
    return rows


def _panel(segment: SegmentReadiness, form: ThresholdForm | None) -> SegmentPanel:
    tables = segment.reliability
    chart = None
    if tables and segment.serving is not None:
        chart = mark_safe(  # noqa: S308 - readiness.charts escapes every text it writes  # nosec B308 B703
            reliability_svg(
                title=f"{segment.name}: reliability of v{segment.serving.version}", tables=tables
            )
        )
    earlier = [(version, model_auc(version)) for version in segment.earlier]
    return SegmentPanel(segment, chart, list(tables), _reliability_rows(tables), form, earlier)


def _jobs(wanted: int | None) -> list[JobState]:
    """Training runs still going, and the one just started (finished or not)."""
    return [
        job
        for job in jobs_recent(kind=TRAIN_JOB_KIND, limit=5)
        if not job.finished or job.id == wanted
    ]


def _page(
    request: HttpRequest,
    *,
    bound: tuple[int, ThresholdForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    may_set = request.user.has_perm(THRESHOLD_PERMISSION)
    panels = []
    for segment in readiness_segments():
        form = None
        if may_set:
            if bound is not None and bound[0] == segment.segment_id:
                form = bound[1]
            else:
                form = ThresholdForm(
                    initial={"percent": segment.alert_percent},
                    prefix=f"segment-{segment.segment_id}",
                )
        panels.append(_panel(segment, form))
    context = {
        "panels": panels,
        "may_train": request.user.has_perm(TRAIN_PERMISSION),
        "jobs": _jobs(id_read(request.GET.get("job", ""))),
    }
    return render(request, "web/readiness/page.html", context, status=status)


class ReadinessPageView(PermissionRequiredMixin, View):
    permission_required = VIEW_PERMISSION

    def get(self, request: HttpRequest) -> HttpResponse:
        return _page(request)


class ReadinessTrainView(PermissionRequiredMixin, View):
    """ "Train now": a new version for every active segment, as a core Job (the
    backtest's fits take seconds per segment at scale). With eager Celery it
    is done before the redirect; otherwise the page polls its progress."""

    permission_required = TRAIN_PERMISSION

    def post(self, request: HttpRequest) -> HttpResponse:
        job = readiness_train_job_start(segment_ids=None, user_id=request.user.pk)
        return redirect(f"{reverse('web:readiness')}?job={job.pk}")


class ReadinessThresholdView(PermissionRequiredMixin, View):
    """Set or clear a segment's readiness alert threshold (`clear` clears it)."""

    permission_required = THRESHOLD_PERMISSION

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        segment = ICPSegment.objects.filter(pk=pk, is_active=True).only("pk", "name").first()
        if segment is None:
            raise Http404("No such active segment")
        prefix = f"segment-{pk}"
        data = request.POST.copy()
        if "clear" in request.POST:
            data[f"{prefix}-percent"] = ""
        form = ThresholdForm(data, prefix=prefix)
        if not form.is_valid():
            return _page(request, bound=(pk, form), status=400)
        percent = form.cleaned_data["percent"]
        segment_services.segment_update(
            segment_id=pk, values={"readiness_alert_percent": percent}, refresh_members=False
        )
        if percent is None:
            messages.success(request, f"{segment.name}: readiness alerts are off.")
        else:
            messages.success(
                request,
                f"{segment.name}: an alert when an account's readiness rises to {percent}%.",
            )
        return redirect(f"{reverse('web:readiness')}#segment-{pk}")


urlpatterns = [
    path("readiness/", ReadinessPageView.as_view(), name="readiness"),
    path("readiness/train/", ReadinessTrainView.as_view(), name="readiness-train"),
    path(
        "readiness/segments/<int:pk>/alert/",
        ReadinessThresholdView.as_view(),
        name="readiness-threshold",
    ),
]
