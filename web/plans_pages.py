"""The pipeline plan pages (issue 17, report 5): the plans; a new plan from its
revenue target; one plan with the figures it uses, the deals history filled
them from, the pipeline and opportunities it needs and the window in which
they must open (with the formulas), and its plan against actual by month as a
chart and a table; the fill from history and the figures edited by hand.

Reading needs `campaigns.view_pipelineplan` (executives and marketers; sales
get the 403 page), creating `add_pipelineplan`, filling and editing
`change_pipelineplan`: the permissions the REST API (campaigns/api/plans.py)
checks. The numbers come from the code the API answers with:
`campaigns.reports.plans` (`plan_history`, the fill's own selection, and
`plan_against_actual`) and `campaigns.metrics.plan_needs`; the writes are
`campaigns.services`. Every table downloads as CSV (`?csv=<table id>`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.views import View

from accounts.models import OpportunityStatus
from campaigns import metrics, selectors, services
from campaigns.models import PipelinePlan
from campaigns.reports.plans import PlanHistory, plan_against_actual, plan_history
from core.ids import id_read
from web import report_tables as rt
from web.charts import DateSeries, date_line_chart
from web.permissions import WritePage
from web.plans_forms import (
    LOOKBACK_DEFAULT,
    PlanEditForm,
    PlanFieldsForm,
    PlanFillForm,
    PlanNewForm,
)

VIEW_PERMISSION = "campaigns.view_pipelineplan"
ADD_PERMISSION = "campaigns.add_pipelineplan"
CHANGE_PERMISSION = "campaigns.change_pipelineplan"


class PlanReadPage(PermissionRequiredMixin):
    """Plans are read by the roles holding `view_pipelineplan`; anonymous
    visitors go to log in, other users get the 403 page."""

    permission_required = VIEW_PERMISSION


def _refusals_beside_fields(form: PlanFieldsForm | PlanFillForm, refused: ValidationError) -> None:
    """A service's refusal put beside the field it names (or above the form)."""
    errors = refused.message_dict if hasattr(refused, "error_dict") else {}
    for name, problems in errors.items():
        target = name if name in form.fields and name != NON_FIELD_ERRORS else None
        for problem in problems:
            form.add_error(target, problem)
    if not errors:
        form.add_error(None, refused)


def _plan_or_404(plan_id: int) -> PipelinePlan:
    try:
        return selectors.pipeline_plan_get(plan_id=plan_id)
    except PipelinePlan.DoesNotExist:
        raise Http404("No such plan") from None


def _period(plan: PipelinePlan) -> str:
    return f"{plan.period_start:%d %b %Y} to {plan.period_end:%d %b %Y}"


def _needs(plan: PipelinePlan) -> metrics.PlanNeeds:
    return metrics.plan_needs(
        revenue_target=plan.revenue_target, win_rate=plan.win_rate,
        average_deal_size=plan.average_deal_size, cycle_time_days=plan.cycle_time_days,
        period_start=plan.period_start, period_end=plan.period_end,
    )  # fmt: skip


# --- The plans ------------------------------------------------------------------------


def plans_table(plans: list[PipelinePlan]) -> rt.Table:
    rows = []
    for plan in plans:
        needs = _needs(plan)
        rows.append(rt.Row(plan.name, key=str(plan.pk), figures={
            "period": rt.text(_period(plan)),
            "currency": rt.text(plan.currency),
            "revenue_target": rt.money(plan.revenue_target),
            "win_rate": rt.percent(float(plan.win_rate)),
            "average_deal_size": rt.money(plan.average_deal_size),
            "cycle_time_days": rt.count(plan.cycle_time_days),
            "required_pipeline": rt.money(needs.required_pipeline),
            "opportunities_to_open": rt.count(needs.opportunities_to_open),
        }))  # fmt: skip
    return rt.Table(
        id="plans",
        caption="Pipeline plans, latest period first",
        label_heading="Plan",
        columns=[
            rt.Column("period", "Period", numeric=False),
            rt.Column("currency", "Currency", numeric=False),
            rt.Column("revenue_target", "Revenue target"),
            rt.Column("win_rate", "Win rate"),
            rt.Column("average_deal_size", "Deal size"),
            rt.Column("cycle_time_days", "Cycle (days)"),
            rt.Column("required_pipeline", "Pipeline required", "target / win rate"),
            rt.Column(
                "opportunities_to_open",
                "Opportunities to open",
                "target / (win rate x deal size), rounded up",
            ),
        ],
        rows=rows,
    )


