"""The board pack PDF (`/reports/board-pack.pdf`) as WeasyPrint renders it and
pypdf reads it back: the cover, one section per report on its own pages with
page numbers, the ranking's programs and figures as `/api/rankings/<id>/`
gives them, who may download it, a bad period, a server without Pango, and
its query count.

The sections here are the ranking's and a small test-only one (the overview's
and the campaign report's are added to `board_pack.SECTIONS` at merge)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import Any

import pypdf
import pytest
from django.test import Client

from campaigns.services import ranking_run
from tests.web.ranking_portfolio import END, START, plant, portfolio_of
from web import board_pack
from web.report_period import ReportPeriod
from web.report_tables import Column, ReportSection, Row, Table, money

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent / "templates"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "boardpack"
PERIOD = "start=2026-04-01&end=2026-06-30"


def sample_section(*, period: ReportPeriod, user: Any) -> ReportSection:
    """A second report: one table, and the period it was built for."""
    table = Table(
        id="test-table",
        caption="Test figures",
        columns=[Column("amount", "Amount")],
        rows=[Row("Alpha", {"amount": money(1234.5)})],
    )
    message = f"Test section for {period.current.start:%d %b %Y} to {period.current.end:%d %b %Y}"
    return ReportSection(
        "Test section", "tests/pack_section.html", {"message": message, "tables": [table]}, [table]
    )


@pytest.fixture
def two_sections(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [TEMPLATES]}]
    monkeypatch.setattr(board_pack, "SECTIONS", [board_pack.ranking_for_pack, sample_section])


def pdf_pages(response: Any) -> list[str]:
    """The PDF's pages as text, one string per page, spaces collapsed."""
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in reader.pages]


