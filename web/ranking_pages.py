"""The program ranking review (issue 16): the stored runs, starting a run (a
core Job), one run's programs in rank order with the bottom 10% flagged, the
too-early ones apart, and a marketer's cut-or-keep decision on each flagged one.

Reading needs `campaigns.view_rankingrun` (marketers and executives: sales get
the 403 page), starting a run `campaigns.add_rankingrun`, deciding
`campaigns.change_rankingentry` (marketers), the permissions the REST API
(campaigns/api/rankings.py) checks. The numbers are the run's stored entries
(`campaigns.services.ranking_run`), sorted by `web.ranking_report.run_review`
(with the run-rates, judgeable dates and savings of `campaigns.ranking`); the
same module builds the tables each page serves as CSV (`?csv=<table id>`) and
the board pack's ranking section.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views import View

from campaigns import ranking, selectors, services
from campaigns.models import RankingDecision, RankingEntry, RankingMetric, RankingRun
from campaigns.tasks import ranking_run_job_task
from core.ids import id_read
from core.jobs import JobState, job_start, jobs_recent
from web import ranking_report
from web.permissions import WritePage
from web.ranking_forms import RankingDecisionForm, RankingRunForm
from web.report_tables import table_csv_response

RUNS_PER_PAGE = 25
# The core Job kind of a run started from the page.
JOB_KIND = "ranking_run"

VIEW_PERMISSION = "campaigns.view_rankingrun"
RUN_PERMISSION = "campaigns.add_rankingrun"
DECIDE_PERMISSION = "campaigns.change_rankingentry"


class RankingReadPage(PermissionRequiredMixin):
    """Runs are read by the roles holding `view_rankingrun`; anonymous visitors
    go to log in, other users get the 403 page."""

    permission_required = VIEW_PERMISSION


# --- The runs -----------------------------------------------------------------------


def _ranking_jobs(wanted: int | None) -> list[JobState]:
    """The runs still being computed, and the one just started (finished or not)."""
    return [
        job for job in jobs_recent(kind=JOB_KIND, limit=5) if not job.finished or job.id == wanted
    ]


def _wanted_job(request: HttpRequest) -> int | None:
    raw = request.GET.get("job", "")
    return id_read(raw)


def _list_page(
    request: HttpRequest, form: RankingRunForm | None, *, status: int = 200
) -> HttpResponse:
    if "csv" in request.GET:
        table = ranking_report.runs_table(selectors.ranking_run_summaries())
        return table_csv_response([table], request, name="ranking-runs")
    page = Paginator(selectors.ranking_run_summaries(), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    may_run = request.user.has_perm(RUN_PERMISSION)
    if form is None and may_run:
        form = RankingRunForm(today=timezone.now().date())
    context = {
        "page_obj": page,
        # A list: the template reads the first (the latest run) and walks them all.
        "runs": list(page.object_list),
        "form": form if may_run else None,
        "jobs": _ranking_jobs(_wanted_job(request)),
    }
    return render(request, "web/ranking/list.html", context, status=status)


class RankingListView(RankingReadPage, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return _list_page(request, None)


class RankingRunStartView(WritePage, View):
    """Start a run for the period and metric as a core Job: a run reads every
    target's score change, touch and deal of the period (`measurement_load`),
    which at scale takes longer than a request should. The list page shows its
    progress; with eager Celery it is done before the redirect."""

    permission_required = RUN_PERMISSION

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RankingRunForm(request.POST, today=timezone.now().date())
        if not form.is_valid():
            return _list_page(request, form, status=400)
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        metric = form.cleaned_data["metric"]
        metric_label = RankingMetric(metric).label.lower()
        job = job_start(
            kind=JOB_KIND,
            label=f"Ranking {start:%d %b %Y} to {end:%d %b %Y} by {metric_label}",
            task=ranking_run_job_task,
            task_kwargs={
                "start": start.isoformat(),
                "end": end.isoformat(),
                "metric": metric,
                "user_id": request.user.pk,
            },
            created_by_id=request.user.pk,
            unit="step",
        )
        return redirect(f"{reverse('web:ranking-list')}?job={job.pk}")


# --- One run ------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedRow:
    """A judged program as the table shows it; for a flagged one, what a cut
    saves and (pending, for a marketer) its decision form."""

    entry: RankingEntry
    days_running: int
    run_rate: Decimal | None
    form: RankingDecisionForm | None


def _run_get(run_id: int) -> RankingRun:
    try:
        return selectors.ranking_run_get(run_id=run_id)
    except RankingRun.DoesNotExist:
        raise Http404("No such ranking run") from None


def _detail_page(
    request: HttpRequest,
    run_id: int,
    *,
    bound: tuple[int, RankingDecisionForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    run = _run_get(run_id)
    review = ranking_report.run_review(run)
    if "csv" in request.GET:
        tables = ranking_report.review_tables(review, user=request.user)
        return table_csv_response(tables, request, name=f"ranking-{run.pk}")
    may_decide = request.user.has_perm(DECIDE_PERMISSION)
    ranked: list[RankedRow] = []
    for judged in review.ranked:
        entry = judged.entry
        form = None
        if entry.is_flagged and may_decide and entry.decision == RankingDecision.PENDING:
            form = (
                bound[1]
                if bound is not None and bound[0] == entry.pk
                else RankingDecisionForm(prefix=f"entry-{entry.pk}")
            )
        ranked.append(RankedRow(entry, judged.days_running, judged.run_rate, form))
    context: dict[str, Any] = {
        "run": run,
        "review": review,
        "metric_label": review.metric_label,
        "ranked": ranked,
        "flagged": [row for row in ranked if row.entry.is_flagged],
        "too_early": review.too_early,
        "without_spend": review.without_spend,
        "flag_percent": review.flag_percent,
        "pending": review.pending,
        "decided": review.decided,
        "chart": ranking_report.metric_chart(review) if ranked else None,
        "run_rate_days": ranking.RUN_RATE_DAYS,
    }
    return render(request, "web/ranking/detail.html", context, status=status)


class RankingDetailView(RankingReadPage, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _detail_page(request, pk)


class RankingDecideView(WritePage, View):
    """Mark a flagged program cut or kept with the reason
    (`services.ranking_entry_decide`, which records who and when and, for a
    cut, sets the program's status). A missing reason comes back beside the
    field; an entry the run did not flag is refused with a message."""

    permission_required = DECIDE_PERMISSION

    def post(self, request: HttpRequest, pk: int, entry_id: int) -> HttpResponse:
        if not selectors.ranking_entry_in_run(entry_id=entry_id, run_id=pk):
            raise Http404("No such program in this run")
        form = RankingDecisionForm(request.POST, prefix=f"entry-{entry_id}")
        if not form.is_valid():
            return _detail_page(request, pk, bound=(entry_id, form), status=400)
        try:
            entry = services.ranking_entry_decide(
                entry_id=entry_id,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["reason"],
                user_id=request.user.pk,
            )
        except services.DecisionRefused as refused:
            messages.error(request, f"Not recorded: {refused}.")
            return redirect("web:ranking-detail", pk=pk)
        done = "cut: its status is now Cut" if entry.decision == RankingDecision.CUT else "kept"
        messages.success(request, f"Recorded: {entry.program} {done}.")
        return redirect(f"{reverse('web:ranking-detail', args=[pk])}#entry-{entry_id}")


urlpatterns = [
    path("ranking/", RankingListView.as_view(), name="ranking-list"),
    path("ranking/run/", RankingRunStartView.as_view(), name="ranking-run"),
    path("ranking/<int:pk>/", RankingDetailView.as_view(), name="ranking-detail"),
    path(
        "ranking/<int:pk>/entries/<int:entry_id>/decide/",
        RankingDecideView.as_view(),
        name="ranking-decide",
    ),
]
