"""The ranking and the board pack as an executive reads them, in Chromium on
the demo data: the latest run with the bottom 10% highlighted, read-only; a
table downloaded as CSV; the board pack downloaded as a PDF that opens with
its cover and sections."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pypdf
import pytest
from django.utils import timezone

from campaigns import ranking
from campaigns.models import RankingEntry, RankingRun
from campaigns.services import ranking_run
from tests.web.browser import SCREENSHOTS, check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_ranking(demo_data: None) -> RankingRun:
    """seed_demo makes no ranking run: rank the six months the schedule would."""
    start, end = ranking.previous_half_year(timezone.now().date())
    return ranking_run(start=start, end=end, trigger="schedule")


def test_an_executive_reads_the_ranking_and_downloads_its_csv_and_the_board_pack(
    demo_ranking: RankingRun, live_server: Any, page: Any, tmp_path: Path
) -> None:
    entries = RankingEntry.objects.select_related("program").filter(run=demo_ranking)
    judged = sorted((e for e in entries if e.rank is not None), key=lambda e: e.rank or 0)
    flagged = [e for e in judged if e.is_flagged]
    assert flagged, "the demo's run flags its bottom 10%"
    base = live_server.url
    log_in(page, base, "executive", "demo-executive")
    page.goto(f"{base}/ranking/")
    assert page.get_by_role("heading", name="Program ranking", level=1).is_visible()
    assert page.get_by_role("navigation", name="Reports").is_visible()
    # Read-only: no form to start a run.
    assert page.get_by_role("button", name="Rank programs").count() == 0
    check_page(page, "boardpack-ranking-list-executive")

    # The latest run, from its card.
    page.locator(".ranking-latest").get_by_role("link").click()
    page.wait_for_url(f"{base}/ranking/{demo_ranking.pk}/")
    rows = page.locator("table.ranking-table tbody tr")
    assert rows.count() == len(judged)
    marked = page.locator("table.ranking-table tbody tr.flagged")
    assert marked.count() == len(flagged)
    for row, entry in zip(marked.all(), flagged, strict=True):
        assert entry.program.name in row.inner_text() and "Bottom 10%" in row.inner_text()
    # The flagged rows are tinted: the highlight a person sees.
    tint = marked.first.locator("td").nth(1).evaluate("e => getComputedStyle(e).backgroundColor")
    assert tint == "rgb(253, 241, 239)"
    assert page.get_by_role("button", name="Cut this program").count() == 0
    saving = page.locator('[data-saving="flagged"]').inner_text()
    total = sum(e.spend for e in flagged)
    assert saving.startswith(f"{total:,.2f} in the period")
    check_page(page, "boardpack-ranking-run-executive")
    # Printed: no tabs, no CSV links, no board pack link; the highlight stays.
    page.emulate_media(media="print")
    assert not page.get_by_role("navigation", name="Reports").is_visible()
    assert not page.locator('a[href="?csv=ranked"]').is_visible()
    assert not page.get_by_role("link", name="Download the board pack (PDF)").is_visible()
    assert marked.first.is_visible()
    page.emulate_media(media="screen")

    # The judged programs as CSV: the rows in rank order, the flagged marked.
    with page.expect_download() as download_info:
        page.locator('a[href="?csv=ranked"]').click()
    download = download_info.value
    assert download.suggested_filename == f"ranking-{demo_ranking.pk}-ranked.csv"
    path = tmp_path / "ranked.csv"
    download.save_as(path)
    table = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [row["Program"] for row in table] == [e.program.name for e in judged]
    assert [row["spend"] for row in table] == [f"{e.spend:.2f}" for e in judged]
    assert [row["Program"] for row in table if row["flag"]] == [e.program.name for e in flagged]

    # The board pack: a PDF with its cover, then the ranking on its own pages.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the board pack (PDF)").click()
    download = download_info.value
    assert re.fullmatch(
        r"board-pack-\d{4}-\d\d-\d\d-to-\d{4}-\d\d-\d\d\.pdf", download.suggested_filename
    )
    path = tmp_path / "board-pack.pdf"
    download.save_as(path)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "boardpack-demo.pdf").write_bytes(path.read_bytes())
    reader = pypdf.PdfReader(path)
    pages = [re.sub(r"\s+", " ", p.extract_text() or "") for p in reader.pages]
    assert len(pages) >= 4
    assert "Board pack" in pages[0]
    assert all(title in pages[0] for title in ("Overview", "Campaign report", "Program ranking"))
    # The cover, then each section from a new page, in the pack's order.
    starts = [
        next(i for i, text in enumerate(pages) if title in text)
        for title in ("1. Overview", "2. Campaign report", "3. Program ranking")
    ]
    assert starts[0] == 1 and starts == sorted(set(starts))
    text = " ".join(pages[starts[2] :])
    for entry in judged:
        assert entry.program.name in text
    assert f"Page 2 of {len(pages)}" in pages[1]
