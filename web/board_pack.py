"""The board pack (issue 17, item 6): the executive reports of a period as one
PDF, rendered on the server with WeasyPrint, at `/reports/board-pack.pdf`.

A cover page (title, period, when and by whom it was made, the contents), then
one section per report, each starting on a new page: the sections' own body
templates (`web.report_tables.ReportSection`, the same a report page renders)
with `printing` true, so no forms and no CSV links. Charts are the pages'
inline SVG; the one stylesheet (web/static/web/app.css, read from the static
files, never over HTTP) styles them, with its print rules and the pack's page
rules (A4 landscape so wide tables fit, page numbers in the footer) under its
"Room: board pack" anchor.

Who may download it: the pack holds the ranking (`campaigns.view_rankingrun`)
and spend figures throughout (`campaigns.view_spend`), so it needs both:
executives and marketers; sales get the 403 page (the spend rule,
campaigns.spend_visibility, would blank most of the pack for them, and the
ranking is not theirs to read).

The period is the reports' (`web.report_period`, `?start=&end=`, the quarter
to date by default); invalid dates answer a 400 page naming the field. Without
WeasyPrint's system libraries (Pango) the view answers a 503 page saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.views import View

from web.campaignreport_pages import campaign_report_section
from web.overview_pages import overview_section
from web.ranking_report import ranking_section
from web.report_period import ReportPeriod, report_period
from web.report_tables import ReportSection

PACK_PERMISSIONS = ("campaigns.view_rankingrun", "campaigns.view_spend")
STYLESHEET = "web/app.css"

# A section builder: called as builder(period=<web.report_period.ReportPeriod>,
# user=<the user>) and answers the section as that user may see it.
SectionBuilder = Callable[..., ReportSection]


def ranking_for_pack(*, period: ReportPeriod, user: Any) -> ReportSection:
    """The ranking's latest run: a run has its own period (the schedule ranks
    half-years), which its section states, so the pack's period does not
    choose it."""
    return ranking_section(user=user)


# The pack's sections, in this order: what spend bought, what to cut.
SECTIONS: list[SectionBuilder] = [
    overview_section,
    campaign_report_section,
    ranking_for_pack,
]


def _stylesheet() -> str:
    """app.css as the static files hold it (the finders, so it works without
    collectstatic and without a web server)."""
    found = finders.find(STYLESHEET)
    if not found:
        return ""
    return Path(str(found)).read_text(encoding="utf-8")


def pack_html(
    *, request: HttpRequest, period: ReportPeriod, sections: Sequence[ReportSection]
) -> str:
    """The pack as one HTML document, as WeasyPrint prints it."""
    user = request.user
    context = {
        "period": period,
        "sections": sections,
        "generated_at": timezone.localtime(),
        "generated_by": user.get_full_name() or user.get_username(),  # type: ignore[union-attr]
        "stylesheet": _stylesheet(),
        "printing": True,
    }
    return render_to_string("web/board_pack/pack.html", context, request=request)


def _unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    return render(request, "web/board_pack/unavailable.html", {"error": error}, status=503)


class BoardPackView(PermissionRequiredMixin, View):
    permission_required = PACK_PERMISSIONS

    def get(self, request: HttpRequest) -> HttpResponse:
        period = report_period(request)
        if not period.valid:
            return render(request, "web/board_pack/invalid.html", {"period": period}, status=400)
        try:
            # Imported here: WeasyPrint loads Pango through cffi when imported,
            # and a server without it still serves every other page.
            from weasyprint import HTML, URLFetcher
        except (ImportError, OSError) as error:
            return _unavailable(request, error)
        sections = [build(period=period, user=request.user) for build in SECTIONS]
        html = pack_html(request=request, period=period, sections=sections)
        # No protocol allowed: the stylesheet is inline, the charts inline SVG,
        # and a stray URL must not make the server fetch (or call itself).
        pdf = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
        response = HttpResponse(pdf, content_type="application/pdf")
        current = period.current
        name = f"board-pack-{current.start.isoformat()}-to-{current.end.isoformat()}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


urlpatterns = [
    path("reports/board-pack.pdf", BoardPackView.as_view(), name="board-pack"),
]