def save(response: Any, name: str) -> None:
    """Keep the PDF with the screenshots, to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(response.content)


def test_the_pack_has_a_cover_then_each_section_on_its_own_pages(
    client: Client, executive: Any, two_sections: None
) -> None:
    plant()
    client.force_login(executive)
    response = client.get(f"/reports/board-pack.pdf?{PERIOD}")
    save(response, "board-pack-planted.pdf")
    assert response["Content-Disposition"] == (
        'attachment; filename="board-pack-2026-04-01-to-2026-06-30.pdf"'
    )
    pages = pdf_pages(response)
    cover = pages[0]
    assert "Board pack" in cover
    assert "1 April 2026 to 30 June 2026 (91 days)" in cover
    assert "Compared with 1 January 2026 to 31 March 2026" in cover
    assert "By Eve Persona" in cover and "Generated" in cover
    # The contents: the sections' titles, in order.
    assert cover.index("Program ranking") < cover.index("Test section")
    # Each section starts a page; the ranking's pages come before the test's.
    starts = [
        n
        for n, page in enumerate(pages)
        if re.search(r"\b\d\. (Program ranking|Test section)", page)
    ]
    ranking_first = next(n for n, page in enumerate(pages) if "1. Program ranking" in page)
    test_first = next(n for n, page in enumerate(pages) if "2. Test section" in page)
    assert ranking_first == 1 and test_first > ranking_first
    assert starts[0] == 1
    assert "Test section for 01 Apr 2026 to 30 Jun 2026 (printing)" in pages[test_first]
    assert "Alpha 1,234.50" in pages[test_first]
    # Page numbers in the footer of every page but the cover.
    total = len(pages)
    for number, page in enumerate(pages[1:], start=2):
        assert f"Page {number} of {total}" in page
    assert "Page 1 of" not in cover
    # No form and no CSV link is printed.
    assert "Download CSV" not in " ".join(pages)


def test_the_ranking_in_the_pack_has_the_apis_programs_and_figures(
    client: Client, executive: Any, two_sections: None
) -> None:
    planted = plant()
    client.force_login(executive)
    api = client.get(f"/api/rankings/{planted.run.pk}/").json()
    pages = pdf_pages(client.get(f"/reports/board-pack.pdf?{PERIOD}"))
    text = " ".join(page for page in pages if "Test section for" not in page)
    assert "Pipeline per unit of spend" in text
    for entry in api["ranked"]:
        # The name, then its rank, channel and metric to the cent, as the API gives them.
        metric = f"{entry['metric_value']:,.2f}"
        row = rf"{re.escape(entry['program_name'])} {entry['rank']} Webinar {re.escape(metric)}"
        assert re.search(row, text), row
        for amount in (entry["spend"], entry["pipeline"]):
            assert f"{float(amount):,.2f}" in text
    flagged = [e["program_name"] for e in api["ranked"] if e["is_flagged"]]
    assert flagged == ["P07", "P11"]
    assert text.count("Bottom 10%") >= 2
    # The too-early program apart, and the saving of the cuts: 2,500.00 +
    # 3,000.00 in the period, 833.33 + 1,000.00 per 30 days (by hand).
    assert [e["program_name"] for e in api["too_early"]] == ["Late"]
    assert "Too early to judge" in text and "Late" in text
    assert "5,500.00 in the period, 1,833.33 per 30 days" in text


def test_the_pack_prints_the_charts_with_the_stylesheet(
    client: Client, executive: Any, two_sections: None
) -> None:
    planted = plant()
    client.force_login(executive)
    request = client.get("/ranking/").wsgi_request
    period = board_pack.report_period(request)
    sections = [build(period=period, user=executive) for build in board_pack.SECTIONS]
    html = board_pack.pack_html(request=request, period=period, sections=sections)
    # The ranking's chart inline, the flagged two bars in the second colour
    # (the chart's own fill: app.css styles no chart series), and app.css with
    # the pack's page rules inside the document, not linked.
    assert f'id="ranking-{planted.run.pk}"' in html
    assert html.count('class="chart-series chart-series-1"') == 2
    assert html.count('fill="#c2410c"') == 2
    assert "@page pack {" in html and ".grid { width: 100%;" in html
    assert "<link" not in html and "<form" not in html


@pytest.mark.parametrize(
    ("persona", "status"), [("executive", 200), ("marketer", 200), ("rep", 403), (None, 302)]
)
def test_executives_and_marketers_download_it_sales_may_not(
    client: Client, personas: dict[str, Any], persona: str | None, status: int
) -> None:
    plant()
    if persona is not None:
        client.force_login(personas[persona])
    response = client.get("/reports/board-pack.pdf")
    assert response.status_code == status
    if status == 403:
        assert b"You may not do this" in response.content
    if status == 302:
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    ("query", "field", "error"),
    [
        ("start=2026-13-01&end=2026-06-30", "start", "Enter a valid date."),
        ("start=2026-06-30&end=2026-01-01", "end", "The period must not end before it starts."),
        ("start=2020-01-01&end=2026-06-30", "end", "A report covers at most three years."),
    ],
)
def test_a_bad_period_answers_a_page_naming_the_field(
    client: Client, executive: Any, query: str, field: str, error: str
) -> None:
    client.force_login(executive)
    response = client.get(f"/reports/board-pack.pdf?{query}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f'<span class="error" id="id_{field}_error_1">{error}</span>' in html
    assert "The board pack was not made: the period's dates are not valid." in html


def test_without_weasyprints_libraries_the_answer_is_a_503_page_naming_pango(
    client: Client, executive: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes `import weasyprint` raise ImportError, as a
    # server without Pango does (there WeasyPrint raises OSError on import).
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    client.force_login(executive)
    response = client.get("/reports/board-pack.pdf")
    assert response.status_code == 503
    html = response.content.decode()
    assert "The board pack cannot be made on this server" in html
    assert "Pango" in html


def test_without_a_run_the_ranking_section_says_so(
    client: Client, executive: Any, two_sections: None
) -> None:
    client.force_login(executive)
    pages = pdf_pages(client.get("/reports/board-pack.pdf"))
    ranking = next(page for page in pages if "1. Program ranking" in page)
    assert "No ranking run yet" in ranking


# session, user and permissions 4, the overview 4, the campaign report 8 (its
# measurement_load with no snapshot to read), the ranking 2
PACK_QUERIES = 18


@pytest.mark.parametrize("size", [3, 30])
def test_the_pack_is_made_in_a_fixed_number_of_queries(
    client: Client, executive: Any, django_assert_num_queries: Any, size: int
) -> None:
    portfolio_of(size)
    for _ in range(size // 15):
        ranking_run(start=START, end=END)
    client.force_login(executive)
    with django_assert_num_queries(PACK_QUERIES):
        response = client.get(f"/reports/board-pack.pdf?start={START}&end={END}")
    assert response.status_code == 200