class PlanListView(PlanReadPage, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        table = plans_table(list(selectors.pipeline_plan_list()))
        if "csv" in request.GET:
            return rt.table_csv_response([table], request, name="pipeline-plans")
        context = {"table": table, "may_add": request.user.has_perm(ADD_PERMISSION)}
        return render(request, "web/plans/list.html", context)


class PlanNewView(WritePage, View):
    """A plan from its revenue target; blank figures are filled from history
    (`services.pipeline_plan_create`), which refuses beside the figures when
    history is too short to give them."""

    permission_required = ADD_PERMISSION

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, PlanNewForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PlanNewForm(request.POST)
        if not form.is_valid():
            return self._page(request, form, status=400)
        lookback = form.cleaned_data["lookback_days"]
        try:
            plan = services.pipeline_plan_create(
                values={**form.values(), "created_by": request.user}, lookback_days=lookback
            )
        except ValidationError as refused:
            _refusals_beside_fields(form, refused)
            return self._page(request, form, status=400)
        messages.success(request, f"Plan “{plan.name}” created.")
        return redirect(reverse("web:plan-detail", args=[plan.pk]) + f"?lookback={lookback}")

    def _page(self, request: HttpRequest, form: PlanNewForm, status: int = 200) -> HttpResponse:
        return render(request, "web/plans/new.html", {"form": form}, status=status)


# --- One plan -------------------------------------------------------------------------


def needs_table(plan: PipelinePlan, needs: dict[str, Any]) -> rt.Table:
    """What the plan needs, each with its formula in the plan's own figures."""
    target, rate, size = plan.revenue_target, plan.win_rate, plan.average_deal_size
    days = plan.cycle_time_days

    def row(key: str, label: str, formula: str, figure: rt.Figure) -> rt.Row:
        return rt.Row(label, key=key, figures={"formula": rt.text(formula), "value": figure})

    return rt.Table(
        id="needs",
        caption="The needs and their formulas",
        label_heading="Need",
        columns=[rt.Column("formula", "Formula", numeric=False), rt.Column("value", "Value")],
        rows=[
            row("required_pipeline", "Pipeline required",
                f"target / win rate = {target:,.2f} / {rate}",
                rt.money(needs["required_pipeline"])),
            row("required_opportunities", "Opportunities required",
                f"target / (win rate x deal size) = {target:,.2f} / ({rate} x {size:,.2f})",
                rt.decimal(needs["required_opportunities"], places=2)),
            row("opportunities_to_open", "Opportunities to open",
                "opportunities required, rounded up", rt.count(needs["opportunities_to_open"])),
            row("open_from", "Open from",
                f"period start - cycle time = {plan.period_start:%Y-%m-%d} - {days} days",
                rt.text(needs["open_from"].isoformat())),
            row("open_until", "Open until",
                f"period end - cycle time = {plan.period_end:%Y-%m-%d} - {days} days",
                rt.text(needs["open_until"].isoformat())),
        ],
    )  # fmt: skip


def figures_table(plan: PipelinePlan, history: PlanHistory) -> rt.Table:
    """The figures the plan uses beside those its deal history gives."""
    given = history.figures
    closed = given.won + given.lost
    no_won = "no deal won in the window"
    return rt.Table(
        id="figures",
        caption=(
            f"Figures used: the plan's, and the history's from the {closed} deal(s) "
            f"closed {history.since:%d %b %Y} to {history.last_day:%d %b %Y}"
        ),
        label_heading="Figure",
        columns=[
            rt.Column("plan", "In the plan"),
            rt.Column("history", "From history"),
            rt.Column("formula", "History's formula", numeric=False),
        ],
        rows=[
            rt.Row("Win rate", key="win_rate", figures={
                "plan": rt.percent(float(plan.win_rate)),
                "history": rt.percent(given.win_rate, why="no deal closed in the window"),
                "formula": rt.text(f"won / closed = {given.won} / {closed}"),
            }),
            rt.Row("Average deal size", key="average_deal_size", figures={
                "plan": rt.money(plan.average_deal_size),
                "history": rt.money(given.average_deal_size, why=no_won),
                "formula": rt.text("mean amount of the won deals (those without one left out)"),
            }),
            rt.Row("Cycle time (days)", key="cycle_time_days", figures={
                "plan": rt.count(plan.cycle_time_days),
                "history": rt.decimal(given.cycle_time_days, why=no_won),
                "formula": rt.text("mean days from opening to winning, won deals"),
            }),
        ],
        note="A fill rounds the win rate to four places, the deal size to the cent and the "
        "cycle time to whole days; a figure edited by hand differs from history.",
    )  # fmt: skip


def deals_table(history: PlanHistory) -> rt.Table:
    """The deals the fill reads (`reports.plans.history_deals`), newest close first."""
    rows = []
    for deal in history.deals:
        won = deal.status == OpportunityStatus.WON
        rows.append(rt.Row(deal.name, key=str(deal.pk), figures={
            "account": rt.text(deal.account.name if deal.account else "not assigned"),
            "status": rt.text(deal.get_status_display()),
            "amount": rt.money(deal.amount, why="no amount: left out of the deal size"),
            "currency": rt.text(deal.currency),
            "opened_on": rt.text(deal.opened_on.isoformat()),
            "close_on": rt.text(deal.close_on.isoformat() if deal.close_on else ""),
            "cycle_days": rt.count((deal.close_on - deal.opened_on).days)
            if won and deal.close_on else rt.missing("lost: not in the cycle time"),
        }))  # fmt: skip
    return rt.Table(
        id="deals",
        caption=f"The {len(rows)} deal(s) history is filled from",
        label_heading="Deal",
        columns=[
            rt.Column("account", "Account", numeric=False),
            rt.Column("status", "Status", numeric=False),
            rt.Column("amount", "Amount"),
            rt.Column("currency", "Currency", numeric=False),
            rt.Column("opened_on", "Opened", numeric=False),
            rt.Column("close_on", "Closed", numeric=False),
            rt.Column("cycle_days", "Days to win"),
        ],
        rows=rows,
        note="Every deal won or lost with its close date in the window, assigned to an "
        "account or not.",
    )


def months_table(by_month: list[dict[str, Any]]) -> rt.Table:
    rows = [
        rt.Row(
            month["month"],
            key=month["month"],
            figures={
                "planned_pipeline": rt.money(month["planned_pipeline"]),
                "actual_pipeline": rt.money(month["actual_pipeline"]),
                "planned_pipeline_cumulative": rt.money(month["planned_pipeline_cumulative"]),
                "actual_pipeline_cumulative": rt.money(month["actual_pipeline_cumulative"]),
                "planned_opportunities": rt.decimal(month["planned_opportunities"], places=2),
                "actual_opportunities": rt.count(month["actual_opportunities"]),
                "attainment": rt.percent(month["attainment"], why="nothing planned"),
            },
        )
        for month in by_month
    ]
    return rt.Table(
        id="months",
        caption="Plan against actual, by month of the open-by window",
        label_heading="Month",
        columns=[
            rt.Column("planned_pipeline", "Planned pipeline",
                      "pipeline required, spread over the window by days"),
            rt.Column("actual_pipeline", "Actual pipeline", "amounts of the deals opened"),
            rt.Column("planned_pipeline_cumulative", "Planned, to date"),
            rt.Column("actual_pipeline_cumulative", "Actual, to date"),
            rt.Column("planned_opportunities", "Planned opportunities"),
            rt.Column("actual_opportunities", "Opportunities opened"),
            rt.Column("attainment", "Attainment", "actual / planned pipeline"),
        ],
        rows=rows,
    )  # fmt: skip


def _month_end(month: str, open_until: dt.date) -> dt.date:
    """The day a month's cumulative figure stands at: its last day in the window."""
    first = dt.date.fromisoformat(f"{month}-01")
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return min(following - dt.timedelta(days=1), open_until)


def cumulative_chart(
    plan: PipelinePlan, needs: dict[str, Any], by_month: list[dict[str, Any]]
) -> str:
    """Planned and actual pipeline summed from the window's start, at each
    month's end: where the lines part is how far ahead or behind the plan is."""
    start = needs["open_from"] - dt.timedelta(days=1)
    planned = [(start, 0.0)]
    actual = [(start, 0.0)]
    for month in by_month:
        day = _month_end(month["month"], needs["open_until"])
        planned.append((day, float(month["planned_pipeline_cumulative"])))
        actual.append((day, float(month["actual_pipeline_cumulative"])))
    return mark_safe(  # noqa: S308 - web.charts escapes every text it writes  # nosec B308 B703
        date_line_chart(
            chart_id=f"plan-{plan.pk}-cumulative",
            title=f"Pipeline opened to date against the plan ({plan.currency})",
            series=[DateSeries("Planned, to date", planned), DateSeries("Actual, to date", actual)],
            y_low=0.0,
        )
    )


def _lookback(request: HttpRequest) -> int:
    raw = request.GET.get("lookback", "")
    days = id_read(raw)  # digits only: "²" is a digit to isdigit() (issue 18)
    return days if days is not None and days <= 3650 else LOOKBACK_DEFAULT


def _detail_page(
    request: HttpRequest,
    plan: PipelinePlan,
    *,
    fill_form: PlanFillForm | None = None,
    lookback: int | None = None,
    status: int = 200,
) -> HttpResponse:
    days = _lookback(request) if lookback is None else lookback
    history = plan_history(period_start=plan.period_start, lookback_days=days)
    against = plan_against_actual(plan)
    needs, by_month = against["needs"], against["by_month"]
    tables = [
        needs_table(plan, needs),
        figures_table(plan, history),
        deals_table(history),
        months_table(by_month),
    ]
    if "csv" in request.GET:
        return rt.table_csv_response(tables, request, name=f"pipeline-plan-{plan.pk}")
    may_change = request.user.has_perm(CHANGE_PERMISSION)
    if fill_form is None and may_change:
        fill_form = PlanFillForm(initial={"lookback_days": days})
    context = {
        "plan": plan,
        "period": _period(plan),
        "lookback": days,
        "needs": needs,
        "tables": {table.id: table for table in tables},
        "chart": cumulative_chart(plan, needs, by_month),
        "fill_form": fill_form if may_change else None,
        "may_change": may_change,
    }
    return render(request, "web/plans/detail.html", context, status=status)


class PlanDetailView(PlanReadPage, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _detail_page(request, _plan_or_404(pk))


class PlanFillView(WritePage, View):
    """Fill the figures from history (`services.pipeline_plan_fill_from_history`,
    as `POST /api/pipeline-plans/{id}/fill_from_history/`); its refusal (too
    little history) is shown beside the form."""

    permission_required = CHANGE_PERMISSION

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        plan = _plan_or_404(pk)
        form = PlanFillForm(request.POST)
        if not form.is_valid():
            return _detail_page(request, plan, fill_form=form, status=400)
        lookback = form.cleaned_data["lookback_days"]
        try:
            plan = services.pipeline_plan_fill_from_history(plan_id=plan.pk, lookback_days=lookback)
        except ValidationError as refused:
            _refusals_beside_fields(form, refused)
            return _detail_page(request, plan, fill_form=form, lookback=lookback, status=400)
        messages.success(request, f"Figures filled from the deals of the last {lookback} days.")
        return redirect(reverse("web:plan-detail", args=[plan.pk]) + f"?lookback={lookback}")


class PlanEditView(WritePage, View):
    """The plan with its figures edited by hand (`services.pipeline_plan_save`)."""

    permission_required = CHANGE_PERMISSION

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        plan = _plan_or_404(pk)
        return self._page(request, plan, PlanEditForm.for_plan(plan))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        plan = _plan_or_404(pk)
        form = PlanEditForm(request.POST)
        if not form.is_valid():
            return self._page(request, plan, form, status=400)
        try:
            services.pipeline_plan_save(plan_id=plan.pk, values=form.values())
        except ValidationError as refused:
            _refusals_beside_fields(form, refused)
            return self._page(request, plan, form, status=400)
        messages.success(request, "Plan saved.")
        return redirect("web:plan-detail", pk=plan.pk)

    def _page(
        self, request: HttpRequest, plan: PipelinePlan, form: PlanEditForm, status: int = 200
    ) -> HttpResponse:
        context = {"plan": plan, "form": form}
        return render(request, "web/plans/edit.html", context, status=status)


urlpatterns = [
    path("reports/plans/", PlanListView.as_view(), name="plan-list"),
    path("reports/plans/new/", PlanNewView.as_view(), name="plan-new"),
    path("reports/plans/<int:pk>/", PlanDetailView.as_view(), name="plan-detail"),
    path("reports/plans/<int:pk>/fill/", PlanFillView.as_view(), name="plan-fill"),
    path("reports/plans/<int:pk>/edit/", PlanEditView.as_view(), name="plan-edit"),
]
