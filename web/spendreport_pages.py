"""Spend and the campaign report (issue 16): a campaign's spend lines per
program with their totals against the budget (add, change, delete a line),
and the campaign's own report with its charts and a CSV of its table.

Reads come from `campaigns.selectors` and the report code the REST API uses
(`campaigns.reports.campaign`), writes from `campaigns.services`; the report's
layout and its "cannot compute, because" texts are `web.spendreport_report`.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views import View

from campaigns import metrics, selectors, services
from campaigns.models import Campaign, Spend
from campaigns.reports.campaign import campaign_report, campaign_report_period
from campaigns.reports.measurement import measurement_load
from campaigns.spend_visibility import VIEW_SPEND, spend_visible
from web import spendreport_report as report_layout
from web.spendreport_forms import ReportPeriodForm, SpendLineForm


class PermissionByMethod(PermissionRequiredMixin):
    """The permission a request needs, by its method: reading and writing the
    same URL need different rights. Anonymous visitors go to log in; a user
    without the right gets the 403 page."""

    permission_by_method: dict[str, str] = {}
    request: HttpRequest

    def get_permission_required(self) -> tuple[str, ...]:
        method = "GET" if self.request.method == "HEAD" else str(self.request.method)
        wanted = self.permission_by_method.get(method) or self.permission_by_method["GET"]
        return (wanted,)


def report_spend_shown(user: Any) -> bool:
    """Whether the campaign report shows spend and the figures drawn from it:
    the one rule of pages, reports and the API (campaigns.spend_visibility)."""
    return spend_visible(user)


# --- Spend ---------------------------------------------------------------------------


def _spend_or_404(campaign_id: int) -> selectors.CampaignSpend:
    try:
        return selectors.campaign_spend(campaign_id=campaign_id)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign") from None


def _saved(form: SpendLineForm, *, spend_id: int | None) -> Spend | None:
    """The line written through the service, or None with the service's
    refusals put beside their fields (nothing is half-saved: it is atomic)."""
    try:
        return services.spend_save(spend_id=spend_id, values=form.values())
    except ValidationError as refused:
        errors = refused.message_dict if hasattr(refused, "error_dict") else {}
        for name, problems in errors.items():
            target = name if name in form.fields else None
            for problem in problems:
                form.add_error(target if target != NON_FIELD_ERRORS else None, problem)
        if not errors:
            form.add_error(None, refused)
        return None


class CampaignSpendView(PermissionByMethod, View):
    """The campaign's spend lines per program, totals against the budget, and
    the form that adds a line."""

    permission_by_method = {"GET": VIEW_SPEND, "POST": "campaigns.add_spend"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        spend = _spend_or_404(pk)
        initial = {"currency": spend.campaign.currency, "spent_on": timezone.now().date()}
        form = SpendLineForm(initial=initial, programs=[p.program for p in spend.programs])
        return self._page(request, spend, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        spend = _spend_or_404(pk)
        form = SpendLineForm(request.POST, programs=[p.program for p in spend.programs])
        line = _saved(form, spend_id=None) if form.is_valid() else None
        if line is None:
            return self._page(request, spend, form, status=400)
        messages.success(request, f"Spend line added: {_line_text(line, spend.programs)}.")
        return redirect(reverse("web:campaign-spend", args=[pk]) + f"#program-{line.program_id}")

    def _page(
        self,
        request: HttpRequest,
        spend: selectors.CampaignSpend,
        form: SpendLineForm,
        status: int = 200,
    ) -> HttpResponse:
        user = request.user
        return render(
            request,
            "web/spendreport/spend.html",
            {
                "campaign": spend.campaign,
                "tab": "spend",
                "spend": spend,
                "form": form,
                "can_add": user.has_perm("campaigns.add_spend"),
                "can_change": user.has_perm("campaigns.change_spend"),
                "can_delete": user.has_perm("campaigns.delete_spend"),
            },
            status=status,
        )


def _line_text(line: Spend, programs: list[selectors.ProgramSpend]) -> str:
    names = {row.program.pk: row.program.name for row in programs}
    program = names.get(line.program_id, "the program")
    return f"{line.amount:,.2f} {line.currency} on {line.spent_on:%Y-%m-%d} to {program}"


def _line_or_404(campaign_id: int, spend_id: int) -> Spend:
    try:
        return selectors.spend_line_in_campaign(campaign_id=campaign_id, spend_id=spend_id)
    except Spend.DoesNotExist:
        raise Http404("No such spend line in this campaign") from None


class SpendLineEditView(PermissionByMethod, View):
    """Change one line: its program (one of the campaign's), date, amount,
    currency or note."""

    permission_by_method = {"GET": "campaigns.change_spend"}

    def get(self, request: HttpRequest, pk: int, line: int) -> HttpResponse:
        spend = _line_or_404(pk, line)
        programs = selectors.spend_program_choices(campaign_id=pk)
        initial = {
            "program": spend.program_id,
            "spent_on": spend.spent_on,
            "amount": spend.amount,
            "currency": spend.currency,
            "description": spend.description,
        }
        return self._page(request, spend, SpendLineForm(initial=initial, programs=programs))

    def post(self, request: HttpRequest, pk: int, line: int) -> HttpResponse:
        spend = _line_or_404(pk, line)
        programs = selectors.spend_program_choices(campaign_id=pk)
        form = SpendLineForm(request.POST, programs=programs)
        saved = _saved(form, spend_id=spend.pk) if form.is_valid() else None
        if saved is None:
            return self._page(request, spend, form, status=400)
        names = {p.pk: p.name for p in programs}
        messages.success(
            request,
            f"Spend line saved: {saved.amount:,.2f} {saved.currency} on "
            f"{saved.spent_on:%Y-%m-%d} to {names[saved.program_id]}.",
        )
        return redirect(reverse("web:campaign-spend", args=[pk]) + f"#program-{saved.program_id}")

    def _page(
        self, request: HttpRequest, spend: Spend, form: SpendLineForm, status: int = 200
    ) -> HttpResponse:
        return render(
            request,
            "web/spendreport/spend_edit.html",
            {
                "campaign": spend.program.campaign,
                "tab": "spend",
                "line": spend,
                "form": form,
            },
            status=status,
        )


class SpendLineDeleteView(PermissionByMethod, View):
    """Ask, then remove one line."""

    permission_by_method = {"GET": "campaigns.delete_spend"}

    def get(self, request: HttpRequest, pk: int, line: int) -> HttpResponse:
        spend = _line_or_404(pk, line)
        return render(
            request,
            "web/spendreport/spend_delete.html",
            {
                "campaign": spend.program.campaign,
                "tab": "spend",
                "line": spend,
            },
        )

    def post(self, request: HttpRequest, pk: int, line: int) -> HttpResponse:
        spend = _line_or_404(pk, line)
        services.spend_delete(spend_id=spend.pk)
        messages.success(
            request,
            f"Spend line deleted: {spend.amount:,.2f} {spend.currency} on "
            f"{spend.spent_on:%Y-%m-%d} from {spend.program.name}.",
        )
        return redirect(reverse("web:campaign-spend", args=[pk]) + f"#program-{spend.program_id}")


# --- The campaign report -----------------------------------------------------------


def _report(request: HttpRequest, pk: int) -> dict[str, Any]:
    """The period form and, when it is valid, the report: the API's defaults and
    code (`campaign_report_period`, `measurement_load`, `campaign_report`)."""
    try:
        campaign = selectors.campaign_periods().get(pk=pk)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign") from None
    start, end = campaign_report_period(starts_on=campaign.starts_on, ends_on=campaign.ends_on)
    given = {k: v for k, v in request.GET.items() if k in ("start", "end", "window_days") and v}
    form = ReportPeriodForm(
        data={"start": start, "end": end, "window_days": metrics.INFLUENCE_WINDOW_DAYS, **given}
    )
    context: dict[str, Any] = {"campaign": campaign, "tab": "report", "form": form, "table": None}
    if not form.is_valid():
        return context
    query = form.cleaned_data
    data = measurement_load(
        start=query["start"], end=query["end"], window_days=query["window_days"]
    )
    report = campaign_report(data, campaign_id=pk)
    spend_shown = report_spend_shown(request.user)
    table = report_layout.report_table(
        report, spend_recorded=set(data.spend), spend_shown=spend_shown
    )
    context.update(
        table=table,
        funnel=report["funnel"],
        period=query,
        lift_reason=data.lift_reason,
        spend_hidden=report_layout.SPEND_HIDDEN,
    )
    return context


class CampaignReportView(PermissionByMethod, View):
    """The campaign's report for its own period (or `?start=&end=&window_days=`)."""

    permission_by_method = {"GET": "campaigns.view_campaign"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        context = _report(request, pk)
        table = context["table"]
        if table is None:
            return render(request, "web/spendreport/report.html", context, status=400)
        drawn = report_layout.lift_intervals(table)
        context.update(
            lift_rows=drawn,
            lift_chart=report_layout.lift_chart(drawn),
            lift_not_drawn=[
                row for row in table.measured if row.key not in {r.key for r, _ in drawn}
            ],
            spend_chart=report_layout.spend_pipeline_chart(table) if table.spend_shown else None,
            reach_columns=report_layout.REACH_COLUMNS + report_layout.LIFT_COLUMNS,
            reach_rows=report_layout.table_cells(
                table.measured, report_layout.REACH_COLUMNS + report_layout.LIFT_COLUMNS
            ),
            pipeline_columns=report_layout.PIPELINE_COLUMNS,
            pipeline_rows=report_layout.table_cells(
                table.every_row, report_layout.PIPELINE_COLUMNS
            ),
            spend_columns=report_layout.SPEND_COLUMNS,
            spend_rows=report_layout.table_cells(table.measured, report_layout.SPEND_COLUMNS),
            csv_query=request.GET.urlencode(),
        )
        return render(request, "web/spendreport/report.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


class CampaignReportCsvView(PermissionByMethod, View):
    """The report's table as CSV: the same rows and figures as the page."""

    permission_by_method = {"GET": "campaigns.view_campaign"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        context = _report(request, pk)
        table = context["table"]
        if table is None:
            return HttpResponse(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in context["form"].errors.items()),
                status=400,
                content_type="text/plain",
            )
        writer = csv.writer(_Echo())
        body = "".join(writer.writerow(row) for row in report_layout.csv_rows(table))
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        period = context["period"]
        response["Content-Disposition"] = (
            f'attachment; filename="campaign-{pk}-report-{period["start"]:%Y%m%d}-'
            f'{period["end"]:%Y%m%d}.csv"'
        )
        return response


urlpatterns = [
    path("campaigns/<int:pk>/spend/", CampaignSpendView.as_view(), name="campaign-spend"),
    path(
        "campaigns/<int:pk>/spend/<int:line>/edit/",
        SpendLineEditView.as_view(),
        name="campaign-spend-edit",
    ),
    path(
        "campaigns/<int:pk>/spend/<int:line>/delete/",
        SpendLineDeleteView.as_view(),
        name="campaign-spend-delete",
    ),
    path("campaigns/<int:pk>/report/", CampaignReportView.as_view(), name="campaign-report"),
    path(
        "campaigns/<int:pk>/report.csv", CampaignReportCsvView.as_view(), name="campaign-report-csv"
    ),
]
